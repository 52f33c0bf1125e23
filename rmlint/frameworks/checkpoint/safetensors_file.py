"""The safetensors header, read and validated the way the reference reader does (safetensors
src/tensor.rs read_metadata + Metadata::validate): 8-byte length, JSON header, contiguous offsets
that cover the byte buffer exactly. Only 8 + N bytes are read; no tensor data."""

import json

from .tensors import BITS, CheckpointError, Tensor

MAX_HEADER = 100_000_000   # safetensors' own MAX_HEADER_SIZE


def _pairs(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r} in the header")
        seen[key] = value
    return seen


def read_header(path: str, within: str | None = None, sidecar: str = "") -> tuple:
    """(metadata, [Tensor]) of one .safetensors file; CheckpointError on anything safetensors refuses.
    `sidecar`: the file was read from the Hub, and the sidecar holds its size (8 bytes), then its first bytes."""
    from ...sources.files import open_input, read_at
    def fail(message):
        raise CheckpointError(message, path)
    base = 8 if sidecar else 0
    try:
        with open_input(sidecar or path, within=within) as (handle, size):
            if sidecar:
                size = int.from_bytes(handle.read(8), "little")
            raw = handle.read(8)
            if len(raw) < 8:
                fail(f"{size} bytes: too small for a safetensors header (8-byte length first)")
            length = int.from_bytes(raw, "little")
            if length > MAX_HEADER:
                fail(f"header length {length:,} bytes (at byte 0) is over safetensors' 100 MB cap: "
                     "not a safetensors file, or a corrupt one")
            if 8 + length > size:
                fail(f"header length {length:,} bytes (at byte 0) runs past the end of the {size:,}-byte file: "
                     "truncated or not a safetensors file")
            text = read_at(handle, base + 8, length)
    except OSError as err:
        fail(f"cannot read: {err.strerror or err}")
    if len(text) != length:
        fail(f"the file ended inside its {length:,}-byte header")
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=_pairs)
    except UnicodeDecodeError as err:
        fail(f"header is not UTF-8 (byte {8 + err.start})")
    except json.JSONDecodeError as err:
        fail(f"header is not JSON: {err.msg} at byte {8 + err.pos}")
    except (ValueError, RecursionError) as err:
        fail(f"header refused: {err}")
    if not isinstance(header, dict):
        fail("header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        fail("__metadata__ must map strings to strings")
    tensors = [_tensor(name, entry, path, 8 + length) for name, entry in header.items()]
    _check_layout(tensors, path, 8 + length, size - 8 - length)
    return metadata or {}, tensors


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 48


def _tensor(name: str, entry, path: str, data_start: int) -> Tensor:
    if not isinstance(entry, dict):
        raise CheckpointError(f"tensor `{name}`: entry is not an object", path)
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in BITS:
        raise CheckpointError(f"tensor `{name}`: unknown dtype {dtype!r}", path)
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise CheckpointError(f"tensor `{name}`: shape {shape!r} is not a list of sizes", path)
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise CheckpointError(f"tensor `{name}`: data_offsets {offsets!r} are not [begin, end]", path)
    begin, end = offsets
    tensor = Tensor(name, dtype, tuple(shape), path, data_start + begin, end - begin)
    bits = tensor.numel * BITS[dtype]
    if end < begin or bits % 8 or bits // 8 != end - begin:
        raise CheckpointError(f"tensor `{name}`: shape {shape} of {dtype} does not fit data_offsets "
                              f"[{begin}, {end}] (safetensors: invalid shape, data type, or offset)", path)
    return tensor


def _check_layout(tensors: list, path: str, data_start: int, buffer: int):
    """Offsets in order, without overlap or hole, ending exactly at the end of the file."""
    position = 0
    for tensor in sorted(tensors, key=lambda t: (t.offset, t.nbytes)):
        begin = tensor.offset - data_start
        if begin != position:
            what = "inside the tensor before it" if begin < position else f"leaving a hole from {position}"
            raise CheckpointError(f"tensor `{tensor.name}`: data begins at {begin}, {what} "
                                  "(safetensors: invalid offset)", path)
        position += tensor.nbytes
    if position != buffer:
        raise CheckpointError(f"tensors cover {position:,} bytes but the file holds {buffer:,} after the header: "
                              + ("truncated" if position > buffer else "trailing data")
                              + " (safetensors: incomplete metadata, file not fully covered)", path)

"""The safetensors header, read and validated the way the reference reader does (safetensors
src/tensor.rs read_metadata + Metadata::validate): 8-byte length, JSON header, contiguous offsets
that cover the byte buffer exactly. Only 8 + N bytes are read; no tensor data."""

import json

from .tensors import BITS, CheckpointError, Tensor, unreadable

MAX_HEADER = 100_000_000   # safetensors' own MAX_HEADER_SIZE


class _Duplicate(ValueError):
    """A key the header gives twice (safetensors' serde refuses it)."""


def _pairs(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(repr(key))
        seen[key] = value
    return seen


def read_header(path: str, within: str | None = None, sidecar: str = "") -> tuple:
    """(metadata, [Tensor]) of one .safetensors file; CheckpointError on anything safetensors refuses.
    `sidecar`: the file was read from the Hub, and the sidecar holds its size (8 bytes), then its first bytes."""
    from ...sources.files import open_input, read_at
    base = 8 if sidecar else 0
    try:
        with open_input(sidecar or path, within=within) as (handle, size):
            if sidecar:
                size = int.from_bytes(handle.read(8), "little")
            raw = handle.read(8)
            if len(raw) < 8:
                raise CheckpointError("safetensors-too-small", path, size=size)
            length = int.from_bytes(raw, "little")
            if length > MAX_HEADER:
                raise CheckpointError("safetensors-header-too-big", path, length=length)
            if 8 + length > size:
                raise CheckpointError("safetensors-header-past-end", path, length=length, size=size)
            text = read_at(handle, base + 8, length)
    except OSError as err:
        raise unreadable(err, path) from None
    if len(text) != length:
        raise CheckpointError("safetensors-header-cut", path, length=length)
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=_pairs)
    except UnicodeDecodeError as err:
        raise CheckpointError("safetensors-header-not-utf8", path, at=8 + err.start) from None
    except json.JSONDecodeError as err:   # json's own words
        raise CheckpointError("safetensors-header-not-json", path, detail=err.msg, at=8 + err.pos) from None
    except _Duplicate as err:
        raise CheckpointError("safetensors-duplicate-key", path, key=str(err)) from None
    except (ValueError, RecursionError) as err:   # Python's own words
        raise CheckpointError("safetensors-header-refused", path, detail=str(err)) from None
    if not isinstance(header, dict):
        raise CheckpointError("safetensors-header-not-object", path)
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        raise CheckpointError("safetensors-metadata-not-strings", path)
    tensors = [_tensor(name, entry, path, 8 + length) for name, entry in header.items()]
    _check_layout(tensors, path, 8 + length, size - 8 - length)
    return metadata or {}, tensors


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 48


def _tensor(name: str, entry, path: str, data_start: int) -> Tensor:
    if not isinstance(entry, dict):
        raise CheckpointError("safetensors-entry-not-object", path, tensor=name)
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in BITS:
        raise CheckpointError("safetensors-unknown-dtype", path, tensor=name, dtype=repr(dtype))
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise CheckpointError("safetensors-shape-not-sizes", path, tensor=name, shape=repr(shape))
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise CheckpointError("safetensors-offsets-not-pair", path, tensor=name, offsets=repr(offsets))
    begin, end = offsets
    tensor = Tensor(name, dtype, tuple(shape), path, data_start + begin, end - begin)
    bits = tensor.numel * BITS[dtype]
    if end < begin or bits % 8 or bits // 8 != end - begin:
        raise CheckpointError("safetensors-shape-offsets", path, tensor=name, shape=shape, dtype=dtype, begin=begin,
                              end=end)
    return tensor


def _check_layout(tensors: list, path: str, data_start: int, buffer: int):
    """Offsets in order, without overlap or hole, ending exactly at the end of the file."""
    position = 0
    for tensor in sorted(tensors, key=lambda t: (t.offset, t.nbytes)):
        begin = tensor.offset - data_start
        if begin != position:
            raise CheckpointError("safetensors-offset", path, tensor=tensor.name, begin=begin,
                                  overlaps=begin < position, position=position)
        position += tensor.nbytes
    if position != buffer:
        raise CheckpointError("safetensors-coverage", path, covered=position, held=buffer, truncated=position > buffer)

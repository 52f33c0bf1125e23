"""`pytorch_model.bin` (torch >= 1.6 zip format; the legacy format in torch_legacy.py) listed without torch and without running pickle.

The state dict's pickle is read by an Unpickler whose find_class returns local stand-ins for the
handful of globals a plain state dict uses (OrderedDict, torch._utils._rebuild_tensor_v2,
_rebuild_parameter, torch.*Storage) and refuses every other global, so nothing outside that list
can be called: the "Restricting Globals" pattern of the pickle docs, as torch.load(weights_only=True)
does with its own VM. Layout: torch/serialization.py _save (`<stem>/data.pkl`, `<stem>/data/<key>`).
"""

import pickle
import zipfile

from .tensors import BITS, CheckpointError, Tensor

MAX_PICKLE = 64 * 1024 * 1024
MAX_MEMBERS = 1_000_000
STORAGE_DTYPES = {"FloatStorage": "F32", "DoubleStorage": "F64", "HalfStorage": "F16", "BFloat16Storage": "BF16",
                  "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
                  "ByteStorage": "U8", "BoolStorage": "BOOL", "ComplexFloatStorage": "C64",
                  "Float8_e4m3fnStorage": "F8_E4M3", "Float8_e5m2Storage": "F8_E5M2"}
LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


class _StateDict(dict):
    """collections.OrderedDict stand-in; BUILD may set `_metadata` on it."""


class _TensorRef:
    """_rebuild_tensor_v2's arguments as the pickle gave them; checked before use (_checked)."""

    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset = storage, offset
        self.shape = tuple(shape) if isinstance(shape, (tuple, list)) else shape
        self.stride = tuple(stride) if isinstance(stride, (tuple, list)) else stride


def _rebuild_tensor(storage, storage_offset, size, stride, *_):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_):
    return data


class _Storage(str):
    """torch.<X>Storage marker; the dtype is in its name."""


_ALLOWED = {
    ("collections", "OrderedDict"): _StateDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
}


class _Refusing(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _Storage(name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)
                and isinstance(pid[2], str)):
            raise pickle.UnpicklingError(f"unexpected persistent id {str(pid)[:80]}")
        return {"dtype": STORAGE_DTYPES[pid[1]], "key": pid[2], "numel": pid[4]}


ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored"}   # torch.save writes every member uncompressed
METHOD_NAMES = {zipfile.ZIP_DEFLATED: "deflated", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


def _member_check(info: zipfile.ZipInfo, size: int, path: str):
    """A member rmlint reads: stored, not encrypted, its declared sizes inside the file."""
    where = f"zip member {info.filename} (local header at byte {info.header_offset})"
    if info.flag_bits & 0x1:
        raise CheckpointError(f"{where} is encrypted; refused", path)
    if info.compress_type not in ALLOWED_METHODS:
        name = METHOD_NAMES.get(info.compress_type, "unknown")
        raise CheckpointError(f"{where} uses compression method {info.compress_type} ({name}); torch.save stores "
                              "members uncompressed; refused", path)
    if info.compress_size != info.file_size or info.header_offset + 30 + info.file_size > size:
        raise CheckpointError(f"{where} declares {info.file_size:,} bytes, more than the {size:,}-byte file "
                              "holds there (or than it stores); refused", path)


def _data_start(handle, info: zipfile.ZipInfo, size: int, path: str) -> int:
    """Absolute offset of a stored member's bytes: after its local header (read, not trusted)."""
    from ..sources.files import read_at
    header = read_at(handle, info.header_offset, 30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise CheckpointError(f"zip member {info.filename}: no local header at byte {info.header_offset}; refused", path)
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    if start + info.file_size > size:
        raise CheckpointError(f"zip member {info.filename}: its {info.file_size:,} bytes from byte {start} run past "
                              f"the end of the {size:,}-byte file; refused", path)
    return start


def read_index(path: str, within: str | None = None) -> list:
    """[Tensor] of one torch zip checkpoint; CheckpointError for anything else."""
    from ..sources.files import open_input, read_at
    try:
        with open_input(path, within=within) as (handle, size):
            if handle.read(len(LEGACY_MAGIC)) == LEGACY_MAGIC:   # torch.save before 1.6, or zipfile off
                from .torch_legacy import read_legacy
                return read_legacy(handle, size, path)
            archive = zipfile.ZipFile(handle)
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise CheckpointError(f"{len(infos)} zip members; refused", path)
            pickles = [i for i in infos if i.filename.endswith("data.pkl") and i.filename.count("/") <= 1]
            if len(pickles) != 1:
                raise CheckpointError("not a torch checkpoint: expected one <name>/data.pkl in the zip", path)
            info = pickles[0]
            if info.file_size > MAX_PICKLE:
                raise CheckpointError(f"data.pkl is {info.file_size:,} bytes; refused (cap {MAX_PICKLE:,})", path)
            _member_check(info, size, path)
            data = read_at(handle, _data_start(handle, info, size, path), info.file_size)
            if zipfile.crc32(data) != info.CRC:
                raise CheckpointError(f"data.pkl (byte {info.header_offset}): its bytes do not match the zip's "
                                      "checksum; refused", path)
            prefix = info.filename[: -len("data.pkl")]
            members = {i.filename: i for i in infos}
            state = _unpickle(data, path)
            return _tensors(state, prefix, members, path, lambda i: (_member_check(i, size, path),
                                                                      _data_start(handle, i, size, path))[1])
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OverflowError) as err:
        message = str(err) if isinstance(err, OSError) and not err.errno else f"cannot read the zip: {err}"
        raise CheckpointError(message, path) from None


def _unpickle(data: bytes, path: str):
    try:
        import io
        state = _Refusing(io.BytesIO(data)).load()
    except RecursionError:
        raise CheckpointError("pickle nests too deeply; refused", path) from None
    except Exception as err:   # any pickle failure is a refusal, never a traceback
        raise CheckpointError(f"pickle refused, nothing was run: {err}", path) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"pickle holds a {type(state).__name__}, not a state dict", path)
    return state


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 48


def _checked(name: str, value: _TensorRef, path: str) -> tuple:
    """(dtype, key, storage numel, offset, shape, stride) after checking every field torch would use."""
    storage = value.storage
    def fail(what):
        raise CheckpointError(f"tensor `{name}` in data.pkl: {what}; refused", path)
    if not (isinstance(storage, dict) and set(storage) == {"dtype", "key", "numel"}):
        fail(f"its storage is a {type(storage).__name__}, not a torch storage")
    if not _count(storage["numel"]):
        fail(f"storage size {storage['numel']!r} is not a count")
    if not _count(value.offset):
        fail(f"storage offset {value.offset!r} is not a count")
    shape, stride = value.shape, value.stride
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)):
        fail(f"shape {shape!r} is not a list of sizes")
    if any(d < 0 for d in shape):
        fail(f"negative shape {list(shape)}")
    if not (isinstance(stride, tuple) and len(stride) == len(shape) and all(_count(s) for s in stride)):
        fail(f"stride {stride!r} does not match shape {list(shape)}")
    if not all(d < 2 ** 48 for d in shape):
        fail(f"shape {list(shape)} is too large")
    numel = 1
    for dim in shape:
        numel *= dim
    extent = 0 if numel == 0 else value.offset + 1 + sum((d - 1) * s for d, s in zip(shape, stride))
    if extent > storage["numel"]:
        fail(f"offset {value.offset} and shape {list(shape)} reach element {extent:,} of a storage of "
             f"{storage['numel']:,}")
    return storage["dtype"], storage["key"], storage["numel"], value.offset, shape, numel


def _tensors(state: dict, prefix: str, members: dict, path: str, data_start) -> list:
    found, starts = [], {}
    for name, value in state.items():
        if not isinstance(value, _TensorRef) or not isinstance(name, str):
            continue   # non-tensor entries (a DeepSpeed states file's counters, nested dicts)
        dtype, key, storage_numel, offset, shape, numel = _checked(name, value, path)
        size = BITS[dtype] // 8
        member = f"{prefix}data/{key}"
        if member not in members:
            raise CheckpointError(f"tensor `{name}`: its storage record {member} is missing", path)
        info = members[member]
        if member not in starts:
            starts[member] = data_start(info)
            if info.file_size != storage_numel * size:
                raise CheckpointError(f"tensor `{name}`: storage {member} (byte {info.header_offset}) holds "
                                      f"{info.file_size:,} bytes, but data.pkl says {storage_numel * size:,}; refused",
                                      path)
        found.append(Tensor(name, dtype, shape, path, starts[member] + offset * size, numel * size))
    return found

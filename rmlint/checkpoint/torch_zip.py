"""`pytorch_model.bin` (torch >= 1.6 zip format) listed without torch and without running pickle.

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
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


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
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)):
            raise pickle.UnpicklingError(f"unexpected persistent id {str(pid)[:80]}")
        return {"dtype": STORAGE_DTYPES[pid[1]], "key": str(pid[2]), "numel": pid[4]}


def read_index(path: str) -> list:
    """[Tensor] of one torch zip checkpoint; CheckpointError for anything else."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(LEGACY_MAGIC))
        if start == LEGACY_MAGIC:
            raise CheckpointError("legacy torch.save format (before torch 1.6): it cannot be listed without "
                                  "running its pickle; refused", path)
        if not zipfile.is_zipfile(path):
            raise CheckpointError("not a torch zip checkpoint (no zip directory); refused", path)
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise CheckpointError(f"{len(infos)} zip members; refused", path)
            pickles = [i for i in infos if i.filename.endswith("data.pkl") and i.filename.count("/") <= 1]
            if len(pickles) != 1:
                raise CheckpointError("not a torch checkpoint: expected one <name>/data.pkl in the zip", path)
            info = pickles[0]
            if info.file_size > MAX_PICKLE:
                raise CheckpointError(f"data.pkl is {info.file_size:,} bytes; refused (cap {MAX_PICKLE:,})", path)
            data = archive.read(info)
            prefix = info.filename[: -len("data.pkl")]
            members = {i.filename: i for i in infos}
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as err:
        raise CheckpointError(f"cannot read the zip: {err}", path) from None
    try:
        import io
        state = _Refusing(io.BytesIO(data)).load()
    except RecursionError:
        raise CheckpointError("pickle nests too deeply; refused", path) from None
    except Exception as err:   # any pickle failure is a refusal, never a traceback
        raise CheckpointError(f"pickle refused, nothing was run: {err}", path) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"pickle holds a {type(state).__name__}, not a state dict", path)
    return _tensors(state, prefix, members, path)


def _tensors(state: dict, prefix: str, members: dict, path: str) -> list:
    found = []
    for name, value in state.items():
        if not isinstance(value, _TensorRef) or not isinstance(name, str):
            continue   # non-tensor entries (a DeepSpeed states file's counters, nested dicts)
        storage = value.storage
        size = BITS[storage["dtype"]] // 8
        numel = 1
        for dim in value.shape:
            numel *= dim
        member = f"{prefix}data/{storage['key']}"
        if member not in members:
            raise CheckpointError(f"tensor `{name}`: its storage record {member} is missing", path)
        found.append(Tensor(name, storage["dtype"], value.shape, path, -1, numel * size, member,
                            value.offset * size))
    return found

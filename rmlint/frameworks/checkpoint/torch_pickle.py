"""The refusing Unpickler both torch formats go through (torch_zip.py, torch_legacy.py): its find_class
returns local stand-ins for the handful of globals a plain state dict uses (OrderedDict,
torch._utils._rebuild_tensor_v2, _rebuild_parameter, torch.*Storage; for float8 and float4 tensors
_rebuild_tensor_v3, torch.storage.UntypedStorage and the dtype) and refuses every other global,
so nothing outside that list can be called: the "Restricting Globals" pattern of the pickle docs, as
torch.load(weights_only=True) does with its own VM. Every field a tensor record gives is checked
before use (_checked)."""

import pickle

from ...problems import reason
from .tensors import CheckpointError

MAX_PICKLE = 64 * 1024 * 1024
STORAGE_DTYPES = {"FloatStorage": "F32", "DoubleStorage": "F64", "HalfStorage": "F16", "BFloat16Storage": "BF16",
                  "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
                  "ByteStorage": "U8", "BoolStorage": "BOOL", "ComplexFloatStorage": "C64"}
# dtypes torch.save writes as an UntypedStorage (bytes) and torch._utils._rebuild_tensor_v3 with the dtype as a
# global (torch/storage.py _new_dtypes): the one-byte float8 formats and float4_e2m1fn_x2 (two 4-bit values a
# byte), named as safetensors names them; a float4 pair is two F4 elements, so its last dimension doubles
UNTYPED_DTYPES = {"float8_e4m3fn": "F8_E4M3", "float8_e4m3fnuz": "F8_E4M3FNUZ", "float8_e5m2": "F8_E5M2",
                  "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0", "float4_e2m1fn_x2": "F4"}
UNTYPED = "UntypedStorage"


class Refusal(pickle.UnpicklingError):
    """A global, BUILD or persistent id the refusing Unpicklers will not take, as a reason (problems.reason)
    the checkpoint's refusal words inside its own."""

    def __init__(self, kind: str, **facts):
        super().__init__(kind)
        self.why = reason(kind, **facts)


class _Sealed(type):
    """BUILD with a slot state sets attributes on whatever is on the stack, a class too: the classes
    find_class hands out refuse it, so no file changes how later files are read."""

    def __setattr__(cls, name, value):
        raise Refusal("pickle-build-refused", name=cls.pickled_as)

    def __delattr__(cls, name):
        raise Refusal("pickle-build-refused", name=cls.pickled_as)


class _StateDict(dict, metaclass=_Sealed):
    """collections.OrderedDict stand-in; BUILD may set `_metadata` on an instance, not on the class."""
    pickled_as = "collections.OrderedDict"


class _Allowed:
    """An allowed function as find_class hands it out: callable, and BUILD cannot set its attributes
    (a plain function's __defaults__ could be changed for every later file)."""
    __slots__ = ("function", "pickled_as")

    def __init__(self, function, pickled_as: str):
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "pickled_as", pickled_as)

    def __setattr__(self, name, value):
        raise Refusal("pickle-build-refused", name=self.pickled_as)

    def __call__(self, *args):
        return self.function(*args)


class _TensorRef:
    """_rebuild_tensor_v2's (or v3's) arguments as the pickle gave them; checked before use (_checked)."""

    def __init__(self, storage, offset, shape, stride, dtype=None):
        self.storage, self.offset, self.dtype = storage, offset, dtype
        self.shape = tuple(shape) if isinstance(shape, (tuple, list)) else shape
        self.stride = tuple(stride) if isinstance(stride, (tuple, list)) else stride


def _rebuild_tensor(storage, storage_offset, size, stride, *_):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, *_):
    return _TensorRef(storage, storage_offset, size, stride, dtype if isinstance(dtype, _Dtype) else "not-a-dtype")


def _rebuild_parameter(data, *_):
    return data


class _Storage(str):
    """torch.<X>Storage (or torch.storage.UntypedStorage) marker; the dtype is in its name."""


class _Dtype(str):
    """torch.<dtype> marker (a float8 or float4 dtype, which _rebuild_tensor_v3 is given)."""


_ALLOWED = {
    ("collections", "OrderedDict"): _StateDict,
    **{("torch._utils", name): _Allowed(function, f"torch._utils.{name}") for name, function in (
        ("_rebuild_tensor_v2", _rebuild_tensor), ("_rebuild_tensor_v3", _rebuild_tensor_v3),
        ("_rebuild_parameter", _rebuild_parameter), ("_rebuild_parameter_with_state", _rebuild_parameter))},
    ("torch.storage", UNTYPED): _Storage(UNTYPED),
    **{("torch", name): _Dtype(name) for name in UNTYPED_DTYPES},
}


class _Refusing(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _Storage(name)
        raise Refusal("pickle-global-refused", module=module, name=name)

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _Storage)
                and isinstance(pid[2], str)):
            raise Refusal("pickle-persistent-id-refused", pid=str(pid)[:80])
        return {"dtype": STORAGE_DTYPES.get(pid[1], pid[1]), "key": pid[2], "numel": pid[4]}


def load(unpickler, path: str, part: str = ""):
    """What `unpickler` loads; a refusal (CheckpointError) for anything the pickle does not get to give. `part`
    names which pickle of the legacy format it is (magic-number, protocol, sys-info, state-dict, storage-keys)."""
    try:
        return unpickler.load()
    except RecursionError:
        raise CheckpointError("pickle-too-deep", path, part=part) from None
    except Refusal as err:
        raise CheckpointError("pickle-refused", path, part=part, why=[err.why]) from None
    except Exception as err:   # any pickle failure is a refusal, never a traceback; pickle's own words say which
        raise CheckpointError("pickle-refused", path, part=part, why=str(err)) from None


def a_state_dict(state, path: str) -> dict:
    if not isinstance(state, dict):
        raise CheckpointError("pickle-not-a-state-dict", path, found=type(state).__name__)
    return state


def _unpickle(data: bytes, path: str):
    import io
    return a_state_dict(load(_Refusing(io.BytesIO(data)), path), path)


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2 ** 48


def _checked(name: str, value: _TensorRef, path: str) -> tuple:
    """(dtype, key, storage numel, offset, shape, numel) after checking every field torch would use; counts
    are in the storage's elements (one byte each for an UntypedStorage), the dtype and shape as stored()
    names them."""
    storage = value.storage
    def fail(why):   # the values the file holds are given as Python writes them (repr)
        raise CheckpointError("tensor-record-refused", path, tensor=name, why=[why])
    if not (isinstance(storage, dict) and set(storage) == {"dtype", "key", "numel"}):
        fail(reason("tensor-storage-not-storage", found=type(storage).__name__))
    if value.dtype is not None and not isinstance(value.dtype, _Dtype):
        fail(reason("tensor-v3-without-dtype"))
    if (value.dtype is None) != (storage["dtype"] != UNTYPED):   # what torch.save writes: v2 typed, v3 untyped
        fail(reason("tensor-storage-untyped-mismatch"))
    if not _count(storage["numel"]):
        fail(reason("tensor-storage-size-not-count", value=repr(storage["numel"])))
    if not _count(value.offset):
        fail(reason("tensor-offset-not-count", value=repr(value.offset)))
    shape, stride = value.shape, value.stride
    if not (isinstance(shape, tuple) and all(isinstance(d, int) and not isinstance(d, bool) for d in shape)):
        fail(reason("tensor-shape-not-sizes", value=repr(shape)))
    if any(d < 0 for d in shape):
        fail(reason("tensor-shape-negative", shape=list(shape)))
    if not (isinstance(stride, tuple) and len(stride) == len(shape) and all(_count(s) for s in stride)):
        fail(reason("tensor-stride-not-shape", stride=repr(stride), shape=list(shape)))
    if not all(d < 2 ** 48 for d in shape):
        fail(reason("tensor-shape-too-large", shape=list(shape)))
    numel = 1
    for dim in shape:
        numel *= dim
    extent = 0 if numel == 0 else value.offset + 1 + sum((d - 1) * s for d, s in zip(shape, stride))
    if extent > storage["numel"]:
        fail(reason("tensor-beyond-storage", offset=value.offset, shape=list(shape), extent=extent,
                    storage=storage["numel"]))
    if value.dtype is None:
        return storage["dtype"], storage["key"], storage["numel"], value.offset, shape, numel
    dtype = UNTYPED_DTYPES[value.dtype]
    if dtype == "F4":
        if not shape:
            fail(reason("tensor-float4-scalar"))
        shape = shape[:-1] + (shape[-1] * 2,)
    return dtype, storage["key"], storage["numel"], value.offset, shape, numel


def element_bytes(dtype: str) -> int:
    """Bytes of one storage element of a tensor of `dtype` (a float4 pair is one byte)."""
    from .tensors import BITS
    return max(1, BITS[dtype] // 8)

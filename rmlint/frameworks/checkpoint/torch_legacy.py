"""`pytorch_model.bin` in torch's legacy format (torch.save(..., _use_new_zipfile_serialization=False),
every torch.save before 1.6), listed without torch and without running pickle.

Layout (torch/serialization.py _legacy_save / _legacy_load): four pickles one after the other (the
magic number, the protocol version 1001, a sys_info dict, the object itself, whose storages are
persistent ids ('storage', torch.<X>Storage, key, location, numel, view)), then the sorted storage
keys as a fifth pickle, then each storage in that order: its element count as a little-endian int64
and its raw bytes. The object's pickle goes through the same refusing Unpickler as the zip format.
"""

import io
import pickle

from .tensors import BITS, CheckpointError
from .torch_pickle import MAX_PICKLE, STORAGE_DTYPES, Refusal, _checked, _Refusing, _Storage, _TensorRef, a_state_dict, load

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


class _NoGlobals(pickle.Unpickler):
    """The header pickles hold ints, strings, lists and dicts only."""

    def find_class(self, module, name):
        raise Refusal("pickle-global-refused", module=module, name=name)


class _LegacyRefusing(_Refusing):
    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and isinstance(pid[1], _Storage)
                and isinstance(pid[2], str) and isinstance(pid[4], int) and pid[5] is None):
            raise Refusal("pickle-persistent-id-refused", pid=str(pid)[:80])
        if pid[1] not in STORAGE_DTYPES:   # torch.load fails on it too: its legacy reader wants a typed storage
            raise Refusal("legacy-untyped-storage")
        return {"dtype": STORAGE_DTYPES[pid[1]], "key": pid[2], "numel": pid[4]}


def read_legacy(handle, size: int, path: str) -> list:
    """[Tensor] of a legacy-format file (the handle at byte 0); CheckpointError for anything else."""
    from ...sources.files import read_at
    from .tensors import Tensor
    stream = io.BytesIO(read_at(handle, 0, min(size, MAX_PICKLE)))
    if load(_NoGlobals(stream), path, "magic-number") != MAGIC_NUMBER \
            or load(_NoGlobals(stream), path, "protocol") != PROTOCOL_VERSION:
        raise CheckpointError("legacy-unknown-magic", path)
    info = load(_NoGlobals(stream), path, "sys-info")
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise CheckpointError("legacy-big-endian", path)
    state = a_state_dict(load(_LegacyRefusing(stream), path, "state-dict"), path)
    keys = load(_NoGlobals(stream), path, "storage-keys")
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise CheckpointError("legacy-keys-not-names", path)
    refs = {name: _checked(name, value, path) for name, value in state.items()
            if isinstance(name, str) and isinstance(value, _TensorRef)}
    dtypes = {key: dtype for dtype, key, *_ in refs.values()}
    starts, offset = {}, stream.tell()
    for key in keys:   # each storage: int64 element count, then its bytes
        header = read_at(handle, offset, 8)
        if key not in dtypes or len(header) != 8:
            raise CheckpointError("legacy-storage-misplaced", path, key=key, at=offset)
        numel = int.from_bytes(header, "little", signed=True)
        nbytes = numel * BITS[dtypes[key]] // 8
        if numel < 0 or offset + 8 + nbytes > size:
            raise CheckpointError("legacy-storage-too-long", path, key=key, at=offset, count=numel, file_size=size)
        starts[key], offset = (offset + 8, numel), offset + 8 + nbytes
    found = []
    for name, (dtype, key, storage_numel, start, shape, numel) in refs.items():
        if key not in starts or starts[key][1] != storage_numel:
            raise CheckpointError("legacy-storage-size", path, tensor=name, key=key)
        element = BITS[dtype] // 8
        found.append(Tensor(name, dtype, shape, path, starts[key][0] + start * element, numel * element))
    return found

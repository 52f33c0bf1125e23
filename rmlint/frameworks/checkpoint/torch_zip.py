"""`pytorch_model.bin` (torch >= 1.6 zip format; the legacy format in torch_legacy.py) listed without torch and without running pickle.

The state dict's pickle is read by the refusing Unpickler of torch_pickle.py, which calls nothing outside
a plain state dict's few globals. Layout: torch/serialization.py _save (`<stem>/data.pkl`, `<stem>/data/<key>`).
"""

import zipfile

from .tensors import CheckpointError, Tensor
from .torch_pickle import MAX_PICKLE, _checked, _TensorRef, _unpickle, element_bytes

MAX_MEMBERS = 1_000_000
LEGACY_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
ALLOWED_METHODS = {zipfile.ZIP_STORED: "stored"}   # torch.save writes every member uncompressed
METHOD_NAMES = {zipfile.ZIP_DEFLATED: "deflated", zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}


def _member_check(info: zipfile.ZipInfo, size: int, path: str):
    """A member rmlint reads: stored, not encrypted, its declared sizes inside the file."""
    member = {"member": info.filename, "at": info.header_offset}
    if info.flag_bits & 0x1:
        raise CheckpointError("zip-member-encrypted", path, **member)
    if info.compress_type not in ALLOWED_METHODS:
        raise CheckpointError("zip-member-compressed", path, **member, method=info.compress_type,
                              method_name=METHOD_NAMES.get(info.compress_type, "unknown"))
    if info.compress_size != info.file_size or info.header_offset + 30 + info.file_size > size:
        raise CheckpointError("zip-member-too-long", path, **member, size=info.file_size, file_size=size)


def _data_start(handle, info: zipfile.ZipInfo, size: int, path: str) -> int:
    """Absolute offset of a stored member's bytes: after its local header (read, not trusted)."""
    from ...sources.files import read_at
    header = read_at(handle, info.header_offset, 30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise CheckpointError("zip-no-local-header", path, member=info.filename, at=info.header_offset)
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    if start + info.file_size > size:
        raise CheckpointError("zip-member-runs-past", path, member=info.filename, size=info.file_size, start=start,
                              file_size=size)
    return start


def read_index(path: str, within: str | None = None) -> list:
    """[Tensor] of one torch zip checkpoint; CheckpointError for anything else."""
    from ...sources.files import Refused, open_input, read_at
    try:
        with open_input(path, within=within) as (handle, size):
            if handle.read(len(LEGACY_MAGIC)) == LEGACY_MAGIC:   # torch.save before 1.6, or zipfile off
                from .torch_legacy import read_legacy
                return read_legacy(handle, size, path)
            archive = zipfile.ZipFile(handle)
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise CheckpointError("zip-too-many-members", path, count=len(infos))
            pickles = [i for i in infos if i.filename.endswith("data.pkl") and i.filename.count("/") <= 1]
            if len(pickles) != 1:
                raise CheckpointError("zip-not-torch", path)
            info = pickles[0]
            if info.file_size > MAX_PICKLE:
                raise CheckpointError("zip-pickle-too-big", path, size=info.file_size, limit=MAX_PICKLE)
            _member_check(info, size, path)
            data = read_at(handle, _data_start(handle, info, size, path), info.file_size)
            if zipfile.crc32(data) != info.CRC:
                raise CheckpointError("zip-checksum", path, at=info.header_offset)
            prefix = info.filename[: -len("data.pkl")]
            members = {i.filename: i for i in infos}
            state = _unpickle(data, path)
            return _tensors(state, prefix, members, path, lambda i: (_member_check(i, size, path),
                                                                      _data_start(handle, i, size, path))[1])
    except Refused as err:   # not a regular file, or a symlink out of the model's folder
        raise CheckpointError(err.kind, path, **err.facts) from None
    except OSError as err:   # the system's words; zipfile's alone when it has no errno
        raise (CheckpointError("zip-unreadable", path, detail=str(err)) if err.errno
               else CheckpointError("unreadable", path, error=str(err))) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OverflowError) as err:
        raise CheckpointError("zip-unreadable", path, detail=str(err)) from None


def _tensors(state: dict, prefix: str, members: dict, path: str, data_start) -> list:
    found, starts = [], {}
    for name, value in state.items():
        if not isinstance(value, _TensorRef) or not isinstance(name, str):
            continue   # non-tensor entries (a DeepSpeed states file's counters, nested dicts)
        dtype, key, storage_numel, offset, shape, numel = _checked(name, value, path)
        size = element_bytes(dtype)
        member = f"{prefix}data/{key}"
        if member not in members:
            raise CheckpointError("zip-storage-missing", path, tensor=name, member=member)
        info = members[member]
        if member not in starts:
            starts[member] = data_start(info)
            if info.file_size != storage_numel * size:
                raise CheckpointError("zip-storage-size", path, tensor=name, member=member, at=info.header_offset,
                                      size=info.file_size, expected=storage_numel * size)
        found.append(Tensor(name, dtype, shape, path, starts[member] + offset * size, numel * size))
    return found

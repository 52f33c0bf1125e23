"""What every weight reader returns: tensors by name, where their bytes are, and read errors."""

from dataclasses import dataclass

# bits per element (safetensors' Dtype::bitsize); .bin storages are mapped onto these names
BITS = {"BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8,
        "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32,
        "C64": 64, "F64": 64, "I64": 64, "U64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6}
# a weight file read from the Hub (hub_remote.py, --hub) is kept as `<name>` + this: its size and safetensors header only
HEADER_SUFFIX = ".rmlint-header"


class CheckpointError(Exception):
    """A weight file rmlint refuses to read: a problem `kind` with its facts, worded by the unreadable-input
    rule's YAML, at the file (and line and column, for a config.json that does not parse)."""

    def __init__(self, kind: str, path: str, line: int = 0, column: int = 0, **facts):
        super().__init__(kind)
        self.kind, self.facts, self.path, self.line, self.column = kind, facts, path, line, column

    @property
    def reason(self):
        """The refusal as a reason (problems.reason): a fact another problem words inside its own."""
        from ...problems import reason
        return reason(self.kind, **self.facts)


def unreadable(err: OSError, path: str) -> CheckpointError:
    """A file the system will not give (its own words), or one rmlint will not open (sources/files.Refused,
    worded by the rule that lists its kind)."""
    from ...problems import reason
    from ...sources.files import Refused
    detail = [reason(err.kind, **err.facts)] if isinstance(err, Refused) else str(err.strerror or err)
    return CheckpointError("cannot-read", path, detail=detail)


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    shape: tuple
    file: str           # the weight file it is stored in
    offset: int         # absolute byte offset of its data in `file` (a .bin's zip members are stored)
    nbytes: int

    @property
    def numel(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count


def read_bytes(tensor: Tensor, limit: int) -> bytes | None:
    """The tensor's raw bytes (read in bounded chunks), or None when it is larger than `limit` or
    cannot be read. The file was checked when its header was read; it is opened the same safe way."""
    if tensor.nbytes > limit or tensor.offset < 0:
        return None
    from ...sources.files import open_input, read_at
    try:
        with open_input(tensor.file) as (handle, size):
            if tensor.offset + tensor.nbytes > size:
                return None
            data = read_at(handle, tensor.offset, tensor.nbytes)
    except OSError:
        return None
    return data if len(data) == tensor.nbytes else None

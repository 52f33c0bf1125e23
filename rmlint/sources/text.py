"""Read a file as text, refusing what no config file looks like, before any parser sees it."""

from ..finding import Location, SourceError

MAX_BYTES = 4 * 1024 * 1024  # the largest real launch script or DeepSpeed config is a few KB


def decode(data: bytes, path: str) -> str:
    if b"\x00" in data[:8192]:
        raise SourceError("binary file (NUL bytes); expected a text config or launch script", Location(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SourceError(f"not UTF-8: byte 0x{data[err.start]:02x} cannot be decoded", Location(path, line, column))


def read_raw(path: str, within: str | None = None, limit: int = MAX_BYTES) -> bytes:
    """A config or script's bytes (a regular file, at most `limit`); SourceError naming why not."""
    from .files import Refused, read_input
    try:
        return read_input(path, limit, within, "configs and scripts")
    except Refused as err:   # no line: nothing of it is shown
        raise SourceError(str(err), Location(path, 0, 0)) from None
    except OSError as err:
        raise SourceError(f"cannot read: {err.strerror or err}", Location(path)) from None


def read_text(path: str, within: str | None = None) -> str:
    return decode(read_raw(path, within), path)

"""Read a file as text, refusing what no config file looks like, before any parser sees it."""

from ..finding import Location, SourceError

MAX_BYTES = 4 * 1024 * 1024  # the largest real launch script or DeepSpeed config is a few KB


import codecs

# UTF-32 first: its little-endian mark begins with UTF-16's
_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
          (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def wide_encoding(data: bytes) -> str | None:
    """"utf-16" / "utf-32" when the bytes begin with that byte order mark."""
    return next((name for mark, name in _MARKS if data.startswith(mark)), None)


def peek_text(data: bytes) -> str:
    """The text of a file's first bytes, for recognising it: by its byte order mark, else UTF-8."""
    wide = wide_encoding(data)
    if wide:
        return data[:len(data) - len(data) % 4].decode(wide, "replace")
    return data.decode("utf-8", "replace")


class MarkedText(str):
    """The text of a file that begins with a UTF-8 byte order mark (a fix writes the mark back)."""
    bom = True


def decode(data: bytes, path: str) -> str:
    wide = wide_encoding(data)
    if wide:   # json.load(open(path)) in DeepSpeed, yaml.safe_load in accelerate: UTF-8 only
        raise SourceError(Location(path, 0, 0),   # no line: nothing of it is shown
                          problem=("wide-text", {"encoding": wide.upper()}))
    if b"\x00" in data[:8192]:
        raise SourceError(Location(path), problem=("binary-file", {}))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SourceError(Location(path, line, column), problem=("not-utf8", {"byte": f"{data[err.start]:02x}"}))
    return MarkedText(text) if data.startswith(codecs.BOM_UTF8) else text


def read_raw(path: str, within: str | None = None, limit: int = MAX_BYTES) -> bytes:
    """A config or script's bytes (a regular file, at most `limit`); SourceError naming why not."""
    from .files import Refused, read_input
    try:
        return read_input(path, limit, within, "config")
    except Refused as err:   # no line: nothing of it is shown
        raise SourceError(Location(path, 0, 0), problem=(err.kind, err.facts)) from None
    except OSError as err:   # the system's own words
        raise SourceError(Location(path), problem=("cannot-read", {"detail": str(err.strerror or err)})) from None


def read_text(path: str, within: str | None = None) -> str:
    return decode(read_raw(path, within), path)

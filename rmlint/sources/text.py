"""Read a file as text, refusing what no config file looks like, before any parser sees it."""

import os

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


def read_text(path: str) -> str:
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            raise SourceError(f"file is {size / 1e6:.1f} MB; rmlint reads configs and scripts up to "
                              f"{MAX_BYTES // (1024 * 1024)} MB", Location(path))
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise SourceError(f"cannot read: {err.strerror or err}", Location(path))
    if len(data) > MAX_BYTES:  # grew while we looked, or a pipe/device
        raise SourceError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MB", Location(path))
    return decode(data, path)

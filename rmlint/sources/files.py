"""The one way rmlint opens an input: regular files only, sizes checked on the open descriptor,
symlinks followed only to places inside the folder the caller names.

A FIFO, a device or a socket would block or never end; a file reached through a symlink to outside
the tree being checked (or outside a model folder, or the Hugging Face cache) is somebody else's.
Both are refused with a problem kind and its facts, which the caller turns into a finding.
"""

import os
import stat
from contextlib import contextmanager
from contextvars import ContextVar

# what a path that is not a regular file is, as an enum (the not-a-regular-file rule's YAML words it)
_KINDS = ((stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "character-device"), (stat.S_ISBLK, "block-device"),
          (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "folder"))


class Refused(OSError):
    """An input rmlint will not read: a problem `kind` (refused-symlink-outside, -not-a-regular-file, -too-big, -grew)
    and its facts, worded by the unreadable-input rule's YAML for the configs, scripts and checkpoints it checks,
    and by config.refused_text for its own settings and rule files. `what` (a fact of -too-big) is what the file
    was read as: config, sourced-script, settings, rule-file, or file."""

    def __init__(self, kind: str, **facts):
        self.kind, self.facts = kind, facts
        super().__init__(kind)


def inside(path: str, folder: str) -> bool:
    """Whether `path`, symlinks resolved, is `folder` (resolved) or inside it."""
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "other")


def file_kind(path: str) -> str:
    """What a path that is not a regular file is: fifo, character-device, block-device, socket, folder
    or other."""
    try:
        return _kind(os.stat(path).st_mode)
    except OSError:
        return "other"


def refusal(path: str, within: str | None = None) -> Refused | None:
    """Why open_input would refuse `path` (not a regular file, or outside `within`), without opening
    it; None when it would not. A dangling or unreadable path is left to the open."""
    if within is not None and not inside(path, within):
        return Refused("refused-symlink-outside", target=os.path.realpath(path), folder=within)
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else Refused("refused-not-a-regular-file", file_kind=_kind(mode))


@contextmanager
def open_input(path: str, limit: int | None = None, within: str | None = None, what: str = "file"):
    """(binary file, size) of a regular file; Refused for anything else, for a file over `limit`
    bytes, or (with `within`) for a file whose real path is outside that folder."""
    if within is not None and not inside(path, within):
        raise refusal(path, within)
    # O_NONBLOCK: opening a FIFO does not wait for a writer; the fstat below then refuses it
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused("refused-not-a-regular-file", file_kind=_kind(info.st_mode))
        if limit is not None and info.st_size > limit:
            raise _too_big(info.st_size, limit, what)
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle, info.st_size


def _too_big(size: int, limit: int, what: str) -> Refused:
    return Refused("refused-too-big", size=_size(size, 1), limit=_size(limit), what=what)


def _size(count: int, digits: int = 0) -> str:
    """A size as people read it: a 256 KB limit is not "0 MB"."""
    return f"{count / 1e6:.{digits}f} MB" if count >= 1e6 else f"{count / 1e3:.0f} KB"


_READ = ContextVar("rmlint_read", default=None)   # real path -> bytes, inside reading_once()
READ_ONCE_BYTES = 64 * 1024 * 1024   # kept for a run at most; a run over more (a huge tree) reads again


class _Reads(dict):
    size = 0    # bytes kept


@contextmanager
def reading_once():
    """Within it, each file is opened once: a later read of the same file (a launch naming a config
    the run also checks, the source lines of the report, the check after --fix) gets the bytes read
    first, or those a fix wrote (`wrote`)."""
    token = _READ.set(_Reads())
    try:
        yield
    finally:
        _READ.reset(token)


def wrote(path: str, data: bytes) -> None:
    """Tell reading_once() that `path` now holds `data` (rmlint wrote it)."""
    read = _READ.get()
    if read is not None:
        read.size -= len(read.pop(os.path.realpath(path), b""))
        read[os.path.realpath(path)] = data
        read.size += len(data)


def read_input(path: str, limit: int, within: str | None = None, what: str = "file") -> bytes:
    """All bytes of a regular file of at most `limit` bytes (checked again after reading: it may grow)."""
    read = _READ.get()
    key = os.path.realpath(path) if read is not None else None
    if key in (read or {}):
        if within is not None and not inside(path, within):
            raise refusal(path, within)
        data = read[key]
        if len(data) > limit:
            raise _too_big(len(data), limit, what)
        return data
    with open_input(path, limit, within, what) as (handle, _):
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise Refused("refused-grew", limit=_size(limit))
    if read is not None and read.size + len(data) <= READ_ONCE_BYTES:
        read[key] = data
        read.size += len(data)
    return data


def read_at(handle, offset: int, count: int, chunk: int = 1 << 20) -> bytes:
    """`count` bytes from `offset`, read in bounded chunks (short when the file ends first)."""
    handle.seek(offset)
    parts, left = [], count
    while left > 0:
        part = handle.read(min(chunk, left))
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)

"""A cache of the built-in catalog, so that start-up reads no YAML and compiles no CEL.

It holds what rules.py made of each rule file (every field but the examples, the compiled
conditions, the fact paths they read), tied to the identity of every rule file (name, size, mtime,
ctime, inode: Python trusts its bytecode caches on less), rmlint's version, the CEL declarations and
the CEL runtime's file.
Any change there names another cache file, built at first use; the rule files stay the truth.
Lives in $RMLINT_CACHE_DIR, else $XDG_CACHE_HOME/rmlint, else ~/.cache/rmlint; RMLINT_NO_CACHE=1
turns it off. Failing to read or write it is never an error.

A cache file is used only when it is a regular file of ours that nobody else may write (another
user's file is never read), whole (a checksum of its content: a truncated or edited file is
rebuilt), and of the exact shape rules.py checks. It is marshal data: plain values, nothing in it
is run. Whoever can write it as you can change what the conditions compute, as whoever can write
rmlint's own files can: keep it yours (README, "The catalog cache").
"""

import marshal
import os
import stat
import zlib

from .about import __version__
from .cache_folder import cache_folder

MAX_CACHE = 32 * 1024 * 1024
_MAGIC = b"rmlint catalog 2\n"
_HEAD = len(_MAGIC) + 4   # the magic, then the crc32 of what follows


def identity(folder) -> tuple | None:
    """(name, size, mtime_ns, ctime_ns, inode, device) of every rule file (RM*.yaml) in `folder`,
    by name; None when the folder cannot be listed."""
    try:
        with os.scandir(folder) as found:
            files = [(e.name, e.stat()) for e in found if e.name.startswith("RM") and e.name.endswith(".yaml")]
    except OSError:
        return None
    return tuple(sorted((name, s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino, s.st_dev) for name, s in files))


def _key(files: tuple) -> tuple:
    from cel_expr_python import cel   # the CEL runtime that serialized the programs (a reinstall is another file)
    from .fact_shapes import cel_declarations   # what the compiled conditions were checked against
    runtime = os.stat(cel.__file__)
    return (__version__, repr(cel_declarations()), (cel.__file__, runtime.st_size, runtime.st_mtime_ns), files)


def _file(files: tuple | None) -> tuple:
    """(path of the cache file, the full key it must hold), or (None, None) when there is no cache."""
    if os.environ.get("RMLINT_NO_CACHE") or not files:
        return None, None
    key = _key(files)
    return cache_folder() / f"catalog-{zlib.crc32(repr(key).encode()):08x}.bin", key


def load(files: tuple | None) -> list | None:
    """The entries stored for exactly these rule files, or None (no cache, or one not to be used)."""
    target, key = _file(files)
    if target is None:
        return None
    try:
        data = _read_own(target)
        if data is None or data[:len(_MAGIC)] != _MAGIC or \
                int.from_bytes(data[len(_MAGIC):_HEAD], "big") != zlib.crc32(data[_HEAD:]):
            return None
        stored = marshal.loads(data[_HEAD:])
        if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == key and isinstance(stored[1], list)):
            return None
        return stored[1]
    except Exception:   # absent, damaged or foreign: ignored (and rebuilt), never fatal
        return None


def _read_own(target) -> bytes | None:
    """The bytes of a regular file of ours that group and others cannot write; else None."""
    fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022 \
                or info.st_size > MAX_CACHE:
            return None
        data = handle.read(MAX_CACHE + 1)
    return data if len(data) <= MAX_CACHE else None


def store(files: tuple | None, entries: list) -> None:
    """Write the entries for these rule files: a private temporary file, then an atomic rename, so a
    concurrent run reads the old file or the new one, never half of one."""
    target, key = _file(files)
    if target is None:
        return
    try:
        payload = marshal.dumps((key, entries))
    except ValueError:   # a value marshal cannot hold: no cache, the catalog still works
        return
    temporary = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        if os.path.lexists(temporary):   # left by a run that died with this process id
            os.unlink(temporary)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(_MAGIC + zlib.crc32(payload).to_bytes(4, "big") + payload)
        os.replace(temporary, target)
    except OSError:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass

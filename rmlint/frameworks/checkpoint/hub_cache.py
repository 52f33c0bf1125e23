"""Where a model path of a launch is on this machine: a local folder or file, or a hub id that the
local Hugging Face cache holds. Never the network."""

import os
import re
import stat
from contextlib import contextmanager

from ...problems import skip

_HUB = {"enabled": False, "timeout": 10.0}   # --hub / `hub = true`: set for one lint run by `reading_hub`
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def cache_dir() -> str:
    """huggingface_hub's constants: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return os.path.expanduser(explicit)
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return os.path.join(os.path.expanduser(home), "hub")


def _snapshots(repo_dir: str) -> dict:
    """commit -> (path, mtime) of snapshots/<commit> folders whose real path is inside the entry
    (a symlink loop or a link to elsewhere is left out)."""
    from ...sources.files import inside
    folder = os.path.join(repo_dir, "snapshots")
    try:
        names = os.listdir(folder)
    except OSError:
        return {}
    found = {}
    for name in names:
        path = os.path.join(folder, name)
        try:
            info = os.stat(path)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and inside(path, repo_dir):
            found[name] = (path, info.st_mtime)
    return found


def entry_of(snapshot: str) -> str:
    """The cache entry (models--org--name) a snapshot folder belongs to: where its symlinks may point."""
    return os.path.realpath(os.path.dirname(os.path.dirname(snapshot)))


def _snapshot(repo_dir: str) -> str | None:
    """refs/main's snapshot: a commit that is a folder of snapshots/ inside the entry; else the
    newest such folder. Nothing outside the entry is followed."""
    found = _snapshots(repo_dir)
    if not found:
        return None
    from ...sources.files import read_input
    try:
        commit = read_input(os.path.join(repo_dir, "refs", "main"), 100, repo_dir).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        commit = ""
    if commit in found:
        return found[commit][0]
    return max(found.values(), key=lambda pair: pair[1])[0]


def is_local_path(path: str) -> bool:
    """A path no hub id looks like: absolute, ~, ./ or ../, or folders deeper than org/name."""
    expanded = os.path.expanduser(path)
    return os.path.isabs(expanded) or path in (".", "..") or path.startswith(("./", "../", "~")) \
        or (os.sep in path and not _HUB_ID.match(path))


def resolve(path: str, base_dirs: list, searched: str = "script") -> tuple:
    """(local path or None, "local" | "hf-cache" | "hub", or why the checks are skipped: a problems.skip,
    worded with the output (formats.SKIPPED)); `searched` says where a relative path was looked for: beside
    the "script" (and here), or the "working-directory"."""
    expanded = os.path.expanduser(path)
    places = [expanded] if os.path.isabs(expanded) else [os.path.join(b, expanded) for b in base_dirs]
    for place in places:
        if os.path.exists(place):
            return place, "local"
    if os.path.isabs(expanded) or expanded.startswith((".", "~")) or not _HUB_ID.match(path) or "/" not in path:
        return None, skip("not-found", searched=searched)
    cache = cache_dir()
    snapshot = _snapshot(os.path.join(cache, "models--" + path.replace("/", "--")))
    if snapshot:
        return snapshot, "hf-cache"
    if _HUB["enabled"]:
        return _from_hub(path)
    return None, skip("not-in-hf-cache", cache=cache)


_HUB_READ = {}      # repo -> (folder or None, "hub" or why not): each id is asked once per run


def _from_hub(repo: str) -> tuple:
    if repo not in _HUB_READ:
        from .hub_remote import HubError, fetch
        try:
            _HUB_READ[repo] = (fetch(repo, _HUB["timeout"]), "hub")
        except HubError as err:
            _HUB_READ[repo] = (None, skip("hub-unread", error=err.reason))
    return _HUB_READ[repo]


@contextmanager
def reading_hub(enabled: bool, timeout: float = 10.0):
    """Hub ids not in the local cache are read from the Hub inside this block (never by default)."""
    saved = dict(_HUB)
    _HUB.update(enabled=bool(enabled), timeout=timeout)
    _HUB_READ.clear()
    try:
        yield
    finally:
        _HUB.clear()
        _HUB.update(saved)
        _HUB_READ.clear()

"""Where a model path of a launch is on this machine: a local folder or file, or a hub id that the
local Hugging Face cache holds. Never the network."""

import os
import re

HEADER_SUFFIX = ".rmlint-header.json"   # a weight file read from the Hub: its safetensors header and size only
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def cache_dir() -> str:
    """huggingface_hub's constants: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return os.path.expanduser(explicit)
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return os.path.join(os.path.expanduser(home), "hub")


def _snapshot(repo_dir: str) -> str | None:
    try:
        with open(os.path.join(repo_dir, "refs", "main"), encoding="ascii") as handle:
            commit = handle.read(100).strip()
        path = os.path.join(repo_dir, "snapshots", commit)
        if os.path.isdir(path):
            return path
    except (OSError, UnicodeDecodeError):
        pass
    try:
        snapshots = [os.path.join(repo_dir, "snapshots", s) for s in os.listdir(os.path.join(repo_dir, "snapshots"))]
    except OSError:
        return None
    return max(snapshots, key=os.path.getmtime) if snapshots else None


def resolve(path: str, base_dirs: list) -> tuple:
    """(local path or None, "local" | "hf-cache", or the reason the checks are skipped)."""
    expanded = os.path.expanduser(path)
    places = [expanded] if os.path.isabs(expanded) else [os.path.join(b, expanded) for b in base_dirs]
    for place in places:
        if os.path.exists(place):
            return place, "local"
    if os.path.isabs(expanded) or expanded.startswith((".", "~")) or not _HUB_ID.match(path) or "/" not in path:
        return None, "no such file or folder from here or beside the script"
    cache = cache_dir()
    snapshot = _snapshot(os.path.join(cache, "models--" + path.replace("/", "--")))
    if snapshot:
        return snapshot, "hf-cache"
    return None, f"not a local path and not in the Hugging Face cache ({cache})"

"""Where rmlint keeps what it works out once (the compiled rule catalog, headers read from the Hub):
$RMLINT_CACHE_DIR, else $XDG_CACHE_HOME/rmlint, else ~/.cache/rmlint."""

import os
from pathlib import Path


def cache_folder() -> Path:
    if os.environ.get("RMLINT_CACHE_DIR"):
        return Path(os.environ["RMLINT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rmlint"

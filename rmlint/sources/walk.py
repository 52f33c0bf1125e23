"""Which files a run reads, each once: paths given and folders walked (exclude, extend-exclude and
.gitignore applied, as ruff applies them), shown as spelt (normalised) and identified by their real
path, so a file reached twice is read and reported once, under its first spelling."""

import os
from dataclasses import dataclass, field

from .ignore import Patterns, ignored, read_gitignore
from .files import inside

CANDIDATE_SUFFIXES = (".sh", ".bash", ".zsh", ".slurm", ".sbatch", ".json", ".yaml", ".yml")


def display(path: str) -> str:
    """The path as findings show it: as given (absolute stays absolute), without `./` or `a/../`."""
    return path if path.startswith("<") else os.path.normpath(path)


def identity(path: str) -> str:
    return path if path.startswith("<") else os.path.realpath(path)


@dataclass
class Entry:
    """A file to read, and how the command line reached it."""
    path: str             # display path, also the one opened
    explicit: bool        # named on the command line (not found by a walk)
    origins: list         # the arguments that reach it


@dataclass
class Selection:
    """The files a run reads, the folders it walked and how many it left out."""
    entries: list = field(default_factory=list)
    folders: list = field(default_factory=list)    # folders given on the command line
    excluded: int = 0


def _layers(settings, start: str | None = None) -> list:
    """The exclude patterns, relative to the settings' folder (or to a walked folder outside it)."""
    patterns = list(settings.exclude) + list(settings.extend_exclude)
    base = settings.root
    if start is not None and not (start + os.sep).startswith(base.rstrip(os.sep) + os.sep):
        base = start
    return [Patterns(patterns, base)] if patterns else []


def _repository_root(folder: str) -> str | None:
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def project_folders(referrer: str) -> list:
    """The folder of a file that names another, and the folders above it up to its repository's
    root: a relative name in a config is found from whichever folder the run starts in."""
    folder = os.path.dirname(os.path.abspath(referrer))
    root = _repository_root(folder)
    chain = [folder]
    while root is not None and chain[-1] != root:
        chain.append(os.path.dirname(chain[-1]))
    return chain if os.path.isabs(referrer) else [os.path.relpath(f) for f in chain]   # in the referrer's style


def _gitignores_above(folder: str) -> list:
    """.gitignore files from the repository root down to `folder`'s parent, and .git/info/exclude."""
    root = _repository_root(folder)
    if root is None:
        return []
    chain, current = [], os.path.dirname(folder)
    while len(current) >= len(root):
        chain.append(current)
        if current == root:
            break
        current = os.path.dirname(current)
    layers = []
    info = os.path.join(root, ".git", "info", "exclude")
    if os.path.isfile(info):
        from .files import read_input
        try:
            layers.append(Patterns(read_input(info, 4 * 1024 * 1024).decode("utf-8", "replace").splitlines(True), root))
        except OSError:
            pass
    return layers + [layer for layer in map(read_gitignore, reversed(chain)) if layer]


def walk(root: str, settings) -> tuple:
    """(files, excluded count) under `root` in a stable order."""
    absolute_root = os.path.abspath(root)
    base = _layers(settings, absolute_root)
    if settings.respect_gitignore:
        base += _gitignores_above(absolute_root)
    found, excluded = [], 0
    stack = [(absolute_root, root, base)]
    while stack:
        folder, shown, layers = stack.pop()
        if settings.respect_gitignore:
            own = read_gitignore(folder)
            layers = layers + [own] if own else layers
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        below = []
        for name in names:
            full, display_name = os.path.join(folder, name), os.path.join(shown, name)
            is_dir = os.path.isdir(full)
            if not is_dir and not name.lower().endswith(CANDIDATE_SUFFIXES):
                continue
            if layers and ignored(full, is_dir, layers):
                excluded += 1
                continue
            if is_dir and os.path.islink(full) and not inside(full, absolute_root):
                found.append(display_name)     # a shared folder linked in from elsewhere: noted, not walked
            elif is_dir:
                below.append((full, display_name, layers))
            else:
                found.append(display_name)
        stack.extend(reversed(below))
    return found, excluded


def force_excluded(path: str, settings) -> bool:
    """--force-exclude: a path given explicitly is excluded when it, or a folder above it (below the
    settings' root), matches `exclude`/`extend-exclude`."""
    layers = _layers(settings)
    if not layers:
        return False
    absolute = os.path.abspath(path)
    current, is_dir = absolute, os.path.isdir(absolute)
    while current.startswith(settings.root.rstrip(os.sep) + os.sep):
        if ignored(current, is_dir, layers):
            return True
        current, is_dir = os.path.dirname(current), True
    return False


def select(paths, settings_for) -> Selection:
    """The files of a run, deduplicated by real path, first spelling wins; `settings_for(path)` gives
    the settings whose exclusion applies to an argument."""
    selection, seen = Selection(), {}

    def add(path: str, explicit: bool, origin: str):
        key = identity(path)
        if key in seen:
            seen[key].origins.append(origin)
            seen[key].explicit = seen[key].explicit or explicit
        else:
            seen[key] = Entry(display(path), explicit, [origin])
            selection.entries.append(seen[key])

    for path in map(str, paths):
        settings = settings_for(path if path != "-" else ".")
        if path == "-":
            add("<stdin>", True, path)
        elif os.path.isdir(path):
            selection.folders.append(path)
            found, excluded = walk(path, settings)
            selection.excluded += excluded
            for name in found:
                add(name, False, path)
        elif settings.force_exclude and force_excluded(path, settings):
            selection.excluded += 1
        else:
            add(path, True, path)
    return selection

"""Target versions: which release of each framework a launch will run with, and where that came from.

In this order: the settings (`[tool.rmlint.versions]`), the installed distributions when rmlint runs
inside the training environment (`rmlint run`, the library, `rmlint check --versions installed`;
read with importlib.metadata, never by importing the package), exact pins in the repository
(the launch script's own `pip install x==v`, uv.lock, poetry.lock, requirements*.txt, pyproject
dependencies, environment.yml, Dockerfiles), else unknown. Rules read `versions.<name>.number`
(0.16.4 -> 1604, 5.23.0 -> 52300; 0 when unknown).
"""

import contextlib
import contextvars
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

PACKAGES = ("openrlhf", "deepspeed", "transformers", "peft", "bitsandbytes", "trl", "accelerate", "llamafactory",
            "axolotl", "torch", "verl")
DISTRIBUTIONS = {"llamafactory": ("llamafactory", "llmtuner")}   # distribution names, when not the package's
MAX_PIN_FILE = 8 * 1024 * 1024
_PIN = re.compile(r"(?<![\w.-])([A-Za-z][A-Za-z0-9._-]*)(?:\[[^\]\s]*\])?\s*===?\s*v?(\d+(?:\.\d+){0,3})(?![\w.*])")
_PIP_INSTALL = re.compile(r"\bpip3?\s+install\b((?:[^\\\n]|\\[\s\S])*)")   # to the line's end, across `\` joins
_LOCKED = re.compile(r'^name\s*=\s*"([^"]+)"\s*\nversion\s*=\s*"([^"]+)"', re.M)
_CONDA = re.compile(r"^\s*-\s*([A-Za-z][A-Za-z0-9._-]*)\s*==?\s*(\d+(?:\.\d+){0,3})\b", re.M)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_NAMES = {canonical(d): package for package in PACKAGES for d in DISTRIBUTIONS.get(package, (package,))}


def release_key(text: str) -> tuple:
    """A release as a tuple that sorts as the releases do, for every framework's tables: 0.16.4 -> (0, 16, 4, 0),
    0.3.0.post1 -> (0, 3, 0, 1), 0.2 -> (0, 2, 0, 0); a local or pre-release tail (+cu121, rc1) is not counted."""
    head, _, post = (text or "").partition("post")
    numbers = [int(n) for n in re.findall(r"\d+", head)[:3]]
    posts = re.findall(r"\d+", post)
    return (*numbers, *[0] * (3 - len(numbers)), int(posts[0]) if posts else 0)


def number(text: str) -> int:
    """0.16.4 -> 1604: releases compare as numbers in rule conditions (`launch.newest_version < 506` is before
    0.5.6)."""
    major, minor, patch, _ = release_key(text)
    return major * 10000 + min(minor, 99) * 100 + min(patch, 99)


def runs(indices) -> list:
    """Sorted indexes as [first, last] runs of consecutive ones: [0, 1, 2, 5] -> [[0, 2], [5, 5]] (release spans)."""
    found = []
    for i in sorted(indices):
        if found and found[-1][1] == i - 1:
            found[-1][1] = i
        else:
            found.append([i, i])
    return found


@dataclass(frozen=True)
class Version:
    """One package's target version and where it was found."""
    text: str = ""          # "" when unknown
    source: str = "unknown"  # "settings (pyproject.toml)", "installed", "requirements.txt:3", "unknown"

    @property
    def known(self) -> bool:
        return bool(self.text)

    def fact(self) -> dict:
        return {"text": self.text, "number": number(self.text), "source": self.source}


@dataclass(frozen=True)
class Versions:
    """The target version of each package a file is judged for."""
    found: dict = field(default_factory=dict)   # package -> Version (known ones only)

    def __getitem__(self, package: str) -> Version:
        return self.found.get(package, Version())

    def with_script(self, text: str, path: str) -> "Versions":
        """Add the `pip install x==v` pins of the launch script itself: above the repository's pins,
        below the settings and the installed distributions."""
        found = dict(self.found)
        for package, version in pins_in_text(text, path, "pip-install").items():
            old = found.get(package)
            if old is None or not old.source.startswith(("settings", "installed")):
                found[package] = version
        return Versions(found)

    def facts(self) -> dict:
        """The `versions` facts rules read (shared by every subject read with the same versions: read-only)."""
        return _facts(tuple(sorted(self.found.items())))

    def to_dict(self) -> dict:
        return {package: {"version": self[package].text or None, "source": self[package].source}
                for package in PACKAGES}


def unknown_facts() -> dict:
    return Versions().facts()


@lru_cache(maxsize=256)
def _facts(found: tuple) -> dict:
    versions = dict(found)
    return {package: versions.get(package, Version()).fact() for package in PACKAGES}


@lru_cache(maxsize=1)
def installed() -> dict:
    """package -> Version of the distributions installed beside rmlint (metadata only; read once)."""
    from importlib import metadata
    found = {}
    for package in PACKAGES:
        for name in DISTRIBUTIONS.get(package, (package,)):
            try:
                found[package] = Version(metadata.version(name), "installed")
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def _read(path: str) -> str:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > MAX_PIN_FILE:
            return ""
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def shown_path(path: str) -> str:
    """A path as findings show it: relative to the current folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def pins_in_text(text: str, where: str, kind: str) -> dict:
    """package -> Version from one file's text; `kind` says how the file states versions."""
    found = {}

    def add(name, version, offset):
        package = _NAMES.get(canonical(name))
        if package and package not in found:
            found[package] = Version(version, f"{where}:{_line(text, offset)}")
    if kind == "lock":
        for match in _LOCKED.finditer(text):
            add(match.group(1), match.group(2), match.start())
    elif kind == "conda":
        for match in _CONDA.finditer(text):
            add(match.group(1), match.group(2), match.start())
        for match in _PIN.finditer(text):
            add(match.group(1), match.group(2), match.start())
    elif kind == "pip-install":     # shell scripts and Dockerfiles: only what `pip install` names
        for command in _PIP_INSTALL.finditer(text):
            for match in _PIN.finditer(command.group(1)):
                add(match.group(1), match.group(2), command.start(1) + match.start())
    elif kind == "pyproject":    # read with patterns, not tomllib: a pre-commit hook pays for every import
        project = _section(text, "project")
        array = re.search(r"^dependencies\s*=\s*\[(.*?)\]", project[1], re.M | re.S) if project else None
        if array:
            for item in re.finditer(r"[\"']([^\"']+)[\"']", array.group(1)):
                match = _PIN.match(item.group(1).strip())
                if match:
                    add(match.group(1), match.group(2), project[0] + array.start(1) + item.start())
        poetry = _section(text, "tool.poetry.dependencies")
        if poetry:
            for match in re.finditer(r'^([A-Za-z][\w.-]*)\s*=\s*(?:\{[^}\n]*version\s*=\s*)?"(?:==)?\s*(\d+(?:\.\d+){1,3})"',
                                     poetry[1], re.M):
                add(match.group(1), match.group(2), poetry[0] + match.start())
    else:   # requirements
        for match in re.finditer(r"^[ \t]*([^#\n]+)", text, re.M):
            pin = _PIN.match(match.group(1).strip())
            if pin:
                add(pin.group(1), pin.group(2), match.start())
    return found


def _section(text: str, name: str) -> tuple | None:
    """(offset, text) of a TOML table `[name]` up to the next table header."""
    match = re.search(r"^\[" + re.escape(name) + r"\]\s*$", text, re.M)
    if not match:
        return None
    end = re.search(r"^\[", text[match.end():], re.M)
    return match.end(), text[match.end():match.end() + end.start()] if end else text[match.end():]


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower in ("uv.lock", "poetry.lock"):
        return "lock"
    if lower == "pyproject.toml":
        return "pyproject"
    if lower in ("environment.yml", "environment.yaml"):
        return "conda"
    if lower.startswith("requirements") and lower.endswith((".txt", ".in")):
        return "requirements"
    if lower.startswith("dockerfile") or lower.endswith(".dockerfile") or lower == "containerfile":
        return "pip-install"
    return None


ORDER = ("lock", "requirements", "pyproject", "conda", "pip-install")


@lru_cache(maxsize=256)
def pins_in_folder(folder: str) -> tuple:
    """((package, Version), ...) pinned by the files of one folder, lock files first."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return ()
    files = sorted(((_kind(n), n) for n in names if _kind(n)), key=lambda kn: (ORDER.index(kn[0]), kn[1]))
    found = {}
    for kind, name in files:
        path = os.path.join(folder, name)
        for package, version in pins_in_text(_read(path), shown_path(path), kind).items():
            found.setdefault(package, version)
    return tuple(found.items())


def repository_pins(start: str, levels: int = 4) -> dict:
    """Pins from `start` up to the repository root (a folder holding .git), nearest folder first."""
    found, folder = {}, os.path.abspath(start)
    for _ in range(levels + 1):
        for package, version in pins_in_folder(folder):
            found.setdefault(package, version)
        parent = os.path.dirname(folder)
        if os.path.exists(os.path.join(folder, ".git")) or parent == folder:
            break
        folder = parent
    return found


def resolve(settings=None, near: str | None = None, script: str | None = None, use_installed: bool = False,
            script_path: str = "") -> Versions:
    """The target versions for a file at `near` (a folder), `script` being the launch script's text."""
    found = {}
    configured = getattr(settings, "versions", None) or {}
    where = f"settings ({shown_path(settings.source)})" if getattr(settings, "source", "") else "settings"
    for package, text in configured.items():
        found[package] = Version(str(text), where)
    if use_installed:
        for package, version in installed().items():
            found.setdefault(package, version)
    if script:
        for package, version in pins_in_text(script, script_path or "<script>", "pip-install").items():
            found.setdefault(package, version)
    for package, version in repository_pins(near or os.getcwd()).items():
        found.setdefault(package, version)
    return Versions(found)


_CURRENT = contextvars.ContextVar("rmlint_versions", default=Versions())


def current() -> Versions:
    """The versions of the file being read (set by the library around reading it)."""
    return _CURRENT.get()


@contextlib.contextmanager
def target(versions: Versions):
    token = _CURRENT.set(versions)
    try:
        yield versions
    finally:
        _CURRENT.reset(token)

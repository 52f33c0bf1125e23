"""OpenRLHF's CLI flags per entrypoint and release, from rmlint/data/openrlhf_flags.json.

The table is extracted from every release (tags from 0.0.1, wheels after the newest tag) by
tools/extract_openrlhf_flags.py. It lets rmlint tell which releases accept a set of flags (and so
which CLI generation a script was written for), which default each flag had in those releases,
which releases could run an entrypoint as a module (`openrlhf.cli.train_rm`) or as a script
(`examples/train_rm.py`, up to 0.3.5), and what a typo was meant to be.
"""

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache

from ...data import TABLES
from ...versions import release_key as version_key

DATA = TABLES / "openrlhf_flags.json"

# First release of each CLI generation (see research/openrlhf.md §0).
GENERATIONS = (
    (1, "0.0.1"),    # flat flags with --bf16/--flash_attn (<= 0.9.1; examples/train_*.py scripts up to 0.3.5)
    (2, "0.9.2"),    # flat flags with --param_dtype (0.9.2 - 0.10.1)
    (3, "0.10.2"),   # dotted flags such as --ds.zero_stage (>= 0.10.2)
)


@dataclass(frozen=True)
class FlagSpec:
    """One OpenRLHF flag across releases: its kind, type, defaults and the releases that have it."""
    name: str
    kind: str            # "bool" | "value" | "list"
    type: str            # "int" | "float" | "str" | "bool"
    first: int           # index into Table.versions
    last: int
    defaults: tuple      # ((version index, default), ...) in release order
    choices: tuple | None = None
    nargs: int | None = None   # a fixed number of values (`--adam_betas 0.9 0.95`)
    spans: tuple = ()          # ((first, last), ...) when the flag was removed and came back

    def exists(self, index: int) -> bool:
        if self.spans:
            return any(low <= index <= high for low, high in self.spans)
        return self.first <= index <= self.last

    def default_at(self, index: int):
        value = None
        for since, default in self.defaults:
            if since <= index:
                value = default
        return value


class _Entrypoints(dict):
    """entrypoint -> {flag: FlagSpec}; an entrypoint's specs are built when first asked for (a launch
    reads one entrypoint of the dozen, and building them all is a few ms of every start)."""

    def __init__(self, raw: dict, where: dict):
        super().__init__(dict.fromkeys(raw))
        self._raw, self._where = raw, where

    def __getitem__(self, entrypoint: str) -> dict:
        specs = super().__getitem__(entrypoint)
        if specs is None:
            where = self._where
            specs = {name: FlagSpec(name, spec["kind"], spec["type"], where[spec["first"]], where[spec["last"]],
                                    tuple((where[v], d) for v, d in spec["defaults"]),
                                    tuple(spec["choices"]) if isinstance(spec.get("choices"), list) else None,
                                    spec.get("nargs"), tuple((where[a], where[b]) for a, b in spec.get("spans", ())))
                     for name, spec in self._raw[entrypoint].items()}
            super().__setitem__(entrypoint, specs)
        return specs

    def get(self, entrypoint: str, default=None):
        return self[entrypoint] if entrypoint in self else default

    def items(self):
        return [(entrypoint, self[entrypoint]) for entrypoint in self]

    def values(self):
        return [self[entrypoint] for entrypoint in self]


class Table:
    def __init__(self, raw: dict):
        self.versions = raw["versions"]
        where = {v: i for i, v in enumerate(self.versions)}
        self.entrypoints = _Entrypoints(raw["entrypoints"], where)
        self.programs = {entrypoint: {form: [(where[a], where[b]) for a, b in spans] for form, spans in forms.items()}
                         for entrypoint, forms in raw.get("programs", {}).items()}

    def program_releases(self, entrypoint: str, form: str | None = None) -> list:
        """Indices of the releases that can run the entrypoint as `form` ("module" | "script"; None: either)."""
        forms = self.programs.get(entrypoint, {})
        spans = [s for f, spans in forms.items() if form in (None, f) for s in spans]
        return sorted({i for low, high in spans for i in range(low, high + 1)})

    def generation(self, index: int) -> int:
        version = version_key(self.versions[index])
        return max(number for number, first in GENERATIONS if version >= version_key(first))

    def span(self, first: int, last: int) -> str:
        low, high = self.versions[first], self.versions[last]
        if last == len(self.versions) - 1:
            return f">= {low}"
        if first == 0:
            return f"<= {high}"
        return f"{low} - {high}" if low != high else low

    def releases_in(self, span: str) -> set:
        """The releases a span as `span` writes it names (`0.3.1 - 0.3.5`, `<= 0.3.5`, `>= 0.10.2`, `0.0.1`)."""
        versions = self.versions
        if not span:
            return set()
        if span.startswith("<= "):
            return set(versions[:versions.index(span[3:]) + 1])
        if span.startswith(">= "):
            return set(versions[versions.index(span[3:]):])
        low, _, high = span.partition(" - ")
        return set(versions[versions.index(low):versions.index(high or low) + 1])


@lru_cache(maxsize=1)
def table() -> Table:
    return Table(json.loads(DATA.read_text()))


def releases_matching(flags, entrypoint: str | None = None) -> list:
    """The releases (version strings) in which the entrypoint (or, when None, some entrypoint)
    accepts every one of `flags` (`--name`, `--name=value` or bare names)."""
    names = {"--" + str(f).partition("=")[0].lstrip("-") for f in flags}
    t = table()
    found = set()
    for name in ([entrypoint] if entrypoint else list(t.entrypoints)):
        specs = t.entrypoints.get(name, {})
        if all(n in specs for n in names):
            found.update(i for i in t.program_releases(name) if all(specs[n].exists(i) for n in names))
    return [t.versions[i] for i in sorted(found)]


_EXTRA_FLAGS: ContextVar = ContextVar("openrlhf_extra_flags", default=frozenset())


@contextmanager
def extra_flags(names):
    """Flags a fork of OpenRLHF adds (`[tool.rmlint.openrlhf] extra-flags`), accepted while checking."""
    token = _EXTRA_FLAGS.set(frozenset("--" + str(n).lstrip("-") for n in names or ()))
    try:
        yield
    finally:
        _EXTRA_FLAGS.reset(token)


def fork_flags() -> frozenset:
    return _EXTRA_FLAGS.get()


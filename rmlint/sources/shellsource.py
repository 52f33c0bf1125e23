"""`source FILE ARGS` / `. FILE ARGS`: the file is read as part of the script, with ARGS as its $1 $2 ...,
and the variables and functions it defines flow back (OpenRLHF's slurm wrappers `source ./train_x.sh slurm`
and then run `torchrun ... -m ${training_commands}` from the sourced heredoc).

Only relative paths are followed, from the script's folder and then the working directory (where the
examples are run from); an absolute or `~` path is the user's environment (conda, a venv, a profile),
not the project's. Reading is bounded: regular files only through files.py, each at most
MAX_SOURCE_BYTES, MAX_SOURCES files per script, no file again while it is being read (a.sh sources b.sh
sources a.sh), and every sourced text spends the script's one expansion budget.

The sourced text joins the script's offset space after its own text (base offsets in `files`), so a
flag read from a sourced heredoc points at its line in the sourced file. The commands a sourced file
runs are not the sourcing script's launches: the file is checked where it is itself a file.
"""

import os

from ..problems import reason
from .shellforms import MAX_DEPTH
from .shellwords import EXPANSION_BUDGET, Chunk, Script

MAX_SOURCES = 16
MAX_SOURCE_BYTES = 256 * 1024
MAX_SOURCING_SCRIPT = 256 * 1024   # a larger script's sources are not followed (each one copies its text), and said so
SOURCE_COST = 2000    # budget one sourced file costs besides its text
MAX_REASONS = 4       # unread files named in a reason; 20,000 missing files are not a 3 MB note


class Sourcing:
    """What one script's `source` commands read (a plain class: it is made for every script checked)."""

    def __init__(self, path: str, combined: str):
        self.path = path              # the script's path ("<stdin>"-like names: no folder of its own)
        self.combined = combined      # the script's text, then each sourced text after a newline
        self.script_size = len(combined)
        self.files: list = []         # (base offset, path, text)
        self.unread: list = []        # why a sourced file was not read
        self.reading: list = []       # real paths being read now (cycles)
        self.distinct: set = set()    # real paths read so far (MAX_SOURCES counts these)
        self.exited_at = None         # offset of a top-level `exit` in a sourced file: the script ends there

    def skip(self, why: dict) -> None:
        if why not in self.unread:
            self.unread.append(why)

    def reasons(self) -> list:
        """Why sourced files were not read, the first MAX_REASONS named and the rest counted."""
        more = len(self.unread) - MAX_REASONS
        return self.unread[:MAX_REASONS] + ([reason("sources-not-counted", count=more)] if more > 0 else [])

    def folders(self) -> list:
        here = [] if self.path.startswith("<") else [os.path.dirname(os.path.abspath(self.path))]
        return list(dict.fromkeys(here + [os.getcwd()]))

    def find(self, name: str) -> str | None:
        """The sourced file's path, as findings show it: relative to the working directory when inside it."""
        found = next((os.path.join(f, name) for f in self.folders() if os.path.exists(os.path.join(f, name))), None)
        if found is None:
            return None
        relative = os.path.relpath(found)
        return os.path.normpath(found) if relative.startswith("..") else relative


def follow(scanner, words: list, offset: int, top: bool = False) -> None:
    """Read the file `source`d by `words` (FILE ARGS...) into `scanner`'s variables and functions; `top`:
    the `source` runs unconditionally in the main shell, so an `exit` at the file's top level ends the
    script there (shellflow.py)."""
    sourcing = scanner.sourcing
    if not words or not words[0].known:
        sourcing.skip(reason("source-unread-word"))
        return
    name = words[0].text
    if os.path.isabs(name) or name.startswith("~"):
        sourcing.skip(reason("source-outside", name=name))
        return
    found = sourcing.find(name)
    if found is None:
        sourcing.skip(reason("source-missing", name=name))
        return
    real = os.path.realpath(found)
    if real in sourcing.reading or real == os.path.realpath(sourcing.path):
        return      # a cycle: bash would read it again and again; what it defines is already known
    # From here on the file exists and bash reads it: one rmlint leaves unread may set any variable,
    # so the values known before it are not trusted after it (a 17th `source ./bad.sh` is no silent pass).
    if sourcing.script_size > MAX_SOURCING_SCRIPT:     # bash reads it; rmlint would copy the large script's text
        return _unknown_after(scanner, reason("source-in-large-script", name=name, limit_kb=MAX_SOURCING_SCRIPT // 1024),
                              offset)
    if scanner.depth >= MAX_DEPTH:
        return _unknown_after(scanner, reason("source-too-deep", name=name, depth=MAX_DEPTH), offset)
    if (real not in sourcing.distinct and len(sourcing.distinct) >= MAX_SOURCES) \
            or len(sourcing.combined) > MAX_SOURCING_SCRIPT + EXPANSION_BUDGET:
        return _unknown_after(scanner, reason("source-too-many", name=name, limit=MAX_SOURCES), offset)
    text = _read(name, found, sourcing)
    if text is None:
        return _unknown_after(scanner, None, offset)
    if not scanner.budget.spend(len(text) + SOURCE_COST, offset):
        return _unknown_after(scanner, reason("source-budget-spent", name=name), offset)
    sourcing.distinct.add(real)
    base = len(sourcing.combined) + 1
    sourcing.combined = f"{sourcing.combined}\n{text}"
    sourcing.files.append((base, found, text))
    positional = words[1:] if len(words) > 1 else scanner.positional   # bash: no ARGS keeps the caller's
    child = type(scanner)(sourcing.combined, base, len(sourcing.combined), scanner.vars, scanner.budget, positional,
                          scanner.depth + 1, scanner.functions, Script(), tag=scanner.tag, sourcing=sourcing,
                          top=top, sourced=True)
    sourcing.reading.append(real)
    try:
        child.run()
    finally:
        sourcing.reading.pop()
    if top and sourcing.exited_at is not None:     # the sourced file exits: so does the script
        scanner.halted = True
        scanner.script.exited_at = sourcing.exited_at


def _unknown_after(scanner, why: dict | None, offset: int) -> None:
    if why is not None:
        scanner.sourcing.skip(why)
    for variable in scanner.vars:
        scanner.vars[variable] = [Chunk("", offset, known=False)]


def _read(name: str, found: str, sourcing: Sourcing) -> str | None:
    from ..finding import SourceError
    from .files import Refused, read_input
    from .text import decode
    try:
        return decode(read_input(found, MAX_SOURCE_BYTES, what="sourced-script"), found)
    except Refused as err:
        why = [reason(err.kind, **err.facts)]
    except SourceError as err:
        why = [reason(err.problem[0], **err.problem[1])]
    except OSError as err:
        why = str(err)    # the system's own words
    sourcing.skip(reason("source-unreadable", name=name, error=why))
    return None


def locator(path: str, position, script):
    """offset -> Location: in the script itself, or in the sourced file whose text holds that offset."""
    from bisect import bisect_right

    from ..finding import Location
    from .document import _LineIndex
    bases = [base for base, _, _ in script.sources]
    indexes: dict = {}

    def locate(offset: int):
        k = bisect_right(bases, offset) - 1
        if k < 0:
            return Location(path, *position(offset))
        base, where, text = script.sources[k]
        index = indexes.get(k) or indexes.setdefault(k, _LineIndex(text))
        return Location(where, *index.position(offset - base))
    return locate

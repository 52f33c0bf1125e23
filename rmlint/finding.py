"""What rmlint reports: one finding, at one place, from one rule."""

from dataclasses import dataclass, field

SEVERITIES = ("error", "warning", "info")
# C0 (but tab), DEL and C1 controls: a file name or key holding ESC sequences must not drive the terminal
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7f, 0xa0)) if code != 0x09}
_CONTROLS_BUT_NEWLINE = {code: text for code, text in _CONTROLS.items() if code != 0x0a}


def printable(text, keep_newlines: bool = False) -> str:
    """`text` with control characters written as \\xNN escapes."""
    return str(text).translate(_CONTROLS_BUT_NEWLINE if keep_newlines else _CONTROLS)


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file: 1-based line and column."""
    path: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class Edit:
    """One replacement in the text a file was read as: `text` for [start, end). `source` is the
    Document (path and text) it edits, as the finding was made from it."""
    start: int
    end: int
    text: str
    rule: str
    safe: bool
    what: str
    source: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Finding:
    """One rule's verdict at one place, worded for the user, with the fix text and the edits that make it."""
    rule: str
    name: str
    severity: str
    message: str
    path: str
    line: int
    column: int
    fix: str | None = None
    problem: tuple = field(default=(), compare=False, repr=False)   # (kind, facts) of a reader's problem
    edits: tuple = field(default=(), compare=False, repr=False)   # the Edits that fix it, found while linting

    def sort_key(self):
        return (self.path, self.line, self.column, self.rule, self.message)


class SourceError(Exception):
    """Input rmlint cannot read: a `problem` (kind, facts) at `location`, worded by the rule whose YAML
    lists the kind (problems.unreadable)."""

    def __init__(self, location: Location, problem: tuple):
        super().__init__(problem[0])
        self.location = location
        self.problem = problem


class UsageError(Exception):
    """A mistake in how rmlint was called (exit code 2)."""

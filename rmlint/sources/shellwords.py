"""The pieces the shell reader builds: chunks of text with their source offsets, words, commands, and
the expansion budget that keeps a hostile script (variables doubling themselves) linear."""

import re
from dataclasses import dataclass, field

UNKNOWN_MARK = "\x00"      # stands for an unknown expansion inside a string re-read as a script (bash -c)
EXPANSION_BUDGET = 1_000_000   # characters (and 16 per chunk) that expansions may produce per script


@dataclass(eq=False)
class Chunk:
    text: str
    offset: int               # source offset of text[0]; text is contiguous in the source
    known: bool = True
    split: bool = False       # came from an unquoted expansion: whitespace splits it
    opaque: bool = False      # an unquoted unknown expansion
    brk: bool = False         # a break between array elements / positional parameters ("${a[@]}", "$@")
    parts: list | None = None  # pieces appended while the word is read; joined once when it ends
    length: int = -1

    def size(self) -> int:
        return self.length if self.length >= 0 else len(self.text)

    def append(self, text: str) -> None:
        if self.parts is None:
            self.parts, self.length = [self.text], len(self.text)
        self.parts.append(text)
        self.length += len(text)

    def settle(self) -> "Chunk":
        if self.parts is not None:
            self.text, self.parts, self.length = "".join(self.parts), None, -1
        return self

    def copy(self) -> "Chunk":
        return Chunk(self.text, self.offset, self.known, brk=self.brk)


@dataclass(eq=False)
class Word:
    text: str
    offset: int
    known: bool = True
    opaque: bool = False      # an unquoted unknown expansion: may stand for any number of words
    chunks: list | None = None


@dataclass(eq=False)
class Command:
    words: list
    offset: int
    outer: list = field(default_factory=list)   # words of the commands that run this one (srun ... bash -c)
    env: dict = field(default_factory=dict)     # `A=B cmd`: A -> B (text, or None when unknown)
    function: str = ""                          # the shell function whose body holds it, when read at definition


@dataclass
class Script:
    commands: list = field(default_factory=list)
    problems: list = field(default_factory=list)   # (kind, facts, offset): the script does not parse
    failures: list = field(default_factory=list)   # (kind, facts, offset): shell mistakes that break a launch
    sources: list = field(default_factory=list)    # (base offset, path, text) of each file it sources
    unread: list = field(default_factory=list)     # why a file it sources was not read
    exited_at: int | None = None                   # offset of the `exit` that ends the script (shellflow.py)
    unreachable: list = field(default_factory=list)  # the commands after it, which never run

    def problem(self, kind: str, offset: int, **facts) -> None:
        """Where the script stops parsing: a kind the unreadable-input rule's YAML words, with its facts."""
        self.problems.append((kind, facts, offset))


class Budget:
    """Characters expansions may still produce; once spent, expansions are unknown words and the
    script gets one problem."""

    def __init__(self, left: int = EXPANSION_BUDGET):
        self.left, self.spent_at = left, None

    def take(self, chunks: list, offset: int) -> bool:
        return self.spend(sum(len(c.text) + 16 for c in chunks), offset)

    def spend(self, cost: int, offset: int) -> bool:
        if cost > self.left:
            self.left = 0
            if self.spent_at is None:
                self.spent_at = offset
            return False
        self.left -= cost
        return True


def join(chunks: list) -> Word:
    text = "".join(c.text for c in chunks)
    known = all(c.known for c in chunks)
    opaque = any(c.opaque for c in chunks)
    if UNKNOWN_MARK in text:
        text, known, opaque = text.replace(UNKNOWN_MARK, ""), False, True
    return Word(text, chunks[0].offset if chunks else 0, known, opaque, list(chunks))


_FIELDS = re.compile(r"\s+|\S+")


def split(chunks: list) -> list:
    """Field splitting: whitespace inside chunks from unquoted expansions separates words, and so do
    the breaks between array elements."""
    words, current = [], []

    def flush():
        if current:
            words.append(join(current))
            current.clear()

    for chunk in chunks:
        if chunk.brk:
            flush()
            continue
        if not chunk.split or not chunk.text:
            if chunk.text or not chunk.known or not chunk.split:
                current.append(chunk)
            continue
        for match in _FIELDS.finditer(chunk.text):
            piece = match.group()
            if piece.isspace():
                flush()
            else:
                current.append(Chunk(piece, chunk.offset + match.start(), chunk.known, opaque=chunk.opaque))
    flush()
    return words


def skip_balanced(text: str, i: int, opening: str, closing: str, end: int | None = None) -> int:
    depth, n = 0, len(text) if end is None else end
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and opening == "(":
            close = text.find("'", i + 1, n)
            i = n if close < 0 else close + 1
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def skip_backquote(text: str, i: int, end: int | None = None) -> int:
    n = len(text) if end is None else end
    j = i + 1
    while j < n and text[j] != "`":
        j += 2 if text[j] == "\\" else 1
    return min(j + 1, n)


def elements(chunks: list) -> list:
    """An array value's elements (chunk lists), split at the breaks."""
    found, current = [], []
    for chunk in chunks:
        if chunk.brk:
            found.append(current)
            current = []
        else:
            current.append(chunk)
    if current:
        found.append(current)
    return found

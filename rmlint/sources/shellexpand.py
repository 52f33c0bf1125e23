"""Parameter expansion for the shell reader: `$X`, `${X}`, `${X:-default}`, `${a[@]}`, `$1`/`$@` inside a
function, each looked up in the script's variables (unknown when rmlint cannot know it) and charged to the
script's one expansion budget. A mixin of the scanner in shell.py."""

import re

from .shellforms import word_chunks
from .shellwords import Chunk, elements, skip_balanced

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ARRAY_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[([@*]|\d+)\]")
_DEFAULT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|\d+)(:?)([-=])(.*)", re.S)


class Expansions:
    def expansion(self, quoted: bool) -> list:
        """Read `$...` at self.i; return the chunks it stands for."""
        start, text = self.i, self.text
        nxt = text[start + 1] if start + 1 < self.n else ""
        if nxt == "(":
            self.i = skip_balanced(text, start + 1, "(", ")", self.n)
            if text.startswith("$((", start) and text.startswith("))", self.i - 2) and self.i - start >= 5:
                self.arithmetic(text[start + 3:self.i - 2], start)
            return [Chunk("", start, known=False)]
        if nxt == "{":
            end = skip_balanced(text, start + 1, "{", "}", self.n)
            self.i = end
            return self.braced(text[start + 2:end - 1], start, quoted)
        match = _NAME.match(text, start + 1, self.n)
        if match:
            self.i = match.end()
            return self.lookup(match.group(), start)
        if nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
            self.i = start + 2
            return self.special(nxt, start, quoted)
        self.i = start + 1
        return [Chunk("$", start)]

    def special(self, name: str, offset: int, quoted: bool) -> list:
        """$1, $@, $*, $#: known inside a function called from the script, unknown elsewhere."""
        if self.positional is None or name not in "0123456789@*#" or name == "0":
            return [Chunk("", offset, known=False)]
        if name == "#":
            return [Chunk(str(len(self.positional)), offset)]
        if name.isdigit():
            k = int(name) - 1
            return self.charged(word_chunks(self.positional[k]) if k < len(self.positional) else [], offset)
        chunks = []
        for word in self.positional:
            if chunks:
                chunks.append(Chunk(" ", word.offset) if name == "*" and quoted else Chunk("", word.offset, brk=True))
            chunks += word_chunks(word)
        return self.charged(chunks, offset)

    def braced(self, inner: str, offset: int, quoted: bool = False) -> list:
        if _NAME.fullmatch(inner):
            return self.lookup(inner, offset)
        if inner.isdigit() or inner in ("@", "*", "#"):
            return self.special(inner if not inner.isdigit() or len(inner) == 1 else "?", offset, quoted)
        array = _ARRAY_REF.fullmatch(inner)
        if array:
            return self.element(array.group(1), array.group(2), offset, quoted)
        match = _DEFAULT.fullmatch(inner)
        if not match:
            return [Chunk("", offset, known=False)]  # ${#X}, ${X%y}, ${X/a/b}: not followed
        name, colon, _, default = match.groups()
        value = self.vars.get(name) if not name.isdigit() else (
            None if self.positional is None or int(name) > len(self.positional) or name == "0"
            else word_chunks(self.positional[int(name) - 1]))
        empty = value is not None and all(c.known and not c.text for c in value)
        if value is not None and not (colon and empty):
            return self.charged(value, offset)
        if "$" in default or "`" in default:
            return [Chunk("", offset, known=False)]
        # `${GPUS:-8}`: the default is what runs unless the caller's environment says otherwise
        start = offset + 2 + len(name) + len(colon) + 1
        if len(default) >= 2 and default[0] == default[-1] and default[0] in "'\"":   # `${X:-"-m a.b"}`
            return [Chunk(default[1:-1], start + 1)]
        return [Chunk(default, start)]

    def element(self, name: str, index: str, offset: int, quoted: bool) -> list:
        value = self.vars.get(name)
        if value is None:
            return [Chunk("", offset, known=False)]
        items = elements(value)
        if index.isdigit():
            k = int(index)
            return self.charged(items[k] if k < len(items) else [], offset)
        chunks = []
        for item in items:
            if chunks:
                chunks.append(Chunk(" ", offset) if index == "*" and quoted else Chunk("", offset, brk=True))
            chunks += item
        return self.charged(chunks, offset)

    def lookup(self, name: str, offset: int) -> list:
        value = self.vars.get(name)
        if value is None:
            return [Chunk("", offset, known=False)]
        items = elements(value) if any(c.brk for c in value) else [value]   # $array is its first element
        return self.charged(items[0] if items else [], offset)

    def charged(self, value: list, offset: int) -> list:
        if not self.budget.take(value, offset):
            return [Chunk("", offset, known=False)]
        return [c.copy() for c in value]

    def put_expansion(self, chunks: list, quoted: bool):
        if quoted:
            self.begin_word(self.i)
        for chunk in chunks:
            if chunk.brk:
                self.begin_word(chunk.offset)
                self.chunks.append(chunk)
                continue
            self.add(chunk.text, chunk.offset, chunk.known, split=not quoted)
            if not quoted and not chunk.known:
                self.chunks[-1].opaque = True

    def arithmetic(self, expression: str, offset: int):
        """`$(( ... ))`: a failure bash stops at is a finding here (shellarith.py); the value stays unknown."""
        from .shellarith import WORK, check
        work = [min(WORK, self.budget.left // 16)]      # tokens read are charged to the script's budget
        start = work[0]
        failed = check(expression, self.variable_text, work)
        self.budget.spend((start - max(work[0], 0)) * 16, offset)
        if failed is not None:
            self.script.failures.append((*failed, offset))

    def variable_text(self, name: str) -> str | None:
        value = self.vars.get(name)
        if value is None or any(not c.known or c.brk for c in value):
            return None
        return "".join(c.text for c in value)

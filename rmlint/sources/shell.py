"""A small reader for the shell that launch scripts are written in.

It follows what matters for finding a training command and its arguments: quotes,
backslash-newline continuations, comments, here-documents (the OpenRLHF examples keep
their flags in `read -r -d '' cmd <<EOF ... EOF`), `VAR=value` assignments and their
`$VAR` / `${VAR}` / `${VAR:-default}` expansions with word splitting, and command
separators. Anything it cannot know (`$1`, `$(...)`, variables from the environment)
becomes an *unknown* word, so rules that need it stay quiet instead of guessing.
Every word keeps the source offset of its first character, so findings point at the
flag inside the here-document, not at the line that expanded it.
"""

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")
_OPERATOR_CHARS = ";&|()"
_RESERVED_PREFIX = {"if", "then", "elif", "else", "do", "while", "until", "!", "{", "}", "time",
                    "fi", "done", "esac", "exec", "nohup", "command", "builtin"}
_IGNORED_COMMANDS = {"for", "case", "select", "function", "[[", "[", "test", "echo", "printf", "set",
                     "source", ".", "cd", "mkdir", "rm", "cp", "mv", "unset", "shift", "return", "exit"}


@dataclass
class Chunk:
    text: str
    offset: int          # source offset of text[0]; text is contiguous in the source
    known: bool = True
    split: bool = False   # came from an unquoted expansion: whitespace splits it
    opaque: bool = False  # an unquoted unknown expansion


@dataclass
class Word:
    text: str
    offset: int
    known: bool = True
    opaque: bool = False  # an unquoted unknown expansion: may stand for any number of words


@dataclass
class Command:
    words: list
    offset: int


@dataclass
class Script:
    commands: list = field(default_factory=list)
    problems: list = field(default_factory=list)   # (message, offset)


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.n = len(text)
        self.i = 0
        self.vars: dict = {}
        self.script = Script()
        self.words: list = []
        self.chunks: list = []
        self.word_started = False
        self.word_start = 0          # source offset where the current word begins
        self.heredocs: list = []     # pending: (delimiter, quoted, strip_tabs, offset)
        self.bodies: list = []       # bodies read for the waiting command
        self.waiting = None          # (words, offset) of a command whose here-documents follow
        self.branches: list = []     # open `if` statements: (variables before it, [(variables, is else) per branch])

    # ----- words -----------------------------------------------------------------
    def begin_word(self, offset: int):
        if not self.word_started:
            self.word_started, self.word_start = True, offset

    def add(self, text: str, offset: int, known=True, split=False):
        self.begin_word(offset)
        last = self.chunks[-1] if self.chunks else None
        if (last and known and last.known and not split and not last.split
                and last.offset + len(last.text) == offset):
            last.text += text
        else:
            self.chunks.append(Chunk(text, offset, known, split))

    def end_word(self):
        if not self.word_started:
            return
        chunks, self.chunks, self.word_started = self.chunks, [], False
        # a word written here starts where it is written (its opening quote); one spread from an
        # unquoted variable keeps the place its words were written (inside a here-document)
        start = self.word_start if chunks and not chunks[0].split else None
        head = chunks[0].text if chunks else ""
        in_assignment_position = all(_ASSIGNMENT.match(w.text) for w in self.words)
        if in_assignment_position and _ASSIGNMENT.match(head) and not chunks[0].split:
            self.words.append(_join(chunks))
            self.words[-1].assignment_chunks = chunks
            return
        split = _split(chunks)
        if split and start is not None:
            split[0].offset = start
        self.words.extend(split)

    # ----- commands --------------------------------------------------------------
    def finish(self, words, bodies, offset):
        while words and words[0].text in _RESERVED_PREFIX and words[0].known:
            self.branch(words[0].text)
            words = words[1:]
        assignments = []
        while words and hasattr(words[0], "assignment_chunks"):
            assignments.append(words.pop(0))
        if not words:
            for word in assignments:
                self.assign(word)
            return
        name = words[0].text
        if name in ("export", "declare", "local", "readonly", "typeset"):
            for word in words[1:]:
                if _ASSIGNMENT.match(word.text):
                    self.assign(word)
            return
        if name == "read" and bodies:
            target = words[-1].text
            if _NAME.fullmatch(target):
                self.vars[target] = bodies[-1]
            return
        if name in _IGNORED_COMMANDS:
            return
        self.script.commands.append(Command(words, words[0].offset))

    def branch(self, keyword: str):
        """`if`/`elif`/`else`/`fi`: each branch starts from the variables before the `if`; after `fi` a
        variable the branches leave with different values is unknown (which branch runs is not known)."""
        if keyword == "if":
            self.branches.append((dict(self.vars), []))
        elif keyword in ("elif", "else", "fi") and self.branches:
            saved, ended = self.branches[-1]
            ended.append((dict(self.vars), keyword == "else"))
            self.vars = dict(saved)
            if keyword != "fi":
                return
            self.branches.pop()
            outcomes = [state for state, _ in ended] + ([] if any(final for _, final in ended) else [saved])
            for name in {n for state in outcomes for n in state}:
                values = [[(c.text, c.known) for c in state[name]] if name in state else None for state in outcomes]
                if all(v == values[0] for v in values):
                    if values[0] is not None:
                        self.vars[name] = outcomes[0][name]
                else:
                    self.vars[name] = [Chunk("", 0, known=False)]

    def assign(self, word: Word):
        # words after `export`/`declare` may have been read as plain words (e.g. `export A=$B C=1` after a
        # quote): the word itself then stands for its chunks
        pieces = getattr(word, "assignment_chunks", None) or [word]
        chunks = [Chunk(c.text, c.offset, c.known) for c in pieces]
        match = _ASSIGNMENT.match(chunks[0].text)
        cut = match.end()
        chunks[0] = Chunk(chunks[0].text[cut:], chunks[0].offset + cut, chunks[0].known)
        self.vars[match.group(1)] = [c for c in chunks if c.text or not c.known]

    # ----- expansions ------------------------------------------------------------
    def expansion(self, quoted: bool) -> list:
        """Read `$...` at self.i; return the chunks it stands for."""
        start = self.i
        text = self.text
        nxt = text[start + 1] if start + 1 < self.n else ""
        if nxt == "(":
            self.i = _skip_balanced(text, start + 1, "(", ")")
            return [Chunk("", start, known=False)]
        if nxt == "{":
            end = _skip_balanced(text, start + 1, "{", "}")
            self.i = end
            return self.braced(text[start + 2:end - 1], start)
        match = _NAME.match(text, start + 1)
        if match:
            self.i = match.end()
            return self.lookup(match.group(), start)
        if nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
            self.i = start + 2
            return [Chunk("", start, known=False)]
        self.i = start + 1
        return [Chunk("$", start)]

    def braced(self, inner: str, offset: int) -> list:
        if _NAME.fullmatch(inner):
            return self.lookup(inner, offset)
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(:?)([-=])(.*)", inner, re.S)
        if not match:
            return [Chunk("", offset, known=False)]  # ${#X}, ${X%y}, ${X/a/b}, ${1}: not followed
        name, colon, _, default = match.groups()
        value = self.vars.get(name)
        empty = value is not None and all(c.known and not c.text for c in value)
        if value is not None and not (colon and empty):
            return [Chunk(c.text, c.offset, c.known) for c in value]
        if "$" in default or "`" in default:
            return [Chunk("", offset, known=False)]
        # `${GPUS:-8}`: the default is what runs unless the caller's environment says otherwise
        start = offset + 2 + len(name) + len(colon) + 1
        if len(default) >= 2 and default[0] == default[-1] and default[0] in "'\"":   # `${X:-"-m a.b"}`
            return [Chunk(default[1:-1], start + 1)]
        return [Chunk(default, start)]

    def lookup(self, name: str, offset: int) -> list:
        value = self.vars.get(name)
        if value is None:
            return [Chunk("", offset, known=False)]
        return [Chunk(c.text, c.offset, c.known) for c in value]

    def put_expansion(self, chunks: list, quoted: bool):
        if quoted:
            self.begin_word(self.i)
        for chunk in chunks:
            self.add(chunk.text, chunk.offset, chunk.known, split=not quoted)
            if not quoted and not chunk.known:
                self.chunks[-1].opaque = True

    # ----- here-documents --------------------------------------------------------
    def heredoc_operator(self):
        text, i = self.text, self.i + 2
        strip_tabs = i < self.n and text[i] == "-"
        if strip_tabs:
            i += 1
        while i < self.n and text[i] in " \t":
            i += 1
        start = i
        while i < self.n and text[i] not in " \t\n;&|<>()":
            i += 1
        raw = text[start:i]
        quoted = any(q in raw for q in "'\"\\")
        delimiter = raw.replace("'", "").replace('"', "").replace("\\", "")
        self.heredocs.append((delimiter, quoted, strip_tabs, self.i))
        self.i = i

    def read_heredocs(self):
        for delimiter, quoted, strip_tabs, where in self.heredocs:
            body_start = self.i
            while True:
                end = self.text.find("\n", self.i)
                line_end = self.n if end < 0 else end
                line = self.text[self.i:line_end]
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    body_end, self.i = self.i, min(line_end + 1, self.n)
                    break
                if end < 0:
                    self.script.problems.append(
                        (f"here-document at this line is not terminated (wanted `{delimiter}`)", where))
                    body_end = self.i = self.n
                    break
                self.i = end + 1
            self.bodies.append(self.heredoc_body(body_start, body_end, quoted))
        self.heredocs = []

    def heredoc_body(self, start: int, end: int, quoted: bool) -> list:
        if quoted:
            return [Chunk(self.text[start:end], start)]
        chunks, i, text = [], start, self.text
        saved = self.i
        while i < end:
            c = text[i]
            if c == "\\" and i + 1 < end and text[i + 1] == "\n":
                i += 2
            elif c == "\\" and i + 1 < end and text[i + 1] in "$`\\":
                chunks.append(Chunk(text[i + 1], i + 1))
                i += 2
            elif c == "$":
                self.i = i
                chunks.extend(self.expansion(quoted=True))
                i = self.i
            elif c == "`":
                i = _skip_backquote(text, i)
                chunks.append(Chunk("", i, known=False))
            else:
                j = i
                while j < end and text[j] not in "\\$`":
                    j += 1
                chunks.append(Chunk(text[i:j], i))
                i = j
        self.i = saved
        return chunks

    # ----- main loop ---------------------------------------------------------------
    def run(self) -> Script:
        text = self.text
        while self.i < self.n:
            c = text[self.i]
            if c == "\n":
                self.end_command(self.i)
                self.i += 1
                if self.heredocs:
                    self.read_heredocs_for_last()
            elif c in " \t\r":
                self.end_word()
                self.i += 1
            elif c == "\\":
                if self.i + 1 < self.n and text[self.i + 1] == "\n":
                    self.i += 2
                elif self.i + 1 < self.n:
                    self.add(text[self.i + 1], self.i + 1)
                    self.i += 2
                else:
                    self.i += 1
            elif c == "#" and not self.word_started:
                end = text.find("\n", self.i)
                self.i = self.n if end < 0 else end
            elif c == "'":
                end = text.find("'", self.i + 1)
                if end < 0:
                    self.script.problems.append(("unterminated single quote", self.i))
                    end = self.n
                self.begin_word(self.i)
                if end > self.i + 1:
                    self.add(text[self.i + 1:end], self.i + 1)
                self.i = end + 1
            elif c == '"':
                self.double_quoted()
            elif c == "$":
                self.put_expansion(self.expansion(quoted=False), False)
            elif c == "`":
                self.i = _skip_backquote(text, self.i)
                self.add("", self.i, known=False)
                self.chunks[-1].opaque = True
            elif c == "<" and text.startswith("<<", self.i) and not text.startswith("<<<", self.i):
                self.end_word()
                self.heredoc_operator()
            elif c in "<>":
                self.redirection()
            elif c in _OPERATOR_CHARS:
                self.end_command(self.i)
                self.i += 1
            else:
                j = self.i
                while j < self.n and text[j] not in " \t\r\n\\#'\"$`<>;&|()":
                    j += 1
                if j == self.i:  # a '#' inside a word
                    j += 1
                self.add(text[self.i:j], self.i)
                self.i = j
        self.end_command(self.n)
        if self.heredocs:
            self.read_heredocs_for_last()
        return self.script

    def read_heredocs_for_last(self):
        """Bodies follow the line that opened them; attach them to that line's command."""
        self.read_heredocs()
        bodies, self.bodies = self.bodies, []
        if self.waiting is not None:
            words, offset = self.waiting
            self.waiting = None
            self.finish(words, bodies, offset)

    def end_command(self, offset: int):
        """A command whose line opened here-documents waits for their bodies."""
        self.end_word()
        words, self.words = self.words, []
        if not words:
            return
        if self.heredocs:
            self.waiting = (words, offset)
            return
        self.finish(words, [], offset)

    def double_quoted(self):
        text = self.text
        self.begin_word(self.i)
        i = self.i + 1
        while i < self.n and text[i] != '"':
            c = text[i]
            if c == "\\" and i + 1 < self.n and text[i + 1] in '$`"\\\n':
                if text[i + 1] != "\n":
                    self.add(text[i + 1], i + 1)
                i += 2
            elif c == "$":
                self.i = i
                self.put_expansion(self.expansion(quoted=True), True)
                i = self.i
            elif c == "`":
                i = _skip_backquote(text, i)
                self.add("", i, known=False)
            else:   # literal text; a backslash before anything else is itself literal
                j = i + 1
                while j < self.n and text[j] not in '"\\$`':
                    j += 1
                self.add(text[i:j], i)
                i = j
        if i >= self.n:
            self.script.problems.append(("unterminated double quote", self.i))
        self.i = i + 1

    def redirection(self):
        self.end_word_dropping_fd()
        text = self.text
        while self.i < self.n and text[self.i] in "<>&|":
            self.i += 1
        while self.i < self.n and text[self.i] in " \t":
            self.i += 1
        saved_words = self.words
        self.words = []
        while self.i < self.n and text[self.i] not in " \t\n;&|()<>":  # the target word
            if text[self.i] in "'\"":
                quote = text[self.i]
                end = text.find(quote, self.i + 1)
                self.i = self.n if end < 0 else end + 1
            else:
                self.i += 1
        self.words = saved_words

    def end_word_dropping_fd(self):
        if self.chunks and len(self.chunks) == 1 and self.chunks[0].text.isdigit():
            self.chunks, self.word_started = [], False
        self.end_word()


def _join(chunks) -> Word:
    text = "".join(c.text for c in chunks)
    known = all(c.known for c in chunks)
    return Word(text, chunks[0].offset if chunks else 0, known, any(c.opaque for c in chunks))


def _split(chunks) -> list:
    """Field splitting: whitespace inside chunks from unquoted expansions separates words."""
    words, current = [], []

    def flush():
        if current:
            words.append(_join(current))
            current.clear()

    for chunk in chunks:
        if not chunk.split or not chunk.text:
            if chunk.text or not chunk.known or not chunk.split:
                current.append(chunk)
            continue
        for match in re.finditer(r"\s+|\S+", chunk.text):
            piece = match.group()
            if piece.isspace():
                flush()
            else:
                current.append(Chunk(piece, chunk.offset + match.start(), chunk.known, opaque=chunk.opaque))
    flush()
    return words


def _skip_balanced(text: str, i: int, opening: str, closing: str) -> int:
    depth, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and opening == "(":
            end = text.find("'", i + 1)
            i = n if end < 0 else end + 1
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _skip_backquote(text: str, i: int) -> int:
    j = i + 1
    while j < len(text) and text[j] != "`":
        j += 2 if text[j] == "\\" else 1
    return min(j + 1, len(text))


def parse(text: str) -> Script:
    return _Scanner(text).run()

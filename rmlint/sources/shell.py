"""A small reader for the shell that launch scripts are written in.

It follows what matters for finding a training command and its arguments: quotes,
backslash-newline continuations, comments, here-documents (the OpenRLHF examples keep
their flags in `read -r -d '' cmd <<EOF ... EOF`), `VAR=value` assignments, arrays
(`args=(...)`, `"${args[@]}"`) and their expansions with word splitting, command separators,
`bash -c "..."` / `eval` strings (read again as scripts) and shell functions (read again, with
their arguments, where they are called). Anything it cannot know (`$1` outside a function,
`$(...)`, variables from the environment) becomes an *unknown* word, so rules that need it stay
quiet instead of guessing. Every word keeps the source offset of its first character, so findings
point at the flag inside the here-document, not at the line that expanded it.

Reading is linear: words are built from lists of pieces joined once, and everything that expands
(variables, function bodies, `bash -c` strings) spends one budget per script.
"""

import re

from .shellfail import PLACEHOLDER, placeholder_message, redirect_target
from .shellsource import MAX_SOURCING_SCRIPT, Sourcing, follow
from .shellforms import MAX_DEPTH, ShellForms, shell_string, word_chunks
from .shellwords import Budget, Chunk, Command, Script, Word, elements, join, skip_backquote, skip_balanced, split

__all__ = ["Command", "Script", "Word", "parse"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=")
_ARRAY_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\[([@*]|\d+)\]")
_DEFAULT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|\d+)(:?)([-=])(.*)", re.S)
_OPERATOR_CHARS = ";&|()"
_PLAIN = re.compile(r"[^ \t\r\n\\'\"$`<>;&|(){}]+")
_RESERVED_PREFIX = {"if", "then", "elif", "else", "do", "while", "until", "!", "{", "}", "time",
                    "fi", "done", "esac", "exec", "nohup", "command", "builtin"}
_IGNORED_COMMANDS = {"for", "case", "select", "function", "[[", "[", "test", "echo", "printf", "set",
                     "source", ".", "cd", "mkdir", "rm", "cp", "mv", "unset", "shift", "return", "exit"}


class _Scanner(ShellForms):
    def __init__(self, text: str, start: int = 0, end: int | None = None, variables=None, budget=None,
                 positional=None, depth: int = 0, functions=None, script=None, tag: str = "", sourcing=None):
        self.text, self.i, self.n = text, start, len(text) if end is None else end
        self.sourcing = sourcing          # shellsource.Sourcing: `source FILE` is followed; None: ignored
        self.vars = {} if variables is None else variables
        self.budget = budget or Budget()
        self.positional = positional      # the words a function was called with; None outside functions
        self.depth, self.tag = depth, tag
        self.functions = {} if functions is None else functions   # name -> (body start, body end, text)
        self.called: set = set()
        self.script = script if script is not None else Script()
        self.words: list = []
        self.chunks: list = []
        self.word_started = False
        self.word_start = 0
        self.assignments_only = True   # every word of the command so far is an assignment
        self.heredocs: list = []       # pending: (delimiter, quoted, strip_tabs, offset)
        self.bodies: list = []
        self.waiting = None
        self.array = None              # (name, append, offset) while `name=( ... )` is read
        self.array_words: list = []
        self.pending_function = ""     # `name()` read; its `{` comes next
        self.braces = 0                # `{ ...; }` groups open inside a function body
        self.branches: list = []       # open `if` statements: (variables before it, [(variables, is else) per branch])

    # ----- words -----------------------------------------------------------------
    def begin_word(self, offset: int):
        if not self.word_started:
            self.word_started, self.word_start = True, offset

    def add(self, text: str, offset: int, known=True, split=False):
        self.begin_word(offset)
        last = self.chunks[-1] if self.chunks else None
        if (last and known and last.known and not split and not last.split and not last.brk
                and last.offset + last.size() == offset):
            last.append(text)
        else:
            self.chunks.append(Chunk(text, offset, known, split))

    def end_word(self):
        if not self.word_started:
            return
        chunks, self.chunks, self.word_started = [c.settle() for c in self.chunks], [], False
        start = self.word_start if chunks and not chunks[0].split else None
        head = chunks[0].text if chunks else ""
        if self.assignments_only and _ASSIGNMENT.match(head) and not chunks[0].split and self.array is None:
            word = join(chunks)
            word.assignment_chunks = chunks
            self.words.append(word)
            return
        pieces = split(chunks)
        if pieces and start is not None:
            pieces[0].offset = start
        if self.array is not None:
            self.array_words.extend(pieces)
            return
        self.assignments_only = self.assignments_only and not pieces
        self.words.extend(pieces)

    # ----- commands --------------------------------------------------------------
    def finish(self, words, bodies, offset):
        start = 0
        while start < len(words) and words[start].text in _RESERVED_PREFIX and words[start].known:
            self.branch(words[start].text, words[start].offset)
            start += 1
        env, assignments = {}, []
        while start < len(words) and hasattr(words[start], "assignment_chunks"):
            assignments.append(words[start])
            start += 1
        words = words[start:]
        if not words:
            for word in assignments:
                self.assign(word)
            return
        for word in assignments:
            name, _, value = word.text.partition("=")
            env[name.rstrip("+")] = value if word.known else None
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
        if name in ("source", ".") and self.sourcing is not None:
            follow(self, words[1:], words[0].offset)
            return
        if name in _IGNORED_COMMANDS:
            return
        if words[0].known and name in self.functions and self.depth < MAX_DEPTH:
            self.call(name, words[1:])
            return
        inner = shell_string(words)
        if inner is not None and self.depth < MAX_DEPTH:
            k, pieces = inner
            self.reread(pieces, words[:k], env)
            return
        self.script.commands.append(Command(words, words[0].offset, env=env, function=self.tag))

    def assign(self, word: Word):
        pieces = getattr(word, "assignment_chunks", None) or [Chunk(word.text, word.offset, word.known)]
        chunks = [c.copy() for c in pieces]
        match = _ASSIGNMENT.match(chunks[0].text)
        cut = match.end()
        chunks[0] = Chunk(chunks[0].text[cut:], chunks[0].offset + cut, chunks[0].known)
        value = [c for c in chunks if c.text or not c.known or c.brk]
        name = match.group(1)
        if match.group(2) and name in self.vars:
            value = self.vars[name] + value
        self.vars[name] = value

    # ----- expansions ------------------------------------------------------------
    def expansion(self, quoted: bool) -> list:
        """Read `$...` at self.i; return the chunks it stands for."""
        start, text = self.i, self.text
        nxt = text[start + 1] if start + 1 < self.n else ""
        if nxt == "(":
            self.i = skip_balanced(text, start + 1, "(", ")", self.n)
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
                end = self.text.find("\n", self.i, self.n)
                line_end = self.n if end < 0 else end
                line = self.text[self.i:line_end].rstrip("\r")
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
                i = skip_backquote(text, i, end)
                chunks.append(Chunk("", i, known=False))
            else:
                j = i
                while j < end and text[j] not in "\\$`":
                    j += 1
                chunks.append(Chunk(text[i:j] if j > i else text[i], i))
                i = max(j, i + 1)
        self.i = saved
        return chunks

    # ----- main loop ---------------------------------------------------------------
    def run(self) -> Script:
        text = self.text
        while self.i < self.n:
            c = text[self.i]
            if c == "\n":
                if self.array is not None or self.pending_function:
                    self.end_word()
                else:
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
                elif self.i + 2 < self.n and text[self.i + 1] == "\r" and text[self.i + 2] == "\n":
                    self.i += 3     # read as a continuation; the CRLF itself is reported once
                elif self.i + 1 < self.n:
                    self.add(text[self.i + 1], self.i + 1)
                    self.i += 2
                else:
                    self.i += 1
            elif c == "#" and not self.word_started:
                end = text.find("\n", self.i, self.n)
                self.i = self.n if end < 0 else end
            elif c == "'":
                end = text.find("'", self.i + 1, self.n)
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
                self.i = skip_backquote(text, self.i, self.n)
                self.add("", self.i, known=False)
                self.chunks[-1].opaque = True
            elif c == "<" and text.startswith("<<", self.i) and not text.startswith("<<<", self.i):
                self.end_word()
                self.heredoc_operator()
            elif c in "<>":
                self.redirection()
            elif c == "(" and self.open_paren():
                pass
            elif c == ")" and self.array is not None:
                self.close_array()
            elif c in _OPERATOR_CHARS:
                self.end_command(self.i)
                self.i += 1
            elif c in "{}" and self.brace():
                if c == "}" and self.braces < 0:
                    return self.script
            else:   # a '#' inside a word is part of it
                match = _PLAIN.match(text, self.i, self.n)
                j = match.end() if match else self.i + 1
                self.add(text[self.i:j], self.i)
                self.i = j
        self.end_command(self.n)
        if self.heredocs:
            self.read_heredocs_for_last()
        if self.depth == 0:
            self.finish_script()
        return self.script

    def finish_script(self):
        if self.called:     # a function's body counts where it is called, with its arguments
            self.script.commands = [c for c in self.script.commands if c.function not in self.called]
        if self.budget.spent_at is not None:
            self.script.problems.append(("expansions in this script produce more text than rmlint follows "
                                         "(a variable built from copies of itself?); the rest is not read",
                                         self.budget.spent_at))

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
        words, self.words, self.assignments_only = self.words, [], True
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
                i = skip_backquote(text, i, self.n)
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
        placeholder = PLACEHOLDER.match(self.text, self.i, self.n) if self.text[self.i] == "<" else None
        if placeholder:     # `--model <model name>`: a value to fill in, which bash reads as redirections
            line_end = self.text.find("\n", placeholder.end(), self.n)
            rest = self.text[placeholder.end():self.n if line_end < 0 else line_end]
            message = placeholder_message(placeholder.group(), line_ends=not rest.strip(" \t\r"))
            self.script.failures.append(("placeholder", {"message": message}, self.i))
            self.add("", self.i, known=False)
            self.i = placeholder.end()
            return
        if len(self.chunks) == 1 and self.chunks[0].known and self.chunks[0].settle().text.isdigit():
            self.chunks, self.word_started = [], False     # `2>&1`: the descriptor is no word
        self.end_word()
        self.i, placeholder = redirect_target(self.text, self.i, self.n)
        if placeholder is not None:
            self.script.failures.append(("placeholder", {"message": placeholder_message(placeholder.group(), True)},
                                         placeholder.start()))


def parse(text: str, path: str | None = None) -> Script:
    """The script's commands; with `path`, files it sources (`source ./x.sh args`) are read from beside
    it (or the working directory) and what they define flows back (shellsource.py)."""
    sourcing = Sourcing(path, text) if path is not None and len(text) <= MAX_SOURCING_SCRIPT else None
    script = _Scanner(text, sourcing=sourcing).run()
    if sourcing is not None:
        script.sources, script.unread = sourcing.files, sourcing.reasons()
    from .shellfail import failures
    script.failures = failures(text, script) + script.failures
    return script

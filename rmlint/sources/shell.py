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

from .shellexpand import Expansions
from .shellflow import ControlFlow
from .shellforms import MAX_DEPTH, ShellForms, shell_string
from .shellredirect import Redirections
from .shellsource import Sourcing, follow
from .shellwords import Budget, Chunk, Command, Script, Word, join, skip_backquote, split

__all__ = ["Command", "Script", "Word", "parse"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=")
_OPERATOR_CHARS = ";&|()"
_PLAIN = re.compile(r"[^ \t\r\n\\'\"$`<>;&|(){}]+")
_RESERVED_PREFIX = {"if", "then", "elif", "else", "do", "while", "until", "!", "{", "}", "time",
                    "fi", "done", "esac", "exec", "nohup", "command", "builtin"}
_IGNORED_COMMANDS = {"for", "case", "select", "function", "[[", "[", "test", "echo", "printf", "set",
                     "source", ".", "cd", "mkdir", "rm", "cp", "mv", "unset", "shift", "return", "exit"}


class _Scanner(ShellForms, Expansions, Redirections, ControlFlow):
    def __init__(self, text: str, start: int = 0, end: int | None = None, variables=None, budget=None,
                 positional=None, depth: int = 0, functions=None, script=None, tag: str = "", sourcing=None,
                 top: bool = False, sourced: bool = False):
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
        self.top, self.sourced = top, sourced   # an `exit` here ends the script; a `return` ends this sourced file
        self.nest = self.parens = 0    # compound commands and subshells open around the command
        self.linked = False            # the command follows `&&`, `||` or `|`
        self.halted = False            # an `exit` or `return` ended the reading
        self.in_test = False           # inside `[[ ... ]]`: `&&`, `||`, `<`, `>`, `(`, `)` are the test's own

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
        raw = self.text[self.word_start:self.i]
        if raw == ("]]" if self.in_test else "[["):
            self.in_test = not self.in_test
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
            self.open_close(words[start].text)
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
            follow(self, words[1:], words[0].offset, top=self.top and self.unconditional(offset))
            return
        if name in ("exit", "return") and self.stops(name, offset, words[0].offset):
            return
        if name in _IGNORED_COMMANDS:
            self.open_close(name)
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

    # ----- main loop ---------------------------------------------------------------
    def run(self) -> Script:
        text = self.text
        while self.i < self.n and not self.halted:
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
                    self.script.problem("unterminated-quote", self.i, quote="single")
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
            elif self.in_test and c in "<>&|()":
                self.add(c, self.i)
                self.i += 1
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
                self.i += self.operator(text, self.i)
            elif c in "{}" and self.brace():
                if c == "}" and self.braces < 0:
                    return self.script
            else:   # a '#' inside a word is part of it
                match = _PLAIN.match(text, self.i, self.n)
                j = match.end() if match else self.i + 1
                self.add(text[self.i:j], self.i)
                self.i = j
        if not self.halted:
            self.end_command(self.n)
        if self.heredocs:
            self.read_heredocs_for_last()
        if self.halted and self.top and self.depth == 0:
            self.unreachable()
        if self.depth == 0:
            self.finish_script()
        return self.script

    def finish_script(self):
        if self.called:     # a function's body counts where it is called, with its arguments
            self.script.commands = [c for c in self.script.commands if c.function not in self.called]
        if self.budget.spent_at is not None:
            self.script.problem("expansion-budget-spent", self.budget.spent_at)

    def end_command(self, offset: int):
        """A command whose line opened here-documents waits for their bodies."""
        self.end_word()
        self.in_test = False
        words, self.words, self.assignments_only = self.words, [], True
        if not words:
            return
        if self.heredocs:
            self.waiting = (words, offset)
            return
        self.finish(words, [], offset)
        self.linked = False

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
            self.script.problem("unterminated-quote", self.i, quote="double")
        self.i = i + 1


def parse(text: str, path: str | None = None) -> Script:
    """The script's commands; with `path`, files it sources (`source ./x.sh args`) are read from beside
    it (or the working directory) and what they define flows back (shellsource.py)."""
    sourcing = Sourcing(path, text) if path is not None else None     # a larger script's `source`s: shellsource.py
    script = _Scanner(text, sourcing=sourcing, top=True).run()
    if sourcing is not None:
        script.sources, script.unread = sourcing.files, sourcing.reasons()
    from .shellfail import failures
    found = failures(text, script) + script.failures
    script.failures = list({(kind, offset): (kind, facts, offset) for kind, facts, offset in found}.values())
    return script

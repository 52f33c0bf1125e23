"""The shell forms around a launch that the reader follows beyond plain words: `if` branches (variables
after `fi`), arrays (`a=(...)`), functions (defined, then read again where they are called, with their
arguments), and strings read again as scripts (`bash -c "..."`, `eval ...`, `sbatch --wrap "..."`).
A mixin of the scanner in shell.py; every re-read spends the script's one budget."""

import re
from bisect import bisect_right
from collections import ChainMap

from .shellwords import UNKNOWN_MARK, Chunk, Word

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=")
SHELLS = {"bash", "sh", "zsh", "dash", "ksh"}
MAX_DEPTH = 6      # bash -c inside bash -c inside a function ...
CALL_COST = 2000   # budget a function call or a re-read string costs besides its text (at most ~500 per script)


class ShellForms:
    def branch(self, keyword: str, offset: int):
        """`if`/`elif`/`else`/`fi`: each branch starts from the variables before the `if`; after `fi` a
        variable the branches leave with different values is unknown (which branch runs is not known).
        Each copy of the variables spends budget, so a script of many `if`s stays linear."""
        if keyword == "if":
            if self.budget.spend(len(self.vars) * 16 + 16, offset):
                self.branches.append((dict(self.vars), []))
        elif keyword in ("elif", "else", "fi") and self.branches:
            saved, ended = self.branches[-1]
            if not self.budget.spend(len(self.vars) * 16 + 16, offset):
                self.branches.clear()
                return
            ended.append((dict(self.vars), keyword == "else"))
            self.replace_vars(dict(saved))
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

    def replace_vars(self, values: dict):
        """Keep the same mapping object (a function's body shares it with its caller)."""
        if isinstance(self.vars, ChainMap):
            self.vars.maps[0].clear()
            self.vars.maps[0].update(values)
        else:
            self.vars.clear()
            self.vars.update(values)

    def call(self, name: str, arguments: list):
        """A function called here: its body read again with these arguments as $1, $2, ..."""
        start, end, text = self.functions[name]
        if not self.budget.spend(end - start + CALL_COST, start):
            return
        self.called.add(name)
        child = type(self)(text, start, end, self.vars, self.budget, arguments, self.depth + 1,
                         self.functions, self.script, tag=self.tag, sourcing=self.sourcing)
        child.run()
        self.called |= child.called

    def reread(self, pieces: list, outer: list, env: dict):
        """`bash -c STRING` / `eval WORDS`: the string is a script of its own; its commands keep the
        words that ran them (srun ... bash -c) and point back into this file."""
        text_parts, marks, position = [], [], 0
        for chunk in pieces:
            text = chunk.text if chunk.known else UNKNOWN_MARK + chunk.text
            marks.append((position, chunk.offset, len(text)))
            text_parts.append(text)
            position += len(text)
        text = "".join(text_parts)
        if not self.budget.spend(len(text) + CALL_COST, outer[0].offset if outer else 0):
            return
        child = type(self)(text, variables=ChainMap({}, self.vars), budget=self.budget, depth=self.depth + 1)
        script = child.run()
        starts = [m[0] for m in marks]

        def where(offset: int) -> int:
            k = bisect_right(starts, offset) - 1
            if k < 0:
                return marks[0][1] if marks else 0
            begin, source, length = marks[k]
            return source + min(offset - begin, max(length - 1, 0))

        for command in script.commands:
            for word in command.words:
                word.offset = where(word.offset)
            command.offset = where(command.offset)
            command.outer = outer + command.outer
            command.env = {**env, **command.env}
            command.function = command.function or self.tag
            self.script.commands.append(command)
        self.script.problems += [(kind, facts, where(at)) for kind, facts, at in script.problems]
        self.script.failures += [(kind, facts, where(at)) for kind, facts, at in script.failures]

    def open_paren(self) -> bool:
        """`name=(` opens an array; `name()` defines a function. Anything else is an operator."""
        chunks = self.chunks
        if self.word_started and len(chunks) == 1 and chunks[0].known and self.assignments_only and self.array is None:
            head = chunks[0].settle().text
            match = _ASSIGNMENT.fullmatch(head)
            if match:
                self.array, self.array_words = (match.group(1), bool(match.group(2)), chunks[0].offset), []
                self.chunks, self.word_started = [], False
                self.i += 1
                return True
            close = re.compile(r"\(\s*\)").match(self.text, self.i, self.n)
            if _NAME.fullmatch(head) and not self.words and close:
                self.pending_function = head
                self.chunks, self.word_started = [], False
                self.i = close.end()
                return True
        return False

    def close_array(self):
        self.end_word()
        name, append, offset = self.array
        value = []
        for word in self.array_words:
            value += word_chunks(word) + [Chunk("", word.offset, brk=True)]
        if append and name in self.vars:
            value = self.vars[name] + value
        if self.budget.take(value, offset):
            self.vars[name] = value
        self.array, self.array_words = None, []
        self.i += 1

    def brace(self) -> bool:
        """`{` / `}` as words at the start of a command: a function body or a group."""
        text, i = self.text, self.i
        if self.word_started or (i + 1 < self.n and text[i + 1] not in " \t\r\n;"):
            return False
        if text[i] == "{":
            named = [w.text for w in self.words]
            name = self.pending_function or (named[1] if len(named) == 2 and named[0] == "function" else "")
            if name and _NAME.fullmatch(name):
                self.define(name, i + 1)
                return True
            if self.words:
                return False
            self.braces += 1
            self.i += 1
            return True
        if self.words:
            return False
        self.braces -= 1
        self.i += 1
        if self.braces < 0 and self.tag:
            self.end_command(i)
        else:
            self.braces = max(self.braces, 0)
        return True

    def define(self, name: str, body: int):
        """`name() { ... }`: read the body once now (its commands count if it is never called) and
        keep where it is, to read it again at each call."""
        self.words, self.pending_function, self.assignments_only = [], "", True
        child = type(self)(self.text, body, self.n, ChainMap({}, self.vars), self.budget, None, self.depth + 1,
                         self.functions, self.script, tag=name, sourcing=self.sourcing)
        child.run()
        self.functions[name] = (body, max(child.i - 1, body), self.text)
        self.i = child.i


def word_chunks(word: Word) -> list:
    return list(word.chunks) if word.chunks else [Chunk(word.text, word.offset, word.known)]


def shell_string(words: list):
    """(index of the shell word, the chunks to read as a script) for `... bash [-l] -c STRING` and
    `eval WORDS`; None for anything else."""
    first = words[0]
    if first.known and first.text == "eval" and len(words) > 1:
        chunks = []
        for word in words[1:]:
            chunks += word_chunks(word) + [Chunk(" ", word.offset)]
        return 0, chunks
    for k, word in enumerate(words[:40]):
        if word.known and word.text.rsplit("/", 1)[-1] == "sbatch":
            return _wrapped(words, k)
        if not word.known or word.text.rsplit("/", 1)[-1] not in SHELLS:
            continue
        j = k + 1
        while j < len(words) and words[j].known and words[j].text.startswith("-") and len(words[j].text) > 1:
            option = words[j].text
            if not option.startswith("--") and "c" in option[1:]:
                return (k, word_chunks(words[j + 1])) if j + 1 < len(words) else None
            j += 1
        return None
    return None


def _wrapped(words: list, k: int):
    """`sbatch ... --wrap "cmd"` / `--wrap=cmd`: slurm runs the string with sh."""
    for j in range(k + 1, len(words)):
        text = words[j].text
        if text == "--wrap" and j + 1 < len(words):
            return k, word_chunks(words[j + 1])
        if text.startswith("--wrap="):
            chunks, cut = [], len("--wrap=")
            for chunk in word_chunks(words[j]):
                taken = min(cut, len(chunk.text))
                cut -= taken
                if taken < len(chunk.text) or not chunk.known:
                    chunks.append(Chunk(chunk.text[taken:], chunk.offset + taken, chunk.known))
            return k, chunks
    return None

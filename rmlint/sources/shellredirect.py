"""Redirections for the shell reader: here-documents (`<<EOF`, `<<-EOF`, quoted or not; their bodies
follow the line that opened them and belong to its command) and `<`/`>` with their target words, where a
`<placeholder>` left in a command is reported. A mixin of the scanner in shell.py."""

from .shellfail import PLACEHOLDER, placeholder_facts, redirect_target
from .shellwords import Chunk, skip_backquote


class Redirections:
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
                    self.script.problem("heredoc-not-terminated", where, delimiter=delimiter)
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

    def read_heredocs_for_last(self):
        """Bodies follow the line that opened them; attach them to that line's command."""
        self.read_heredocs()
        bodies, self.bodies = self.bodies, []
        if self.waiting is not None:
            words, offset = self.waiting
            self.waiting = None
            self.finish(words, bodies, offset)

    def redirection(self):
        placeholder = PLACEHOLDER.match(self.text, self.i, self.n) if self.text[self.i] == "<" else None
        if placeholder:     # `--model <model name>`: a value to fill in, which bash reads as redirections
            line_end = self.text.find("\n", placeholder.end(), self.n)
            rest = self.text[placeholder.end():self.n if line_end < 0 else line_end]
            facts = placeholder_facts(placeholder.group(), line_ends=not rest.strip(" \t\r"))
            self.script.failures.append(("placeholder", facts, self.i))
            self.add("", self.i, known=False)
            self.i = placeholder.end()
            return
        if len(self.chunks) == 1 and self.chunks[0].known and self.chunks[0].settle().text.isdigit():
            self.chunks, self.word_started = [], False     # `2>&1`: the descriptor is no word
        self.end_word()
        self.i, placeholder = redirect_target(self.text, self.i, self.n)
        if placeholder is not None:
            self.script.failures.append(("placeholder", placeholder_facts(placeholder.group(), True),
                                         placeholder.start()))

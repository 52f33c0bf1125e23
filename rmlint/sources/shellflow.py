"""Where bash stops reading a script: an `exit` at the top level ends the shell, so no command after it
runs (nor anything after the `source` line of a file that exits), and a `return` at the top level of a
sourced file ends that file. "Top level" means unconditional: not inside if/while/until/for/case, a
`{ }` group, a `( )` subshell or a function, not after `&&`, `||` or `|`, and not followed by `|` or
`&` (`[ -z "$X" ] && exit 1`, `cmd || exit 1`, `exit 1 &` keep reading; `exit 1 || true` does not). `eval` and
`bash -c` strings never stop the script (a re-read string is not the top level).

A mixin of the scanner in shell.py: it counts the compound commands open around the current one and
whether the command is joined to its neighbours by an operator."""

_OPENERS = {"if", "while", "until"}          # reserved words that open a compound command
_CLOSERS = {"fi", "done"}
_LOOPS = {"for", "select", "case"}           # read as commands of their own; `done` / `esac` closes them


class ControlFlow:
    def open_close(self, word: str) -> None:
        """A reserved word at the start of a command: count what it opens or closes."""
        if word in _OPENERS or word in _LOOPS:
            self.nest += 1
        elif (word in _CLOSERS or word == "esac") and self.nest:
            self.nest -= 1

    def operator(self, text: str, i: int) -> int:
        """The operator at `i` (after the command before it ended): the characters it takes. `&&`, `||`
        and `|` join the next command to this one; `(` and `)` open and close a subshell."""
        if text.startswith(("&&", "||"), i):
            self.linked = True
            return 2
        c = text[i]
        if c == "|":
            self.linked = True
        elif c == "(":
            self.parens += 1
        elif c == ")" and self.parens:
            self.parens -= 1
        return 1

    def unconditional(self, end: int) -> bool:
        """The command that ended at `end` runs whenever this text is read, in the shell itself."""
        after = self.text[end:min(end + 2, self.n)]
        background = after[:1] in ("&", "|") and after not in ("&&", "||")    # `exit &`, `exit | x`: a subshell
        return not (self.nest or self.parens or self.braces or self.linked or self.tag or background)

    def stops(self, name: str, end: int, offset: int) -> bool:
        """`exit` / `return` that ends the reading here: the script (exit) or this sourced file (return).
        bash refuses `return` outside a function or a sourced file and goes on."""
        if not self.unconditional(end):
            return False
        if name == "exit" and self.top:
            self.halted = True
            if self.sourcing is not None:
                self.sourcing.exited_at = offset
            self.script.exited_at = offset
            return True
        if name == "return" and self.sourced:
            self.halted = True
            return True
        return False

    def unreachable(self) -> None:
        """The commands after an `exit` of the main script: read (so their launches can be listed as
        never run), without following `source` and with the variables as they were at the `exit`."""
        from collections import ChainMap
        rest = type(self)(self.text, self.i, self.n, ChainMap({}, self.vars), self.budget, None, self.depth + 1,
                          dict(self.functions), tag="")
        self.script.unreachable = rest.run().commands

"""Bash arithmetic (`$(( ))`), evaluated as bash 5 does (expr.c), to find the expansions that fail: a
number with a digit too great for its base (`58nproc_per_gpu`, `08`) or a division by zero. bash then
abandons the whole command, so an assignment `x=$(( ... ))` leaves x unset and a launch does not run.

Only what rmlint knows is evaluated: a variable it cannot see (the environment, `$1`), an array, an
assignment or `++`/`--` inside the expression, or anything this reader does not parse gives up (None),
and no finding. A variable's value is itself evaluated as an expression, as bash does; short-circuit
branches (`&&`, `||`, `?:`) are parsed but not evaluated, as in bash (no division error there, but a bad
number is still one)."""

import re

_TOKEN = re.compile(r"\s*(?:(?P<num>[0-9][A-Za-z0-9_@#]*)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|"
                    r"(?P<op>\*\*|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%<>&^|!~?:(),=]))")
_BINARY = [("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", ">", "<=", ">="), ("<<", ">>"),
           ("+", "-"), ("*", "/", "%")]
_COMPOUND = {"+", "-", "*", "/", "%", "&", "^", "|", "<<", ">>", "**"}
# bash's own words for a negative power, kept as data: expr.c, exppower() `evalerror (_("exponent less than 0"))`
# (https://github.com/bminor/bash/blob/03b415d33effff1a40371d70ee799e7a08c362be/expr.c)
NEGATIVE_EXPONENT = "exponent less than 0"
MAX_NESTING = 32       # parentheses, unary operators and values of variables, one in another (bash: 1024)
WORK = 100_000         # tokens read per expansion, values of variables included
_BITS = 1 << 64


class GiveUp(Exception):
    """rmlint cannot evaluate this expression (unknown value, unsupported form)."""


class BashArithmeticError(Exception):
    """bash's evaluation error: `kind` (bad-number | division-by-zero | negative-exponent), the token, and the variable whose
    value held it (None for the expression's own text)."""

    def __init__(self, kind: str, token: str, variable: str | None = None, value: str | None = None):
        super().__init__(kind)
        self.kind, self.token, self.variable, self.value = kind, token, variable, value


def _wrap(value: int) -> int:
    value %= _BITS
    return value - _BITS if value >= _BITS // 2 else value


def number(token: str) -> int:
    """bash's strlong(): `0x1f`, `017`, `2#101`, `64#_@`; a digit beyond the base is bash's
    "value too great for base"."""
    text, base, found = token, 10, False
    if text.startswith("0"):
        text = text[1:]
        if not text:
            return 0
        base = 16 if text[:1] in "xX" else 8
        text = text[1:] if base == 16 else text
        found = True
    value = 0
    for c in text:
        if c == "#":
            if found or not 2 <= value <= 64:
                raise GiveUp(token)           # "invalid number" / "invalid arithmetic base": not modelled
            base, value, found = value, 0, True
            continue
        if c.isdigit():
            digit = ord(c) - 48
        elif "a" <= c <= "z":
            digit = ord(c) - 87
        elif "A" <= c <= "Z":
            digit = ord(c) - (55 if base <= 36 else 29)
        else:
            digit = 62 if c == "@" else 63
        if digit >= base:
            raise BashArithmeticError("bad-number", token)
        value = _wrap(value * base + digit)
    return value


class _Parser:
    def __init__(self, text: str, lookup, nesting: int, work: list):
        self.text, self.i, self.lookup, self.work = text, 0, lookup, work
        self.token = self.kind = None
        self.nesting = nesting     # parentheses, unary operators and variables' values, one in another
        self.advance()

    def advance(self):
        self.work[0] -= 1
        if self.work[0] < 0:       # values that name other values many times over: not followed
            raise GiveUp("budget")
        match = _TOKEN.match(self.text, self.i)
        if match is None:
            if self.text[self.i:].strip():
                raise GiveUp(self.text)
            self.token, self.kind, self.start = None, None, len(self.text)
            return
        self.i = match.end()
        self.start = match.start(match.lastgroup)
        self.kind = match.lastgroup
        self.token = match.group(self.kind)
        if self.kind == "num":
            self.value = number(self.token)    # bash reads (and checks) a number as soon as it meets it

    def take(self, op: str) -> bool:
        if self.kind == "op" and self.token == op:
            self.advance()
            return True
        return False

    def expression(self, run: bool) -> int:
        value = self.conditional(run)
        while self.take(","):
            value = self.conditional(run)
        return value

    def conditional(self, run: bool) -> int:
        test = self.binary(0, run)
        if not self.take("?"):
            if self.kind == "op" and self.token == "=":
                raise GiveUp("assignment")
            return test
        yes = self.expression(run and test != 0)
        if not self.take(":"):
            raise GiveUp("?:")
        no = self.conditional(run and test == 0)
        return yes if test else no

    def binary(self, level: int, run: bool) -> int:
        if level == len(_BINARY):
            return self.power(run)
        left = self.binary(level + 1, run)
        while self.kind == "op" and self.token in _BINARY[level]:
            op = self.token
            self.advance()
            if op in ("&&", "||"):
                right = self.binary(level + 1, run and (left != 0) == (op == "&&"))
                left = int(left != 0 and right != 0) if op == "&&" else int(left != 0 or right != 0)
                continue
            begin = self.start
            right = self.binary(level + 1, run)
            if op in ("/", "%") and right == 0 and run:       # bash: "division by 0"
                raise BashArithmeticError("division-by-zero", self.text[begin:self.start].strip())
            left = _apply(op, left, right)
        return left

    def power(self, run: bool) -> int:
        base = self.unary(run)
        if self.take("**"):
            exponent = self.power(run)
            if exponent < 0:     # bash fails here even where it does not evaluate (`0 && 2 ** -1`), but there
                if run:          # a variable counts as 0 and rmlint does not follow the values: it gives up
                    raise BashArithmeticError("negative-exponent", str(exponent))
                raise GiveUp("**")
            return _wrap(pow(base, exponent, _BITS)) if run else 0
        return base

    def unary(self, run: bool) -> int:
        self.nesting += 1
        try:
            return self.operand(run)
        finally:
            self.nesting -= 1

    def operand(self, run: bool) -> int:
        if self.nesting > MAX_NESTING:     # `((((...))))` or `- - - ... 1` deeper than any real script
            raise GiveUp("nesting")
        if self.kind == "op" and self.token in ("-", "+", "!", "~"):
            op = self.token
            self.advance()
            if self.kind == "op" and self.token == op and op in "+-":
                raise GiveUp("++/--")
            value = self.operand(run)
            return {"-": _wrap(-value), "+": value, "!": int(value == 0), "~": _wrap(~value)}[op]
        return self.primary(run)

    def primary(self, run: bool) -> int:
        if self.take("("):
            value = self.expression(run)
            if not self.take(")"):
                raise GiveUp("(")
            return value
        kind, token = self.kind, self.token
        if kind == "num":
            value = self.value
            self.advance()
            return value
        if kind != "name":
            raise GiveUp(str(token))
        self.advance()
        op, rest = self.token if self.kind == "op" else "", self.text[self.i:self.i + 1]
        if op == "=" or (op in ("+", "-") and rest == op) or (op in _COMPOUND and rest == "="):
            raise GiveUp("assignment")       # x = 1, x += 1, x++: changes a variable; not modelled
        return self.variable(token) if run else 0

    def variable(self, name: str) -> int:
        value = self.lookup(name)
        if value is None:
            raise GiveUp(name)
        if not value.strip():
            return 0
        try:
            return evaluate(value, self.lookup, self.nesting, self.work)
        except BashArithmeticError as err:
            if err.variable is None:
                err.variable, err.value = name, value
            raise


def _apply(op: str, left: int, right: int) -> int:
    if op in ("/", "%"):
        if right == 0:      # not evaluated (`0 && 1/0`): bash reads it as 1/1
            return 0
        quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
        return _wrap(quotient) if op == "/" else _wrap(left - right * quotient)
    if op in ("<<", ">>"):
        if not 0 <= right < 64:
            raise GiveUp("shift")
        return _wrap(left << right) if op == "<<" else left >> right
    return {"+": lambda: _wrap(left + right), "-": lambda: _wrap(left - right), "*": lambda: _wrap(left * right),
            "|": lambda: left | right, "^": lambda: left ^ right, "&": lambda: left & right,
            "==": lambda: int(left == right), "!=": lambda: int(left != right), "<": lambda: int(left < right),
            ">": lambda: int(left > right), "<=": lambda: int(left <= right), ">=": lambda: int(left >= right)}[op]()


def evaluate(text: str, lookup, nesting: int = 0, work: list | None = None) -> int:
    """The value of `text` as bash's arithmetic; `lookup(name)` -> the variable's text, or None when
    rmlint cannot know it. Raises BashArithmeticError where bash fails, GiveUp where rmlint cannot tell."""
    parser = _Parser(text, lookup, nesting, [WORK] if work is None else work)
    value = parser.expression(True)
    if parser.kind is not None:
        raise GiveUp(text)
    return value


_INNER = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
MAX_SHOWN = 80     # characters of an expression quoted in a finding


def check(expression: str, lookup, work: list | None = None):
    """(problem kind, facts) when bash fails on `$(( expression ))`, else None. `$X` / `${X}` inside are
    replaced by their text first, as bash does; any other expansion gives up. `work`: [tokens left]."""
    used = []

    def substitute(match):
        name = match.group(1) or match.group(2)
        value = lookup(name)
        if value is None:
            raise GiveUp(name)
        used.append((name, value))
        return value
    try:
        text = _INNER.sub(substitute, expression)
        if "$" in text or "`" in text:
            return None
        evaluate(text, lookup, 0, [WORK] if work is None else work)
        return None
    except GiveUp:
        return None
    except BashArithmeticError as err:
        if err.variable is None:     # a token that came in through `$X`: X is named
            err.variable, err.value = next(((n, v) for n, v in used if err.token in v), (None, None))
        shown = " ".join(expression.split())
        facts = {"expression": shown if len(shown) <= MAX_SHOWN else shown[:MAX_SHOWN - 3] + "...",
                 "token": err.token[:MAX_SHOWN]}
        found = []       # named as shell mistakes are (tests/test_problem_kinds_exist.py reads these)
        if err.kind == "negative-exponent":
            found.append(("arithmetic-negative-exponent", {"expression": facts["expression"],
                                                           "exponent": int(err.token), "error": NEGATIVE_EXPONENT}))
        elif err.kind == "division-by-zero":
            found.append(("arithmetic-division-by-zero", {**facts, "divisor": err.token[:MAX_SHOWN]}))
        elif err.variable is None:
            found.append(("arithmetic-bad-number", facts))
        else:
            found.append(("arithmetic-bad-number-in-variable",
                          {**facts, "variable": err.variable, "value": err.value[:MAX_SHOWN]}))
        return found[0]

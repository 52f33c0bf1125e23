"""DeepSpeed-Chat's command lines read as its argparse parsers read them (rmlint/data/deepspeed_chat_flags.json,
made by tools/extract_deepspeed_chat_flags.py from every version of each step's parse_args): `--flag value`,
`--flag=value`, store_true flags, unique-prefix abbreviations (argparse's allow_abbrev), and what
argparse refuses ("unrecognized arguments", "invalid int value")."""

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

from ...data import TABLES

DATA = TABLES / "deepspeed_chat_flags.json"
TYPES = {"int": int, "float": float}


@lru_cache(maxsize=1)
def snapshot() -> dict:
    return json.loads(DATA.read_text())


def flags(step: str) -> dict:
    return snapshot()["steps"][step]["flags"]


@dataclass
class Parsed:
    values: dict = field(default_factory=dict)      # dest -> value (None when not readable)
    places: dict = field(default_factory=dict)      # dest -> Location of the flag
    refused: list = field(default_factory=list)     # trainer.refused items
    opaque: bool = False                            # a word that may stand for more flags


def _match(step: str, written: str) -> str | None:
    table = flags(step)
    if written in table:
        return written
    candidates = [name for name in table if name.startswith(written)]
    dests = {table[name]["dest"] for name in candidates}
    return candidates[0] if len(dests) == 1 else None


# `error` is argparse's own text, shown as data as it prints it (argparse.py: "argument %s: expected one
# argument", "invalid %(type)s value: %(value)r", "the following arguments are required: %s")
def _refuse(parsed: Parsed, key: str, error: str, suggestion: str, at) -> None:
    parsed.refused.append({"kind": "argparse", "key": key, "error": error, "suggestion": suggestion, "release": "",
                           "source": "", "elsewhere": False, "known_in": "",
                           "file": at.path, "line": at.line, "column": at.column})


def _convert(spec: dict, text: str):
    kind = TYPES.get(spec["type"])
    value = kind(text) if kind else text
    if spec["choices"] and str(value) not in spec["choices"]:
        raise ValueError
    return value


NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")


def _option_like(text: str) -> bool:
    """What argparse's _parse_optional reads as an option: `-x...`, not a negative number, no space."""
    return text.startswith("-") and len(text) > 1 and not NEGATIVE.match(text) and " " not in text


def parse(step: str, args: list, anchor=None) -> Parsed:
    """`args`: the words after main.py (.text, .at, .known, .opaque); `anchor`: where a flag the parser
    requires (`required=True`) and the launch lacks is reported."""
    parsed, i = Parsed(), 0
    table = flags(step)
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.known and (arg.opaque or not arg.text.startswith("--")):
            parsed.opaque = parsed.opaque or arg.opaque or not arg.text
            continue
        if not arg.text.startswith("-"):
            _refuse(parsed, arg.text, f"unrecognized arguments: {arg.text}", "", arg.at)
            continue
        written, eq, inline = arg.text.partition("=")
        name = _match(step, written)
        ambiguous = [n for n in table if n.startswith(written)] if name is None else []
        if len(ambiguous) > 1:
            _refuse(parsed, written, f"ambiguous option: {written} could match {', '.join(ambiguous)}", "", arg.at)
            name = None
        elif name is None:
            from ...suggest import suggest
            _refuse(parsed, written, f"unrecognized arguments: {written}", suggest(written, table) or "", arg.at)
        if name is None:
            while i < len(args) and not args[i].text.startswith("-"):   # its values go with it
                i += 1
            continue
        spec = table[name]
        parsed.places[spec["dest"]] = arg.at
        if spec["kind"] == "flag":
            parsed.values[spec["dest"]] = True
            continue
        if eq:
            words, known = [inline], arg.known
        elif spec["kind"] == "list":
            start = i
            while i < len(args) and not (args[i].known and args[i].text.startswith("--")):
                i += 1
            words, known = [a.text for a in args[start:i]], all(a.known for a in args[start:i])
        elif i < len(args) and not (args[i].known and _option_like(args[i].text)):
            words, known = [args[i].text], args[i].known
            i += 1
        else:       # argparse takes a word that looks like an option for one, never for a value
            _refuse(parsed, name, f"argument {name}: expected one argument", "", arg.at)
            continue
        if not known:
            parsed.values[spec["dest"]] = None
            continue
        try:
            values = [_convert(spec, w) for w in words]
        except ValueError:
            _refuse(parsed, name, f"argument {name}: invalid {spec['type']} value: {' '.join(words)!r}", "", arg.at)
            continue
        parsed.values[spec["dest"]] = values if spec["kind"] == "list" else values[0]
    _required(parsed, table, anchor)
    return parsed


def _required(parsed: Parsed, table: dict, anchor) -> None:
    """argparse's last check, made only when nothing else was refused (it stops at its first error): every
    required flag written (a word that may stand for more flags may hold them)."""
    if parsed.refused or parsed.opaque or anchor is None:
        return
    missing = [name for name, spec in table.items() if spec.get("required") and spec["dest"] not in parsed.places]
    if missing:
        _refuse(parsed, missing[0], f"the following arguments are required: {', '.join(missing)}", "", anchor)


def get(parsed: Parsed, step: str, dest: str):
    """The value a flag has: written, else its default in the newest parser; None when unknown."""
    if dest in parsed.values:
        return parsed.values[dest]
    if parsed.opaque:
        return None
    return next((spec["default"] for spec in flags(step).values() if spec["dest"] == dest), None)

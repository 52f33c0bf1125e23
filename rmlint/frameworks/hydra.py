"""Hydra command lines (verl's `python3 -m verl.trainer.main_ppo key=value ...`): overrides as Hydra
1.3's override grammar reads them, over a list of argument words with their places.

`a.b=v` changes a key that must exist (struct mode), `+a.b=v` adds one that must not, `++a.b=v` sets
either way, `~a.b` (or `~a.b=v`) deletes one that must exist; `group@pkg=option` selects a config
group; `--config-path`/`-cp`, `--config-name`/`-cn` pick the primary config. Values: ints, floats,
true/false, null, lists `[a,b]`, dicts `{a: 1}`, quoted strings; `a,b` is a sweep (multirun only).
A word rmlint cannot read (`$@`, `$(...)`) may hold any override: `opaque` says so.
"""

import re
from dataclasses import dataclass, field

_KEY = re.compile(r"(~|\+\+|\+)?([A-Za-z0-9_.\-/@\[\]$]+)(?:=(.*))?$", re.S)
_INT = re.compile(r"[+-]?(\d+(_\d+)*|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$|[+-]?(inf|nan)$", re.I)
HYDRA_FLAGS = {"--config-path": "config_path", "-cp": "config_path", "--config-name": "config_name",
               "-cn": "config_name", "--config-dir": "config_dir", "-cd": "config_dir"}
BARE_FLAGS = {"-m", "--multirun", "--cfg", "-c", "--resolve", "--info", "-i", "--help", "-h", "--hydra-help",
              "--version", "--run", "-r", "--shell-completion", "-sc", "--package", "-p", "--experimental-rerun"}


@dataclass
class Override:
    prefix: str          # "", "+", "++" or "~"
    key: str
    value: object        # parsed value; None for null, for a deletion or when not readable
    known: bool          # the value was readable
    at: object           # Location of the word
    text: str = ""       # the value as written

    @property
    def group(self) -> bool:
        """A config-group selection (`actor@actor_rollout_ref.actor=megatron_actor`), not a key."""
        return "@" in self.key or "/" in self.key


@dataclass
class CommandLine:
    overrides: list = field(default_factory=list)
    options: dict = field(default_factory=dict)     # config_path / config_name / config_dir -> (value, Location)
    opaque: bool = False                            # a word that may stand for more overrides
    strays: list = field(default_factory=list)      # words that are not overrides: (text, Location)


def value(text: str):
    """A Hydra value as its grammar reads it (primitives, lists and dicts of them)."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    if _INT.match(text):
        return int(text.replace("_", ""), 0) if "x" in low else int(text.replace("_", ""))
    if _FLOAT.match(text):
        return float(text)
    if text and text[0] in "[{" and text[-1] in "]}":
        items = [value(part) for part in _split(text[1:-1])] if text[1:-1].strip() else []
        if text[0] == "[":
            return items
        if all(isinstance(p, str) and ":" in p for p in _split(text[1:-1])) or not items:
            return {str(value(k)): value(v) for k, _, v in (p.partition(":") for p in _split(text[1:-1]))}
        return text
    return text


def _split(text: str) -> list:
    """Top-level comma-separated parts (brackets and quotes nest)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(text):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def parse(args: list) -> CommandLine:
    """`args`: the words after the program (objects with .text, .at, .known, .opaque)."""
    line, i = CommandLine(), 0
    while i < len(args):
        arg = args[i]
        i += 1
        name, eq, rest = arg.text.partition("=")
        if name in HYDRA_FLAGS:
            if not eq and i < len(args):
                rest, arg = args[i].text, args[i]
                i += 1
            line.options[HYDRA_FLAGS[name]] = (rest if arg.known else None, arg.at)
            continue
        if not arg.known:
            # `key=$VALUE`: the key is readable, the value is not (a value with spaces in it, which would
            # split into more words, is not assumed); a word with no readable key may be anything
            match = _KEY.match(arg.text.split("=", 1)[0] + "=") if "=" in arg.text and arg.text[:1] not in ".=" else None
            if match:
                line.overrides.append(Override(match.group(1) or "", match.group(2), None, False, arg.at))
            else:
                line.opaque = True
            continue
        text = arg.text
        if name in BARE_FLAGS or text.startswith("-") and not text.startswith("~"):
            if name in ("--cfg", "-c", "--package", "-p", "--info", "-i") and not eq and i < len(args) \
                    and not args[i].text.startswith("-") and "=" not in args[i].text:
                i += 1
            continue
        match = _KEY.match(text)
        if not match or (match.group(3) is None and match.group(1) != "~"):
            line.strays.append((text, arg.at))
            continue
        prefix, key, raw = match.group(1) or "", match.group(2), match.group(3)
        line.overrides.append(Override(prefix, key, value(raw) if raw is not None else None, True, arg.at, raw or ""))
    return line

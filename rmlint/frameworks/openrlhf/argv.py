"""Parse an OpenRLHF argv the way its argparse parser would, release by release.

argparse rules that matter here: `--flag=value`, unique-prefix abbreviations
(`allow_abbrev` is on in every OpenRLHF parser), `nargs="*"` lists that run to the
next flag, and values that start with "-" being read as flags unless they are numbers.
"""

from ...suggest import suggest as suggest_name
import re
from dataclasses import dataclass, field

from ...finding import Location
from .flags import FlagSpec, fork_flags, table

_NUMBER = re.compile(r"-\d+(\.\d*)?([eE][-+]?\d+)?$|-\.\d+$")


@dataclass
class Arg:
    text: str
    at: Location
    known: bool = True
    opaque: bool = False


@dataclass
class Given:
    flag: FlagSpec
    written: str
    value: object
    known: bool
    at: Location
    value_at: Location


@dataclass
class Problem:
    kind: str        # unknown-flag | newer-flag | other-release | ambiguous | missing-value | bad-value | stray
                     # | bool-value | missing-program
    at: Location
    flag: str = ""
    facts: dict = field(default_factory=dict)   # the kind's data (fact_schema.FlagProblem); the rule words it


@dataclass
class Parsed:
    entrypoint: str
    given: dict = field(default_factory=dict)       # flag name -> Given (the last one wins, as in argparse)
    problems: list = field(default_factory=list)
    opaque: bool = False                            # some argument could not be known (e.g. `$EXTRA_ARGS`)
    candidates: list = field(default_factory=list)  # indices of releases that accept every given flag
    fork_flags: list = field(default_factory=list)  # flags of a fork (settings) that were given


def _is_flag(arg: Arg) -> bool:
    return arg.text.startswith("-") and len(arg.text) > 1 and not _NUMBER.match(arg.text) and arg.known


class _Refused(ValueError):
    """argparse refuses a value: not of the flag's type, or not one of its choices (`choices` set)."""
    def __init__(self, text: str, type_: str, choices: list | None = None):
        super().__init__(text)
        self.facts = {"value": text, "type": type_, "choices": [repr(c) for c in choices or []]}


def _convert(spec: FlagSpec, text: str):
    kinds = {"int": int, "float": float}
    try:
        value = kinds.get(spec.type, str)(text)
    except ValueError:
        raise _Refused(text, spec.type or "")
    if spec.choices and value not in spec.choices:
        raise _Refused(text, spec.type or "", spec.choices)
    return value


def _resolve(flags: dict, name: str):
    if name in flags:
        return flags[name], None
    if name.startswith("--"):
        matches = [f for f in flags if f.startswith(name)]
        if len(matches) == 1:
            return flags[matches[0]], None
        if len(matches) > 1:
            return None, sorted(matches)[:4]
    return None, "unknown"


def parse(entrypoint: str, args: list, form: str | None = None, program: str = "", at: Location | None = None) -> Parsed:
    """`form`: how the entrypoint is run ("module" | "script"), `program` as written, `at` where."""
    flags = table().entrypoints[entrypoint]
    fork = fork_flags()
    parsed = Parsed(entrypoint)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.opaque:
            parsed.opaque = True
            continue
        if not _is_flag(arg):
            if arg.known:
                parsed.problems.append(Problem("stray", arg.at, arg.text))
            continue
        name, eq, inline = arg.text.partition("=")
        spec, trouble = _resolve(flags, name)
        if spec is None and name in fork:
            parsed.fork_flags.append(name)
            while not eq and i < len(args) and not _is_flag(args[i]) and not args[i].opaque:
                i += 1  # its values: what the fork's parser takes is not known here
            continue
        if spec is None:
            if trouble == "unknown":
                parsed.problems.append(Problem("unknown-flag", arg.at, name, {"entrypoint": entrypoint}))
            else:
                parsed.problems.append(Problem("ambiguous", arg.at, name, {"matches": trouble}))
            while i < len(args) and not _is_flag(args[i]) and not args[i].opaque:
                i += 1  # argparse reports the flag's values as unrecognized too; one finding is enough
            continue
        if spec.kind == "bool":
            if eq:
                parsed.problems.append(Problem("bool-value", arg.at, spec.name, {"value": inline}))
                continue
            value, known, value_at = not spec.defaults[-1][1], True, arg.at  # store_true / store_false
        else:
            values = [Arg(inline, arg.at, arg.known, arg.opaque)] if eq else []
            wanted = spec.nargs or (1 if spec.kind == "value" else 0)   # 0: a nargs="*" list takes any number
            if not eq:
                while i < len(args) and not _is_flag(args[i]) and (not wanted or len(values) < wanted):
                    values.append(args[i])
                    i += 1
                    if values[-1].opaque:
                        break
            if len(values) < wanted and not (values and values[-1].opaque):
                parsed.problems.append(Problem("missing-value", arg.at, spec.name, {"count": wanted}))
                continue
            known = all(v.known and not v.opaque for v in values)
            value_at = values[0].at if values else arg.at
            value = None
            if known:
                try:
                    converted = [_convert(spec, v.text) for v in values]
                except _Refused as err:
                    parsed.problems.append(Problem("bad-value", value_at, spec.name, err.facts))
                    known = False
                else:
                    value = converted if spec.kind == "list" or spec.nargs else converted[0]
        parsed.given[spec.name] = Given(spec, name, value, known, arg.at, value_at)
    _infer_releases(parsed, flags, form, program, at)
    return parsed


def _infer_releases(parsed: Parsed, flags: dict, form: str | None, program: str, at: Location | None):
    """Keep the releases that accept the most given flags and, among them, those that can run the
    program as written; the other flags are from another release."""
    t = table()
    everywhere = t.program_releases(parsed.entrypoint)
    counts = [0] * len(t.versions)
    for given in parsed.given.values():
        for index in everywhere:
            counts[index] += given.flag.exists(index)
    best = max(counts[i] for i in everywhere)
    newest = max(i for i in everywhere if counts[i] == best)   # ties: the newest set of accepted flags wins
    accepted = _accepted(parsed, newest)
    matched = [i for i in everywhere if counts[i] == best and _accepted(parsed, i) == accepted]
    runnable = [i for i in matched if i in set(t.program_releases(parsed.entrypoint, form))]
    if form and not runnable:
        parsed.problems.append(_missing_program(parsed.entrypoint, form, program, matched, at))
    parsed.candidates = runnable or matched
    low, high = parsed.candidates[0], parsed.candidates[-1]
    for name, given in list(parsed.given.items()):
        if not any(given.flag.exists(i) for i in parsed.candidates):
            del parsed.given[name]
            counterpart = counterpart_flag(name, flags, parsed.candidates)
            parsed.problems.append(Problem("other-release", given.at, name, {
                "flag_releases": t.span(given.flag.first, given.flag.last), "releases": t.span(low, high),
                "counterpart": counterpart or ""}))
    newest = len(t.versions) - 1
    for problem in parsed.problems:
        if problem.kind == "unknown-flag":
            guess = suggest(problem.flag, [f for f, s in flags.items() if s.exists(high)])
            problem.facts["suggestion"] = guess or ""
            if high == newest and (not guess or _new_group(problem.flag, flags)):
                # not a near-miss (or a whole new `--group.`), and the rest fits the newest release
                problem.kind = "newer-flag"
                problem.facts["newest"] = t.versions[newest]


def _new_group(name: str, flags: dict) -> bool:
    """`--fsdp.param_dtype`: a dotted flag whose group (`--fsdp.`) no release of the entrypoint has."""
    group, dot, _ = name.partition(".")
    return bool(dot) and not any(f.startswith(group + ".") for f in flags)


def _accepted(parsed: Parsed, index: int) -> frozenset:
    return frozenset(name for name, given in parsed.given.items() if given.flag.exists(index))


def _missing_program(entrypoint: str, form: str, program: str, matched: list, at) -> Problem:
    """`have`: the releases that run the entrypoint as `form` (empty: none); `run`: the other form, when the
    releases the flags fit run it that way."""
    t = table()
    have = t.program_releases(entrypoint, form)
    other = "script" if form == "module" else "module"
    instead = t.program_releases(entrypoint, other)
    return Problem("missing-program", at or Location("<argv>"), program or entrypoint, {
        "entrypoint": entrypoint, "form": form, "have": t.span(have[0], have[-1]) if have else "",
        "releases": t.span(matched[0], matched[-1]), "run": other if instead and any(i in matched for i in instead) else ""})


def suggest(name: str, names: list) -> str | None:
    close = suggest_name(name, names)
    if close:
        return close
    tail = name.lstrip("-").split(".")[-1]
    same_tail = [n for n in names if n.lstrip("-").split(".")[-1] == tail]
    return same_tail[0] if len(same_tail) == 1 else None


def counterpart_flag(name: str, flags: dict, candidates: list) -> str | None:
    """The flag that means the same thing in the releases the rest of the command is from."""
    from .concepts import CONCEPTS
    live = [f for f, s in flags.items() if any(s.exists(i) for i in candidates)]
    for names in CONCEPTS.values():
        if name in names:
            match = [n for n in names if n in live]
            if match:
                return match[0]
    return suggest(name, live)

"""Evaluate the catalog over subjects: selection, unknown facts, locations, messages, de-duplication."""

import re

from .expr import ExpressionError, activation, evaluate
from .finding import Finding, Location

# A message template: `{fact}` shows a fact (`{fact|, }`: a list joined with ", "; `{fact:.2f}`, `{fact:.4g}`,
# `{fact:g}`: a number in that format; `{fact:,}`: a count with thousands separators, 1,024), and `{if TEST}...{elif TEST}...{else}...{end}` (nested ones too)
# keeps the first part whose TEST holds: `fact` (set: not empty, 0 or false), `fact == 'text'` or
# `fact != 'text'`. The readers give facts as data (numbers, names, lists, enums); the words are the rule's.
_PLACEHOLDER = re.compile(r"\{([a-z_][A-Za-z0-9_.]*)(?::(\.\d[fg]|g|,))?(?:\|([^{}]*))?\}")
_CONDITION = re.compile(r"\{if ([^{}]+)\}((?:(?!\{if ).)*?)\{end\}", re.S)     # an innermost one
_BRANCH = re.compile(r"\{(elif [^{}]+|else)\}")
_TEST = re.compile(r"([a-z_][A-Za-z0-9_.]*)(?:\s*(==|!=)\s*'([^']*)')?")
_MISSING = object()


def _lookup(facts: dict, dotted: str):
    value = facts
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _show(value, separator: str | None = None, number: str | None = None) -> str:
    if number and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, number)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return (" " if separator is None else separator).join(_show(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _holds(test: str, facts: dict) -> bool:
    match = _TEST.fullmatch(test.strip())
    if match is None:
        return False
    value = _lookup(facts, match.group(1))
    if match.group(2) is None:
        return value is not _MISSING and value not in ("", 0, False, None, [], {})
    same = value is not _MISSING and _show(value) == match.group(3)
    return same if match.group(2) == "==" else not same


def render(template: str, facts: dict) -> str:
    def condition(match):
        parts = _BRANCH.split(match.group(2))      # body, branch, body, branch, body ...
        for test, body in zip([match.group(1)] + parts[1::2], parts[0::2]):
            if test == "else" or _holds(test.removeprefix("elif "), facts):
                return body
        return ""

    def placeholder(match):
        value = _lookup(facts, match.group(1))
        return f"<missing {match.group(1)}>" if value is _MISSING else _show(value, match.group(3), match.group(2))
    while True:         # innermost conditions first, until none is left
        template, decided = _CONDITION.subn(condition, template)
        if not decided:
            return _PLACEHOLDER.sub(placeholder, template)


def selected(rule, select: list | None, ignore: list | None) -> bool:
    def matches(patterns):
        return any(rule.id.startswith(p) or rule.name == p for p in patterns)
    if select and not matches(select):
        return False
    return not (ignore and matches(ignore))


def _where(subject, rule, item) -> Location:
    if not rule.at:
        return subject.anchor
    if rule.at[0] == "item" and item is not None:
        if item.get("line"):
            return Location(item.get("file") or subject.anchor.path, item["line"], item.get("column", 1))
        return subject.locate("ds." + item.get("path", ""))
    # `at` lists candidates: the first fact some input sets is the place (e.g. the key a framework reads)
    return next(filter(None, map(subject.place_of, rule.at)), None) or subject.locate(rule.at[-1])


_INT64 = 2 ** 63 - 1


def _bounded(value):
    """CEL integers are 64-bit: a larger number in a config (fuzzed or generated files) is clamped to
    the int64 range, so rules still compare and divide it instead of failing."""
    if isinstance(value, dict):
        return {k: _bounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bounded(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value <= _INT64:
        return max(-_INT64, min(_INT64, value))
    return value


def run(subjects: list, rules, errors: list | None = None) -> list:
    """Findings of `rules` over `subjects`, one per (rule, place, message). Expression errors on
    odd input are collected in `errors` (tests assert there are none) instead of stopping the run."""
    findings, seen = [], set()
    for subject in subjects:
        known = {root: value if root == "versions" else _bounded(value) for root, value in subject.facts.items()}
        bound = activation(known)
        for rule in rules:
            if subject.kind not in rule.scope or not all(subject.knows(p) for p in rule.needs):
                continue
            try:
                hits = _hits(rule, known, bound)
            except ExpressionError as err:
                if errors is not None:
                    errors.append(f"{rule.id} on {subject.anchor.path}: {err}")
                continue
            for item in hits:
                facts = known if item is None else {**known, "item": item}
                where = _where(subject, rule, item)
                finding = Finding(rule.id, rule.name, rule.severity, render(rule.message, facts),
                                  where.path, where.line, where.column, rule.fix, edits=_edits(rule, subject, item, where))
                key = (finding.rule, finding.path, finding.line, finding.column, finding.message)
                if key not in seen:
                    seen.add(key)
                    findings.append(finding)
    return findings


def _hits(rule, facts: dict, bound) -> list:
    if rule.items is None:
        return [None] if evaluate(rule.condition, bound) is True else []
    items = evaluate(rule.items, bound) or []
    return [item for item in items if evaluate(rule.condition, {**facts, "item": item}) is True]


def _edits(rule, subject, item, where) -> tuple:
    """The edits that fix this finding, made from the text its subject was read from (a rule's YAML
    names the edit, `fix_edit`); none for the rules that have no fix."""
    if not rule.fix_edit or subject.source is None:
        return ()
    from .fix import edits_for
    return tuple(edits_for(rule.fix_edit, rule.id, rule.fix_safety == "safe", subject.source, item, where,
                           lambda facts: render(rule.fix_title, {"edit": facts})))

"""Evaluate the catalog over subjects: selection, unknown facts, locations, messages, de-duplication."""

import re

from .expr import ExpressionError, activation, evaluate
from .finding import Finding, Location

_PLACEHOLDER = re.compile(r"\{([a-z_][A-Za-z0-9_.]*)\}")


def _lookup(facts: dict, dotted: str):
    value = facts
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return f"<missing {dotted}>"
        value = value[part]
    return value


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(_show(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(template: str, facts: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: _show(_lookup(facts, m.group(1))), template)


def selected(rule, select: list | None, ignore: list | None) -> bool:
    def matches(patterns):
        return any(rule.id.startswith(p) or rule.name == p for p in patterns)
    if select and not matches(select):
        return False
    return not (ignore and matches(ignore))


def _where(subject, rule, item) -> Location:
    target = rule.at[0] if rule.at else None
    if target == "item" and item is not None:
        if item.get("line"):
            return Location(item.get("file") or subject.anchor.path, item["line"], item.get("column", 1))
        return subject.locate("ds." + item.get("path", ""))
    return subject.locate(target) if target else subject.anchor


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
        subject.facts = {root: value if root == "versions" else _bounded(value) for root, value in subject.facts.items()}
        bound = activation(subject.facts)
        for rule in rules:
            if subject.kind not in rule.scope or not all(subject.knows(p) for p in rule.needs):
                continue
            try:
                hits = _hits(rule, subject, bound)
            except ExpressionError as err:
                if errors is not None:
                    errors.append(f"{rule.id} on {subject.anchor.path}: {err}")
                continue
            for item in hits:
                facts = subject.facts if item is None else {**subject.facts, "item": item}
                where = _where(subject, rule, item)
                finding = Finding(rule.id, rule.name, rule.severity, render(rule.message, facts),
                                  where.path, where.line, where.column, rule.fix)
                key = (finding.rule, finding.path, finding.line, finding.column, finding.message)
                if key not in seen:
                    seen.add(key)
                    findings.append(finding)
    return findings


def _hits(rule, subject, bound) -> list:
    if rule.items is None:
        return [None] if evaluate(rule.condition, bound) is True else []
    items = evaluate(rule.items, bound) or []
    return [item for item in items if evaluate(rule.condition, {**subject.facts, "item": item}) is True]

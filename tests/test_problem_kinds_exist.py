"""Every problem kind the library's Python names is one a rule file lists: a misspelt kind would be a
traceback on the input that meets it, so it is caught here, before any input does."""

import ast
from pathlib import Path

from rmlint.policy import Policy
from rmlint.rules import builtin

LIBRARY = Path(__file__).resolve().parent.parent / "rmlint"
NAMING = {"problem": 0, "finding": 0, "rule_for": 0, "reported_by": 1, "_finding": 1, "reason": 0, "Refused": 0,
          "CheckpointError": 0, "Refusal": 0}


def _strings(node) -> list:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def kinds_named_in_python() -> dict:
    """kind -> first place (file:line) a call names it: problems.finding / Policy.rule_for / reported_by, the
    guard's decide() results and the shell mistakes' records."""
    named = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            found = []
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in NAMING and len(node.args) > NAMING[name]:
                    found = _strings(node.args[NAMING[name]])
                owner = getattr(getattr(node.func, "value", None), "attr", None) or getattr(getattr(node.func, "value", None), "id", None)
                if name == "append" and owner in ("found", "failures") and path.parent.name == "sources" and node.args \
                        and isinstance(node.args[0], ast.Tuple):
                    found = _strings(node.args[0].elts[0])
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "SourceError":   # problem=(kind, facts)
                found += [kind for word in node.keywords if word.arg == "problem" and isinstance(word.value, ast.Tuple)
                          for kind in _strings(word.value.elts[0])]
            if path.name == "checks.py" and isinstance(node, ast.Constant) and str(node.value).startswith("live-"):
                found = [node.value]
            for kind in found:
                named.setdefault(kind, f"{path.relative_to(LIBRARY.parent)}:{node.lineno}")
    return named


def test_every_kind_named_in_python_is_listed_by_a_rule():
    known = {kind for rule in builtin() for kind in rule.problem_kinds}
    named = kinds_named_in_python()
    assert len(named) >= 30
    assert {kind: place for kind, place in named.items() if kind not in known} == {}


def test_every_kind_a_rule_lists_is_named_somewhere():
    named = kinds_named_in_python()
    assert sorted(kind for rule in builtin() for kind in rule.problem_kinds if kind not in named) == []
    assert Policy().rule_for("unreadable").id == "RM001"

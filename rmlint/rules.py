"""The rule catalog: one YAML file per rule in rules/, compiled once at load.

The catalog is validated against the `RuleModel` schema (pydantic) by the test suite and for
user rule packs; the built-in catalog then loads through the fast path, without importing
pydantic, because a pre-commit hook pays for every millisecond of start-up.
"""

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from .expr import ROOTS, ExpressionError, compile_expression

_FACT_PATH = re.compile(r"(?<![\w.])(?:%s)(?:\.[A-Za-z_][A-Za-z0-9_]*)+" % "|".join(ROOTS))


@dataclass(eq=False, repr=False)   # lean: each generated method costs a compile at start-up
class Examples:
    bad: list
    good: list


@dataclass(eq=False)
class Rule:
    id: str
    name: str
    severity: str
    scope: tuple
    summary: str
    when: str
    message: str
    why: str
    fix: str
    references: tuple
    examples: Examples
    at: tuple = ()
    for_each: str | None = None
    emitted_by: str = "condition"   # "reader": input problems reported while reading; "guard": by rmlint.guard
    problems: dict | None = None    # problem kind (recorded by a reader or the guard) -> its message (None: `message`)
    fix_safety: str | None = None   # "safe" (--fix) or "unsafe" (--fix --unsafe-fixes): the rule's finding carries edits
    fix_edit: str | None = None     # the kind of edit (fix.EDITS) its findings carry


class CompiledRule:
    """A rule with its expressions compiled and the fact paths its condition reads. From the catalog
    cache (compiled conditions only) the rule's own file gives every other field: the few a run
    needs for each rule read exactly (`fields`), the rest parsed when first used."""

    def __init__(self, rule: Rule | None, source: Path, compiled: tuple | None = None, fields: dict | None = None,
                 needs: list | None = None):
        self._rule, self._fields, self.source = rule, fields or {}, source
        if compiled is None:
            compiled = (compile_expression(rule.when), compile_expression(rule.for_each) if rule.for_each else None)
        self.condition, self.items = compiled
        if needs is None:
            reads = _FACT_PATH.findall(rule.when + " " + (rule.for_each or ""))
            needs = sorted({p for p in reads if not p.startswith("item.")})
        self.needs = needs

    @property
    def rule(self) -> Rule:
        if self._rule is None:
            self._rule = _metadata(_read(self.source), self.source)
        return self._rule

    def __getattr__(self, name):
        fields = self.__dict__.get("_fields") or {}
        if name in fields:
            return fields[name]
        if name.startswith("_"):
            raise AttributeError(name)
        if name == "problem_kinds":
            return tuple(self.rule.problems or ())
        if name == "problem_templates":
            return dict(self.rule.problems or {})
        return getattr(self.rule, name)

    def problem_message(self, kind: str) -> str:
        """The message template of one problem kind this rule reports."""
        templates = self.__dict__.get("_fields", {}).get("problem_templates")
        if templates is None or kind not in templates:   # not read exactly from the file: parsed
            return (self.rule.problems or {}).get(kind) or self.rule.message
        return templates[kind] or self.message


class RuleFileError(Exception):
    pass


def catalog_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "rules"                 # inside an installed wheel
    return packaged if packaged.is_dir() else here.parent / "rules"   # editable install / checkout


MAX_RULE_FILE = 1024 * 1024   # the largest built-in rule file is ~10 KB


def _read(path: Path) -> dict:
    import yaml
    from .sources.files import read_input
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        raw = yaml.load(read_input(str(path), MAX_RULE_FILE, what="rule files").decode("utf-8"), Loader=loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as err:
        raise RuleFileError(f"{path}: cannot read rule: {err}") from None
    if not isinstance(raw, dict):
        raise RuleFileError(f"{path}: a rule file is a YAML mapping")
    return raw


def _metadata(raw: dict, path: Path) -> Rule:
    known = {f.name for f in fields(Rule)}
    rule = _rule({k: v for k, v in raw.items() if k in known})
    if not path.stem == f"{rule.id}-{rule.name}":
        raise RuleFileError(f"{path}: file name must be {rule.id}-{rule.name}.yaml")
    return rule


def _build(raw: dict, path: Path) -> CompiledRule:
    rule = _metadata(raw, path)
    try:
        return CompiledRule(rule, path)
    except ExpressionError as err:
        raise RuleFileError(f"{path}: when: {err}") from None


def validate_file(path: Path) -> CompiledRule:
    """Load one rule file with full schema validation and a readable error naming file and field."""
    problems, rule = _validated(path)
    if problems:
        raise RuleFileError("\n".join(problems))
    return rule


def _validated(path: Path) -> tuple:
    """([problem, ...], rule or None): every problem of one rule file, each naming file and field."""
    from pydantic import ValidationError
    from .rule_schema import RuleModel
    try:
        raw = _read(path)
        RuleModel.model_validate(raw)
    except RuleFileError as err:
        return [str(err)], None
    except ValidationError as err:
        return [f"{path}: {'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in err.errors()], None
    try:
        rule = _build(raw, path)
    except RuleFileError as err:
        return [str(err)], None
    return _unknown_facts(rule, path), rule


def _unknown_facts(rule: CompiledRule, path: Path) -> list:
    """A fact no input sets is always absent, so a condition reading it never fires: a load error."""
    from .fact_paths import problem
    problems = []
    for field_name, paths in (("when", _FACT_PATH.findall(rule.when)),
                              ("for_each", _FACT_PATH.findall(rule.for_each or "")),
                              ("at", [a for a in rule.at if a != "item"])):
        for fact in dict.fromkeys(paths):
            if fact.startswith("item."):
                continue
            closest = problem(fact)
            if closest is not None:
                hint = f"; did you mean `{closest}`?" if closest else " (docs/facts.md lists the facts)"
                problems.append(f"{path}: {field_name}: unknown fact `{fact}`{hint}")
    return problems


def load_dir(directory: Path, validate: bool = False) -> list:
    """The rules of a folder. With `validate` (rule packs): every problem of every file at once, and
    a file that is not a rule is one of them."""
    if not validate:
        rules = [_build(_read(p), p) for p in sorted(directory.glob("RM*.yaml"))]
        problems = []
    else:
        rules, problems = [], []
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue
            if not (path.is_file() and path.suffix == ".yaml" and path.name.startswith("RM")):
                problems.append(f"{path}: not a rule file (a rule pack holds only rule files named RMnnn-name.yaml)")
                continue
            found, rule = _validated(path)
            problems += found
            if rule is not None and not found:
                rules.append(rule)
    seen = {}
    for rule in rules:
        for key in (rule.id, rule.name):
            if key in seen:
                problems.append(f"{rule.source}: {key} is already used by {seen[key]}")
            seen[key] = rule.source
    if problems:
        raise RuleFileError("\n".join(problems))
    return rules


_TOP = re.compile(r"^(id|name|severity|scope|emitted_by|at|for_each|fix_safety|fix_edit):(.*)$", re.M)
_EXACT = {"id": re.compile(r"RM\d{3}"), "name": re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*"),
          "severity": re.compile(r"error|warning|info"), "scope": re.compile(r"\[([a-z]+(?:, [a-z]+)*)\]"),
          "emitted_by": re.compile(r"condition|reader|guard"), "at": re.compile(r"\[([A-Za-z0-9_.]+(?:, [A-Za-z0-9_.]+)*)\]"),
          "for_each": re.compile(r".+"), "fix_safety": re.compile(r"safe|unsafe"),
          "fix_edit": re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")}
_DEFAULTS = {"emitted_by": "condition", "at": (), "for_each": None, "fix_safety": None, "fix_edit": None}
_PROBLEMS = re.compile(r"^problems:[ \t]*\n((?:[ \t]+.*\n?)*)", re.M)
_PROBLEM_KIND = re.compile(r"^  ([a-z0-9]+(?:-[a-z0-9]+)*):", re.M)


def _fields(text: str, path: Path) -> dict | None:
    """The fields every run needs of a rule, read from its file without a YAML parser where the
    file writes them (once, at the top level) in the one plain form that can mean nothing else;
    else None: parse it."""
    found = dict(_DEFAULTS, problem_kinds=())
    seen = set()
    for match in _TOP.finditer(text):
        key, value = match.group(1), match.group(2).strip()
        exact = _EXACT[key].fullmatch(value)
        if key in seen or exact is None:
            return None
        seen.add(key)
        found[key] = tuple(exact.group(1).split(", ")) if key in ("scope", "at") else \
            True if key == "for_each" else value
    if not {"id", "name", "severity", "scope"} <= seen or path.stem != f"{found['id']}-{found['name']}":
        return None
    if "problems:" in text:   # the problem kinds it reports (their wording is read when one is met)
        block = _PROBLEMS.search(text)
        if block is None:
            return None
        found["problem_kinds"] = tuple(_PROBLEM_KIND.findall(block.group(1)))
        templates = dict(_problem_templates(block.group(1)))
        if set(templates) == set(found["problem_kinds"]):
            found["problem_templates"] = templates
    blocks = {"message": [], "fix": []}
    for match in _BLOCK.finditer(text + "\n"):
        blocks[match.group(1)].append(match)
    for key in ("message", "fix"):   # what a finding shows: read too when written in a form read exactly
        value = _text(blocks[key])
        if value is not None:
            found[key] = value
    return found


_BLOCK = re.compile(r"^(message|fix):(.*)\n((?:[ \t].*\n?)*)", re.M)
_QUOTED = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\bfnrt]|\\u[0-9a-fA-F]{4})*"')   # escapes JSON and YAML read alike
_TEMPLATE = re.compile(r"^  ([a-z0-9]+(?:-[a-z0-9]+)*): (null|\".*\")[ \t]*$", re.M)


def _quoted(value: str) -> str | None:
    """A double-quoted one-line YAML string using only JSON's escapes, as YAML reads it; else None."""
    import json
    return json.loads(value) if _QUOTED.fullmatch(value) else None


def _problem_templates(block: str):
    """(kind, template or None) of each `problems:` entry written `null` or as a quoted line read exactly."""
    for kind, value in _TEMPLATE.findall(block):
        template = None if value == "null" else _quoted(value)
        if value != "null" and template is None:
            return
        yield kind, template


def _text(blocks: list) -> str | None:
    """A top-level string (its `_BLOCK` matches) written one of three plain ways (a double-quoted line
    with JSON's escapes, a `>-` folded block of evenly indented lines, a plain sentence on one line), as
    YAML reads it; None for any other form (the file is parsed when the field is used)."""
    if len(blocks) != 1:
        return None
    head, body = blocks[0].group(2).strip(), blocks[0].group(3)
    lines = body.splitlines()
    if head.startswith('"'):
        return _quoted(head) if not lines else None
    if head == ">-":
        indent = len(lines[0]) - len(lines[0].lstrip(" ")) if lines else 0
        even = lines and indent and all(len(l) - len(l.lstrip(" ")) == indent and l.strip() and l == l.rstrip()
                                        and "\t" not in l for l in lines)
        return " ".join(l.strip() for l in lines) if even else None
    plain = (not lines and head[:1].isalpha() and " " in head and ": " not in head and " #" not in head
             and not head.endswith(":"))
    return head if plain else None


@lru_cache(maxsize=1)
def builtin() -> tuple:
    from . import catalog_cache
    paths = sorted(catalog_dir().glob("RM*.yaml"))
    sources = catalog_cache.read_sources(paths)
    cached = catalog_cache.load(sources)
    if cached is not None:
        rules = []
        for path in paths:
            condition, items, needs = cached[path.name]
            fast = _fields(sources[path.name][0].decode("utf-8", "replace"), path)
            if fast is not None and (fast.pop("for_each") is not None) == (items is not None):
                rules.append(CompiledRule(None, path, (condition, items), fast, needs))
            else:   # written in a form the exact reading does not take: the file parsed now
                rules.append(CompiledRule(_metadata(_read(path), path), path, (condition, items), None, needs))
        return tuple(rules)
    rules = tuple(load_dir(catalog_dir()))
    catalog_cache.store(sources, rules)
    return rules


def _rule(raw: dict) -> Rule:
    values = dict(raw)
    values["examples"] = Examples(**raw["examples"])
    for key in ("scope", "references", "at"):
        values[key] = tuple(values.get(key, ()))
    return Rule(**values)

"""The rule catalog: one YAML file per rule in rules/, compiled once at load.

The catalog is validated against the `RuleModel` schema (pydantic) by the test suite and for
user rule packs; the built-in catalog then loads through the fast path, without importing
pydantic, because a pre-commit hook pays for every millisecond of start-up.
"""

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

from .expr import ROOTS, ExpressionError, compile_expression, deserialize


@lru_cache(maxsize=1)
def _fact_path():   # compiled when a rule is compiled or checked, not at a start from the cache
    return re.compile(r"(?<![\w.])(?:%s)(?:\.[A-Za-z_][A-Za-z0-9_]*)+" % "|".join(ROOTS))


@dataclass(eq=False, repr=False)   # lean: each generated method costs a compile at start-up
class Examples:
    """A rule's runnable examples: inputs it must flag (with where and what) and inputs it must pass."""
    bad: list
    good: list


@dataclass(eq=False)
class Rule:
    """One rule file's fields, as its YAML gives them."""
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
    fix_title: str | None = None    # an edit's words in --fix's list, from the edit's facts (`{edit.<fact>}`)


class CompiledRule:
    """A rule with its expressions compiled and the fact paths its condition reads. From the catalog
    cache it holds every field but the examples, which its file gives when first asked for."""

    def __init__(self, fields: dict, source: Path, compiled: tuple | None = None, needs: list | None = None,
                 rule: Rule | None = None):
        self.__dict__.update(fields)   # plain attributes: a run reads them thousands of times
        self._fields, self.source, self._rule = fields, source, rule
        if compiled is None:
            compiled = (compile_expression(fields["when"]),
                        compile_expression(fields["for_each"]) if fields["for_each"] else None)
        self._compiled = compiled   # programs, or from the cache their serialized form (made a program when first run)
        if needs is None:
            reads = _fact_path().findall(fields["when"] + " " + (fields["for_each"] or ""))
            needs = sorted({p for p in reads if not p.startswith("item.")})
        self.needs = needs

    @property
    def condition(self):
        return self._program(0)

    @property
    def items(self):
        return self._program(1)

    def _program(self, which: int):
        program = self._compiled[which]
        if isinstance(program, bytes):
            program = deserialize(program)
            self._compiled = tuple(program if k == which else p for k, p in enumerate(self._compiled))
        return program

    @classmethod
    def of(cls, rule: Rule, source: Path) -> "CompiledRule":
        return cls({name: getattr(rule, name) for name in CACHED}, source, rule=rule)

    @property
    def rule(self) -> Rule:
        if self._rule is None:
            self._rule = _metadata(_read(self.source), self.source)
        return self._rule

    @property
    def problem_kinds(self) -> tuple:
        return tuple(self.problems or ())

    def __getattr__(self, name):   # what the cache does not hold (the examples): from the rule file
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.rule, name)

    def problem_message(self, kind: str) -> str:
        """The message template of one problem kind this rule reports."""
        return (self.problems or {}).get(kind) or self.message


CACHED = tuple(f.name for f in fields(Rule) if f.name != "examples")   # what the catalog cache holds of a rule


class RuleFileError(Exception):
    pass


def catalog_dir() -> Path:
    here = Path(__file__).resolve().parent
    packaged = here / "rules"                 # inside an installed wheel
    return packaged if packaged.is_dir() else here.parent / "rules"   # editable install / checkout


MAX_RULE_FILE = 1024 * 1024   # the largest built-in rule file is ~10 KB


def _read(path: Path) -> dict:
    import yaml
    from .config import refused_text
    from .sources.files import Refused, read_input
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        raw = yaml.load(read_input(str(path), MAX_RULE_FILE, what="rule-file").decode("utf-8"), Loader=loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as err:
        raise RuleFileError(f"{path}: cannot read rule: {refused_text(err) if isinstance(err, Refused) else err}") from None
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
        return CompiledRule.of(rule, path)
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
    return _unknown_facts(rule, path) or _mistyped(rule, path), rule


def _mistyped(rule: CompiledRule, path: Path) -> list:
    """CEL's type check against each fact's declared type: a condition comparing an int fact with a string
    never fires, one giving an int instead of a bool fails on every subject."""
    from .expr import type_error
    walked = rule.for_each.strip() if rule.for_each else None
    problems = [f"{path}: {name}: {error} (docs/facts.md gives each fact's type)"
                for name, error in (("for_each", walked and type_error(walked, result="list")),
                                    ("when", type_error(rule.when, walked))) if error]
    return problems


def _unknown_facts(rule: CompiledRule, path: Path) -> list:
    """A fact no input sets is always absent, so a condition reading it never fires: a load error."""
    from .fact_paths import problem
    problems = []
    for field_name, paths in (("when", _fact_path().findall(rule.when)),
                              ("for_each", _fact_path().findall(rule.for_each or "")),
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


@lru_cache(maxsize=1)
def builtin() -> tuple:
    from . import catalog_cache
    folder = catalog_dir()
    files = catalog_cache.identity(folder)
    cached = _from_cache(catalog_cache.load(files), folder, files)
    if cached is not None:
        return cached
    rules = tuple(load_dir(folder))
    catalog_cache.store(files, [{"file": r.source.name, "fields": dict(r._fields), "condition": r.condition.serialize(),
                                 "items": r.items.serialize() if r.items else None, "needs": tuple(r.needs)}
                                for r in rules])
    return rules


_ENTRY = {"file", "fields", "condition", "items", "needs"}


def _from_cache(entries, folder: Path, files) -> tuple | None:
    """The catalog from the cache's entries when they are exactly one well-formed entry per rule file
    (names as listed); else None (the catalog is built from the files)."""
    if not (isinstance(entries, list) and files and len(entries) == len(files)):
        return None
    names = [name for name, *_ in files]
    rules = []
    for entry, name in zip(entries, names):
        if not (isinstance(entry, dict) and entry.keys() == _ENTRY and entry["file"] == name
                and _well_formed(entry["fields"]) and isinstance(entry["condition"], bytes)
                and (entry["items"] is None or isinstance(entry["items"], bytes))
                and (entry["items"] is None) == (entry["fields"]["for_each"] is None)
                and isinstance(entry["needs"], tuple) and all(isinstance(n, str) for n in entry["needs"])):
            return None
        rules.append(CompiledRule(entry["fields"], folder / name, (entry["condition"], entry["items"]),
                                  list(entry["needs"])))
    return tuple(rules)


_TYPES = {f.name: f.type for f in fields(Rule)}
_STRINGS = ("scope", "references", "at")


def _well_formed(values) -> bool:
    """The cached fields of one rule: every field of CACHED, of its type (the tuples hold strings, the
    problems map strings to strings or None)."""
    return (isinstance(values, dict) and values.keys() == set(CACHED)
            and all(isinstance(values[name], _TYPES[name]) for name in CACHED)
            and all(isinstance(v, str) for name in _STRINGS for v in values[name])
            and all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in (values["problems"] or {}).items()))


def _rule(raw: dict) -> Rule:
    values = dict(raw)
    values["examples"] = Examples(**raw["examples"])
    for key in ("scope", "references", "at"):
        values[key] = tuple(values.get(key, ()))
    return Rule(**values)

"""Which rules run and what happens to their findings, from the settings: selection, rule packs,
per-file ignores, inline suppressions and severity overrides."""

from .suggest import suggest
import fnmatch
import os
from dataclasses import replace

from . import engine
from .config import ConfigError, Settings


class Policy:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self.catalog = _catalog(self.settings.rule_packs)
        self.by_key = {key: rule for rule in self.catalog for key in (rule.id, rule.name)}
        s = self.settings
        for where, selectors in (("select", s.select or []), ("extend-select", s.extend_select),
                                 ("ignore", s.ignore), ("severity", list(s.severity)),
                                 *((f"per-file-ignores.{g}", v) for g, v in s.per_file_ignores.items())):
            for selector in selectors:
                self._check(selector, where)
        select = None if s.select is None else s.select + s.extend_select
        self.rules = [r for r in self.catalog if engine.selected(r, select, s.ignore)]
        self.enabled_ids = {r.id for r in self.rules}

    def _check(self, selector: str, where: str):
        if selector in self.by_key or any(k.startswith(selector) for k in self.by_key if k.startswith("RM")):
            return
        names = [r.name for r in self.catalog]   # ids are numbers: a "close" id would be a guess
        close = None if selector[:2] == "RM" else suggest(selector, names)
        like = next(r for r in self.catalog if r.emitted_by == "condition")
        hint = f"; did you mean `{close}`?" if close else \
            f" (use an id like {like.id}, a prefix like {like.id[:3]}, or a name like {like.name})"
        source = f"{self.settings.source}: " if self.settings.source else ""
        raise ConfigError(f"{source}{where}: unknown rule selector `{selector}`{hint}")

    def enabled(self, rule_id: str) -> bool:
        return rule_id in self.enabled_ids

    def rule_for(self, kind: str):
        """The rule whose YAML lists problem `kind` (problems.py)."""
        if not hasattr(self, "_by_problem"):
            self._by_problem = {k: rule for rule in self.catalog for k in rule.problem_kinds}
        return self._by_problem[kind]

    def complete(self, findings: list) -> list:
        """Readers' problems (problems.finding) as their rule's findings: id, name, severity, fix, and the
        message its YAML words for the kind."""
        return [f if f.severity or not f.problem else self._completed(f) for f in findings]

    def word(self, reasons: list) -> str:
        """A launch's reasons (problems.reason), each worded by the rule that lists its kind, joined by "; "."""
        return "; ".join(engine.render(self.rule_for(why["kind"]).problem_message(why["kind"]), {"item": self._worded(why)})
                         for why in reasons)

    def _worded(self, facts: dict) -> dict:
        """`facts` with each fact that is a list of reasons worded (a reason's own reasons too)."""
        return {name: self.word(value) if _reasons(value) else value for name, value in facts.items()}

    def _completed(self, found):
        kind, facts = found.problem
        facts = self._worded(facts)
        rule = self.rule_for(kind)
        return replace(found, rule=rule.id, name=rule.name, severity=rule.severity, fix=rule.fix,
                       message=engine.render(rule.problem_message(kind), {"item": facts}))

    def finish(self, findings: list, texts: dict) -> list:
        """Reader findings filtered by selection, then suppressions, per-file ignores and severities."""
        findings = [f for f in self.complete(findings) if self.enabled(f.rule)]
        if any("rmlint:" in text for text in texts.values()):
            from .suppress import apply
            findings = [f for f in self.complete(apply(findings, texts, self.by_key, self.enabled))
                        if self.enabled(f.rule)]
        findings = [f for f in findings if not self._ignored_in_file(f)]
        return [self._severity(f) for f in findings]

    def _ignored_in_file(self, finding) -> bool:
        if not self.settings.per_file_ignores or finding.path.startswith("<"):
            return False
        relative = os.path.relpath(os.path.abspath(finding.path), self.settings.root).replace(os.sep, "/")
        for pattern, selectors in self.settings.per_file_ignores.items():
            target = relative if "/" in pattern else os.path.basename(relative)
            if fnmatch.fnmatch(target, pattern) and _matches(finding, selectors):
                return True
        return False

    def _severity(self, finding):
        for selector, level in self.settings.severity.items():
            if _matches(finding, [selector]):
                return replace(finding, severity=level)
        return finding


def _reasons(value) -> bool:
    from .problems import Reason
    return isinstance(value, list) and bool(value) and all(isinstance(why, Reason) for why in value)


def _matches(finding, selectors) -> bool:
    return any(finding.rule.startswith(s) or finding.name == s for s in selectors)


def _catalog(packs: list) -> list:
    """The built-in rules and the packs' rules; every problem of every pack is reported at once."""
    from .rules import RuleFileError, builtin, load_dir
    from pathlib import Path
    rules, problems = list(builtin()), []
    taken = {key: r.source for r in rules for key in (r.id, r.name)}
    for pack in packs:
        try:
            extra = load_dir(Path(pack), validate=True)
        except RuleFileError as err:
            problems += str(err).splitlines()
            continue
        for rule in extra:
            clash = [key for key in (rule.id, rule.name) if key in taken]
            problems += [f"{rule.source}: {key} is already used by {taken[key]}" for key in clash]
            taken.update({key: rule.source for key in (rule.id, rule.name)})
        rules += extra
    if problems:
        raise ConfigError("\n".join(f"rule pack: {problem}" for problem in problems))
    return rules

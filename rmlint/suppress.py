"""Inline suppressions in shell and YAML files:

    # rmlint: ignore[qlora-with-zero3] QLoRA under ZeRO-3 is what we test here on purpose
    --zero_stage 3 \\

A comment suppresses the listed rules (ids or names) on its own line, or, alone on its line, on
the next line; when that line starts a command continued with `\\`, on the whole command. A reason
after the brackets is required; one that suppresses nothing is reported.
"""

import re
from dataclasses import dataclass, field


_COMMENT = re.compile(r"#\s*rmlint:\s*ignore\[([^\]]*)\]?(.*)$")


@dataclass
class Suppression:
    line: int
    column: int
    codes: list
    reason: str
    lines: range                 # the lines it covers (a range: 10,000 suppressions stay small)
    used: set = field(default_factory=set)


def _command_ends(lines: list) -> list:
    """For each line (1-based index), the last line of the command continued from it with `\\`."""
    ends = [0] * (len(lines) + 2)
    for number in range(len(lines), 0, -1):
        continued = lines[number - 1].rstrip().endswith("\\") and number < len(lines)
        ends[number] = ends[number + 1] if continued else number
    return ends


def scan(text: str) -> list:
    """Every suppression comment, in one pass over the lines (linear in the text)."""
    lines = text.split("\n")
    ends = None
    found = []
    for number, line in enumerate(lines, start=1):
        if "rmlint:" not in line:
            continue
        match = _COMMENT.search(line)
        if not match or not _is_comment(line, match.start()):
            continue
        codes = [c.strip() for c in match.group(1).split(",") if c.strip()]
        last = number
        if not line[:match.start()].strip() and number < len(lines):   # alone on its line: the next command
            ends = ends or _command_ends(lines)
            last = ends[number + 1]
        found.append(Suppression(number, match.start() + 1, codes, match.group(2).strip(), range(number, last + 1)))
    return found


def _is_comment(line: str, start: int) -> bool:
    """The `#` opens a comment: at the start of the line or after whitespace (not inside a word)."""
    return start == 0 or line[start - 1] in " \t"


def apply(findings: list, texts: dict, rules: dict, enabled) -> list:
    """Findings left after suppressions, plus the problems of the suppressions themselves.
    `rules` maps id and name to rule; `enabled(rule_id)` says whether a rule runs."""
    from .finding import Location
    from .problems import finding as problem
    by_path = {path: scan(text) for path, text in texts.items() if "rmlint:" in text}
    kept, extra = [], []
    for finding in findings:
        match = next((s for s in by_path.get(finding.path, ()) if finding.line in s.lines and s.reason
                      and any(c in (finding.rule, finding.name) for c in s.codes)), None)
        if match is None:
            kept.append(finding)
        else:
            match.used.update(c for c in match.codes if c in (finding.rule, finding.name))
    for path, suppressions in by_path.items():
        for s in suppressions:
            where = Location(path, s.line, s.column)
            if not s.reason:
                extra.append(problem("suppression-without-reason", where, codes=list(s.codes)))
                continue
            for code in s.codes:
                rule = rules.get(code)
                if rule is None:
                    extra.append(problem("suppression-not-a-rule", where, code=code))
                elif code not in s.used and enabled(rule.id):
                    extra.append(problem("suppression-unused", where, code=code))
    return kept + extra   # the problems of the suppressions: completed and selected by the policy

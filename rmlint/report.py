"""Render findings: pure functions from findings to text; the CLI decides where it goes."""

import json

_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m", "dim": "\033[2m", "bold": "\033[1m"}
_RESET = "\033[0m"


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{_COLOURS[style]}{text}{_RESET}" if colour else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(result) -> str:
    infos = sum(1 for f in result.findings if f.severity == "info")
    if not result.findings:
        return f"All checks passed ({_plural(result.files, 'file')} checked)."
    parts = [_plural(result.errors, "error"), _plural(result.warnings, "warning")]
    if infos:
        parts.append(_plural(infos, "note"))
    return f"Found {', '.join(parts)} in {_plural(result.files, 'file')} checked."


def render_text(result, colour: bool = False) -> str:
    lines = []
    for f in result.findings:
        where = _paint(f"{f.path}:{f.line}:{f.column}:", "bold", colour)
        severity = _paint(f.severity, f.severity, colour)
        lines.append(f"{where} {severity} {f.rule} {f.message}  {_paint('[' + f.name + ']', 'dim', colour)}")
        if f.fix and f.severity != "info":
            lines.append(f"  {_paint('fix:', 'dim', colour)} {f.fix}")
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def render_json(result) -> str:
    document = {
        "version": 1,
        "findings": [{key: getattr(f, key) for key in
                      ("rule", "name", "severity", "message", "path", "line", "column", "fix")}
                     for f in result.findings],
        "summary": {"files": result.files, "errors": result.errors, "warnings": result.warnings},
    }
    return json.dumps(document, indent=2) + "\n"


def render(result, fmt: str, colour: bool = False) -> str:
    return render_json(result) if fmt == "json" else render_text(result, colour)


def rules_table(rules) -> str:
    width = max(len(r.name) for r in rules)
    lines = [f"{'id':<6} {'name':<{width}} {'severity':<8} summary"]
    lines += [f"{r.id:<6} {r.name:<{width}} {r.severity:<8} {r.summary}" for r in rules]
    return "\n".join(lines) + "\n"


def rules_json(rules) -> str:
    return json.dumps([{"id": r.id, "name": r.name, "severity": r.severity, "scope": list(r.scope),
                        "summary": r.summary} for r in rules], indent=2) + "\n"


def _example_text(example: dict) -> str:
    if "argv" in example:
        return example["argv"]
    if "deepspeed" in example:
        return json.dumps(example["deepspeed"], indent=2)
    return example["file"]["text"].rstrip("\n")


def explain(rule) -> str:
    """A ruff-style page for one rule, rendered from its YAML file."""
    scope = ", ".join(rule.scope)
    parts = [f"# {rule.id} {rule.name} ({rule.severity})", "",
             "## What it does", rule.summary + ".", "",
             "## Why is this bad?", rule.why.strip(), "",
             "## Example", *[_example_text(e) for e in rule.examples.bad], "",
             "## Use instead", *[_example_text(e) for e in rule.examples.good], "",
             "## Fix", rule.fix.strip(), "",
             "## References", *[f"- {ref}" for ref in rule.references], "",
             f"Applies to: {scope}. Condition: `{' '.join(rule.when.split())}`"]
    return "\n".join(parts) + "\n"

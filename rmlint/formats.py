"""Machine formats for CI: SARIF 2.1.0 (GitHub code scanning) and GitHub workflow commands."""

import json
import os

SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
GITHUB_COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def _uri(path: str) -> str:
    if path.startswith("<"):
        return path.strip("<>")
    relative = os.path.relpath(os.path.abspath(path)) if os.path.isabs(path) else path
    return relative.replace(os.sep, "/")


def _rule_entry(rule) -> dict:
    from .rule_pages import explain
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.why.split())},
        "help": {"text": f"{' '.join(rule.why.split())}\nFix: {rule.fix}", "markdown": explain(rule)},
        "helpUri": rule.references[0],
        "defaultConfiguration": {"level": SARIF_LEVELS[rule.severity]},
        "properties": {"tags": list(rule.scope)},
    }


def sarif(result, rules) -> str:
    from .about import __version__
    used = sorted({f.rule for f in result.findings})
    catalog = {r.id: r for r in rules}
    entries = [_rule_entry(catalog[rule_id]) for rule_id in used if rule_id in catalog]
    index = {entry["id"]: i for i, entry in enumerate(entries)}
    results = []
    for f in result.findings:
        location = {"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}}}
        if f.line:
            location["physicalLocation"]["region"] = {"startLine": f.line, "startColumn": max(f.column, 1)}
        entry = {"ruleId": f.rule, "level": SARIF_LEVELS[f.severity], "message": {"text": f.message},
                 "locations": [location]}
        if f.rule in index:
            entry["ruleIndex"] = index[f.rule]
        results.append(entry)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "rmlint", "version": __version__, "semanticVersion": __version__,
                                      "informationUri": "https://pypi.org/project/rmlint/", "rules": entries}},
                  "results": results}],
    }
    errors = getattr(result, "rule_errors", ())
    if errors:   # a rule that failed at run time: its check did not run (SARIF's tool notifications)
        document["runs"][0]["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": [
            {"level": "warning", "message": {"text": f"rule {error}"}} for error in errors]}]
    return json.dumps(document, indent=2) + "\n"


def _escape(text: str, property_value: bool = False) -> str:
    from .finding import printable
    text = printable(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def github(result) -> str:
    """`::error file=...,line=...,col=...,title=...::message` lines (GitHub Actions workflow commands)."""
    lines = []
    for f in result.findings:
        props = [f"file={_escape(f.path, True)}"]
        if f.line:
            props += [f"line={f.line}", f"col={f.column}"]
        props.append(f"title={_escape(f'{f.rule} {f.name}', True)}")
        lines.append(f"::{GITHUB_COMMANDS[f.severity]} {','.join(props)}::{_escape(f.message)}")
    lines += [f"::warning title=rmlint rule error::{_escape(error)}" for error in getattr(result, "rule_errors", ())]
    return "".join(line + "\n" for line in lines)

"""Machine formats for CI: SARIF 2.1.0 (GitHub code scanning) and GitHub workflow commands; and the words of
why checkpoint checks were skipped, which the text note and JSON's `skipped_checkpoints` share."""

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


# Why a checkpoint's checks were skipped (no rule's finding: a note): each kind a reader records
# (problems.skip; hub_cache, hub_remote's HubError, checkpoint.subjects) -> its words; a fact that is a
# reason itself (`item.error` of hub-unread) is worded first. `{item.x:,}` groups a number's thousands.
SKIPPED = {
    "not-found": "no such file or folder {if item.searched == 'working-directory'}in the working directory"
                 "{else}from here or beside the script{end}",
    "not-in-hf-cache": "not a local path and not in the Hugging Face cache ({item.cache})",
    "hf-cache-partial": "the Hugging Face cache holds only part of it (weights not all downloaded)",
    "hub-unread": "not read from the Hub: {item.error}",
    "hub-offline": "HF_HUB_OFFLINE is set and rmlint's Hub cache holds no copy of it",
    "hub-needs-huggingface-hub": "--hub needs huggingface_hub (pip install 'rmlint[hub]')",
    "hub-cache-unwritable": "cannot keep what was read: {item.error}",
    "hub-timeout": "the Hub did not answer in time (hub-timeout)",
    "hub-cannot-connect": "cannot connect to the Hub ({item.exception})",
    "hub-failed": "{item.exception}: {item.error}",
    "hub-forbidden": "{item.file}: HTTP {item.status}, not allowed (a gated or private repo: set HF_TOKEN)",
    "hub-http-error": "{item.file}: HTTP {item.status}",
    "hub-ignores-range": "{item.file}: the server ignores Range requests",
    "hub-no-config": "the Hub has no config.json or adapter_config.json for it (HTTP 404)",
    "hub-file-too-large": "{item.file} is {item.size:,} bytes, over rmlint's {item.limit:,}-byte cap",
    "hub-too-many-shards": "the index names {item.shards:,} shards, over rmlint's {item.limit} cap",
    "hub-weights-missing": "{item.file} is not on the Hub: rmlint reads safetensors headers only",
    "hub-short-length": "{item.file}: {item.got} bytes returned, too few for a safetensors header",
    "hub-header-too-large": "{item.file}: header of {item.length:,} bytes, over the {item.limit_kb} KB rmlint reads "
                            "from one weight file",
    "hub-header-cut": "{item.file}: the response ended after {item.got} bytes, inside the header",
    "hub-no-size": "{item.file}: the server did not say the file's size",
}


class SkipReason(str):
    """Why a checkpoint's checks were skipped, worded (`Result.skipped`); `kind` names it for machines."""
    kind = ""


def skip_reason(why) -> SkipReason:
    """A reader's reason (problems.skip: a kind with facts) in words; a reason already worded is kept as it is."""
    from .problems import Skip
    if not isinstance(why, Skip):
        return why if isinstance(why, SkipReason) else SkipReason(why)
    from .engine import render
    facts = {name: skip_reason(value) if isinstance(value, Skip) else value for name, value in why.items()}
    worded = SkipReason(render(SKIPPED[why["kind"]], {"item": facts}))
    worded.kind = why["kind"]
    return worded

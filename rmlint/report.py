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
        where = _paint(f"{f.path}:{f.line}:{f.column}:" if f.line else f"{f.path}:", "bold", colour)
        severity = _paint(f.severity, f.severity, colour)
        lines.append(f"{where} {severity} {f.rule} {f.message}  {_paint('[' + f.name + ']', 'dim', colour)}")
        if f.fix and f.severity != "info":
            lines.append(f"  {_paint('fix:', 'dim', colour)} {f.fix}")
    lines.append(summary_line(result))
    lines += [_paint(f"note: checkpoint checks skipped for `{model}` ({where.path}:{where.line}:{where.column}): {reason}",
                     "dim", colour) for model, where, reason in getattr(result, "skipped", ())]
    return "\n".join(lines) + "\n"


def render_json(result) -> str:
    document = {
        "version": 1,
        "findings": [{key: getattr(f, key) for key in
                      ("rule", "name", "severity", "message", "path", "line", "column", "fix")}
                     for f in result.findings],
        "summary": {"files": result.files, "errors": result.errors, "warnings": result.warnings},
        "skipped_checkpoints": [{"model": model, "path": where.path, "line": where.line, "column": where.column,
                                 "reason": reason} for model, where, reason in getattr(result, "skipped", ())],
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
    if "checkpoint" in example:
        return f"rmlint inspect <checkpoint fixture {example['checkpoint']}>"
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


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000


def _head_line(ckpt: dict) -> str:
    head = ckpt["head"]
    if head["found"]:
        return (f"{head['name']} {head['shape_text']} {head['dtype']} in {head['file']} - {head['kind']}"
                f" (prefix `{ckpt['prefix']}` from {ckpt['prefix_from']})")
    if ckpt["other_heads"]:
        return f"{', '.join(ckpt['other_heads'])} (not `{ckpt['prefix']}`, the prefix from {ckpt['prefix_from']})"
    if ckpt["lora"]["only_lora"]:
        return f"only LoRA factors of `{ckpt['prefix']}`; no base weight"
    return "none" + (f" (expected `{ckpt['prefix']}.weight`, prefix from {ckpt['prefix_from']})"
                     if ckpt["head_expected"] else "")


def _values_line(head: dict) -> str:
    if head["state"]:
        return head["state"]
    if head["note"]:
        return head["note"]
    return f"std {head['std']:.4g}; not at a known initialisation" if head["found"] and head["std"] else "not read"


def inspect_summary(ckpt: dict) -> str:
    """The short human summary `rmlint inspect` prints above the findings."""
    rows = [("format", f"{ckpt['format_text']}, {ckpt['tensors']} tensors, {_size(ckpt['size'])}")]
    if ckpt["has_config"]:
        rows.append(("model", f"{ckpt['architectures'] or 'no architectures'}, hidden size {ckpt['hidden_size'] or '?'}"))
    rows.append(("head", _head_line(ckpt)))
    if ckpt["head"]["found"]:
        rows.append(("values", _values_line(ckpt["head"])))
    rows.append(("quantization", ckpt["quant_text"] or "none"))
    lora = ckpt["lora"]
    if ckpt["adapter"]:
        rows.append(("LoRA", f"r={lora['r']}, task_type {lora['task_type'] or 'none'}, modules_to_save "
                             f"{lora['mts_text']}, base {lora['base'] or '?'}"))
    if ckpt["has_config"]:
        stats = "mean/std in config.json" if ckpt["has_stats"] else "no mean/std in config.json"
        rows.append(("normalize", f"normalize_reward {'on' if ckpt['normalize_reward'] else 'off'}, {stats}"))
    width = max(len(label) for label, _ in rows)
    return "\n".join([ckpt["path"]] + [f"  {label:<{width}}  {text}" for label, text in rows]) + "\n"


def render_inspect(entries: list, result, fmt: str, colour: bool = False) -> str:
    """`rmlint inspect`: per checkpoint its summary, then the findings (text); or one JSON document."""
    if fmt == "json":
        document = json.loads(render_json(result))
        document["checkpoints"] = [ckpt for ckpt in entries]
        return json.dumps(document, indent=2) + "\n"
    return "\n".join(inspect_summary(ckpt) for ckpt in entries) + "\n" + render_text(result, colour)

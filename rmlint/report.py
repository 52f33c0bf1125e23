"""Render findings: pure functions from findings to text; the CLI decides where it goes."""

import json

from .finding import printable

_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m", "dim": "\033[2m", "bold": "\033[1m"}
_RESET = "\033[0m"


def _paint(text: str, style: str, colour: bool) -> str:
    return f"{_COLOURS[style]}{text}{_RESET}" if colour else text


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def unread_launches(result) -> list:
    return [entry for entry in getattr(result, "launches", []) if not entry["understood"]]


def summary_line(result) -> str:
    infos = sum(1 for f in result.findings if f.severity == "info")
    checked = f"{_plural(result.files, 'file')} checked"
    if getattr(result, "unread", 0):
        checked += f", {result.unread} skipped (not read by rmlint)"
    failed = len(getattr(result, "rule_errors", ()))
    unrun = f" {_plural(failed, 'rule evaluation')} failed (below)." if failed else ""
    if not result.findings and not unread_launches(result):
        return f"All checks {'that ran ' if failed else ''}passed ({checked}).{unrun}"
    if not result.findings:
        return f"No findings in {checked}, but not every launch was read.{unrun}"
    parts = [_plural(result.errors, "error"), _plural(result.warnings, "warning")]
    if infos:
        parts.append(_plural(infos, "note"))
    return f"Found {', '.join(parts)} in {checked}.{unrun}"


WINDOW = 100   # characters of a long source line shown around the column


def _excerpt(text: str, line: int, column: int, colour: bool) -> list:
    """The offending source line with a caret under the column, as ruff shows it."""
    text, column = text.rstrip("\r\n"), max(column, 1)
    start = max(0, column - 1 - WINDOW // 2) if len(text) > WINDOW else 0
    shown = printable(text[start:start + WINDOW])
    prefix, suffix = ("..." if start else ""), ("..." if start + WINDOW < len(text) else "")
    pad = "".join(c if c == "\t" else " " for c in printable(text[start:column - 1]))
    gutter = " " * len(str(line))
    bar = _paint("|", "dim", colour)
    return [f"{gutter} {bar}", f"{_paint(str(line), 'dim', colour)} {bar} {prefix}{shown}{suffix}",
            f"{gutter} {bar} {' ' * len(prefix)}{pad}{_paint('^', 'error', colour)}"]


def render_text(result, colour: bool = False, source=None, fixable=frozenset()) -> str:
    """One line per finding (concise); with `source(path, line)` giving file lines, the offending line
    and a caret under the column follow (full). `fixable`: findings `--fix` would fix, marked [*]."""
    lines = []
    for f in result.findings:
        path = printable(f.path)
        where = _paint(f"{path}:{f.line}:{f.column}:" if f.line else f"{path}:", "bold", colour)
        severity = _paint(f.severity, f.severity, colour)
        marker = " [*]" if f in fixable else ""
        lines.append(f"{where} {severity} {f.rule}{marker} {printable(f.message)}  {_paint('[' + f.name + ']', 'dim', colour)}")
        text = source(f.path, f.line) if source is not None and f.line else None
        if text is not None:
            lines += _excerpt(text, f.line, f.column, colour)
        if f.fix and f.severity != "info":
            lines.append(f"  {_paint('fix:', 'dim', colour)} {printable(f.fix)}")
    lines.append(summary_line(result))
    lines += [_paint(printable(f"note: launch not understood at {e['path']}:{e['line']} ({e['program'] or e['launcher']}): "
                               f"{e['reason']}"), "dim", colour) for e in unread_launches(result)]
    lines += [_paint(printable(f"note: checkpoint checks skipped for `{model}` ({where.path}:{where.line}:"
                               f"{where.column}): {reason}"), "dim", colour) for model, where, reason in result.skipped]
    lines += rule_error_lines(result)
    return "\n".join(lines) + "\n"


def rule_error_lines(result) -> list:
    """Rules whose expression failed on some input: their check did not run there."""
    return [printable(f"note: rule {error} (the rule's check did not run there)")
            for error in getattr(result, "rule_errors", ())]


def render_json(result) -> str:
    document = {
        "version": 1,
        "findings": [{key: getattr(f, key) for key in
                      ("rule", "name", "severity", "message", "path", "line", "column", "fix")}
                     for f in result.findings],
        "summary": {"files": result.files, "errors": result.errors, "warnings": result.warnings,
                    "skipped_files": getattr(result, "unread", 0)},
        "launches": list(getattr(result, "launches", [])),
        "skipped_checkpoints": [{"model": model, "path": where.path, "line": where.line, "column": where.column,
                                 "reason": reason, "reason_kind": getattr(reason, "kind", "")}
                                for model, where, reason in result.skipped],
        "versions": result.versions,   # package -> {version, source}: the target versions the files were judged for
        "rule_errors": list(getattr(result, "rule_errors", ())),
    }
    return json.dumps(document, indent=2) + "\n"


def render(result, fmt: str, colour: bool = False, rules=None, source=None, fixable=frozenset()) -> str:
    if fmt == "sarif":
        from .formats import sarif
        from .rules import builtin
        return sarif(result, rules if rules is not None else builtin())
    if fmt == "github":
        from .formats import github
        return github(result)
    return render_json(result) if fmt == "json" else render_text(result, colour, source, fixable)


def statistics(result, fmt: str = "text", fixable=frozenset()) -> str:
    """ruff-style counts: one line per rule with findings, most frequent first (a JSON list with --format json)."""
    counts, fixes = {}, {}
    for f in result.findings:
        key = (f.rule, f.name, f.severity)
        counts[key] = counts.get(key, 0) + 1
        fixes[key] = fixes.get(key, 0) + (f in fixable)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt == "json":
        return json.dumps([{"rule": rule, "name": name, "severity": severity, "count": count,
                            "fixable": fixes[(rule, name, severity)]}
                           for (rule, name, severity), count in ordered], indent=2) + "\n"
    lines = [f"{count:>5}  {rule}  {name} [{severity}]" + (" [*]" if fixes[(rule, name, severity)] else "")
             for (rule, name, severity), count in ordered]
    return "".join(line + "\n" for line in lines) + summary_line(result) + "\n"


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:,} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000


def _listed(values: list) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


_PREFIX_FROM = {"config": "config.json", "flag": "{flag}", "flag-default": "the {flag} default", "live": "the live model",
                "adapter": "the adapter", "openrlhf-default": "OpenRLHF's default (>= 0.5.4)",
                "model-class": "the model class", "checkpoint": "the checkpoint"}


_HEAD_KINDS = {"llamafactory-value-head": "LLaMA-Factory value head (value_head file)", "trl-value-head": "TRL value head",
               "deepspeed-chat-head": "DeepSpeed-Chat head", "classifier": "HF classifier",
               "score": "OpenRLHF / HF sequence-classification head", "openrlhf-value-head": "OpenRLHF value head"}


def _head_line(ckpt: dict) -> str:
    head = ckpt["head"]
    source = _PREFIX_FROM.get(ckpt["prefix_from"], ckpt["prefix_from"]).format(flag=ckpt["prefix_flag"])
    if head["found"]:
        kind = _HEAD_KINDS.get(head["kind"], head["kind"])
        return (f"{head['name']} {_listed(head['shape'])} {head['dtype']} in {head['file']} - {kind}"
                f" (prefix `{ckpt['prefix']}` from {source})")
    if ckpt["other_heads"]:
        return f"{', '.join(ckpt['other_heads'])} (not `{ckpt['prefix']}`, the prefix from {source})"
    if ckpt["lora"]["only_lora"]:
        return f"only LoRA factors of `{ckpt['prefix']}`; no base weight"
    return "none" + (f" (expected `{ckpt['prefix']}.weight`, prefix from {source})"
                     if ckpt["head_expected"] else "")


_FORMATS = {"safetensors": "safetensors", "pytorch-bin": "pytorch_model.bin (torch.save)",
            "safetensors-sharded": "sharded safetensors ({shards} of {indexed} shards present)",
            "pytorch-bin-sharded": "sharded pytorch_model.bin ({shards} shards)",
            "peft-adapter": "PEFT adapter (LoRA r={r})", "deepspeed": "DeepSpeed checkpoint folder",
            "none": "no weight files"}


def _format_line(ckpt: dict) -> str:
    text = _FORMATS.get(ckpt["format"], ckpt["format"]).format(
        shards=ckpt["shards"], indexed=ckpt["shards"] + len(ckpt["missing_shards"]), r=ckpt["lora"]["r"])
    if ckpt["deepspeed"]:
        stage = ckpt["ds_stage"] if ckpt["ds_stage"] != 2 else "1/2"
        text += f"; DeepSpeed ZeRO-{stage} states in {ckpt['ds_tag']}/ ({ckpt['ds_ranks']} ranks)"
    return f"{text}, {ckpt['tensors']} tensors, {_size(ckpt['size'])}"


def _quantization_line(quantization: dict) -> str:
    if not quantization["method"]:
        return "none"
    parts = [f"{quantization['bits']}-bit {quantization['method']}" if quantization["bits"] else quantization["method"]]
    parts += [quantization["scheme"]] if quantization["scheme"] else []
    parts += ["double quant"] if quantization["double_quant"] else []
    parts += [f"storage {quantization['storage']}"] if quantization["storage"] else []
    return ", ".join(parts)


def _values_line(ckpt: dict) -> str:
    head = ckpt["head"]
    state = {"zeros": "all zeros", "constant": f"constant: every value is {head['value']:g}",
             "nonfinite": f"{head['nonfinite_values']} NaN/Inf values", "empty": f"empty (shape {head['shape']})",
             "placeholder": f"a placeholder of shape {head['shape']} (a ZeRO-3 partition)"}.get(head["state"])
    if state:
        return state
    if head["init"] == "openrlhf":
        return (f"std {head['std']:.4g} = {head['init_ratio']:.2f} x OpenRLHF's init 1/(h+1) (n={head['values']}, "
                f"kurtosis {head['kurtosis']:.2f}): {head['confidence']} confidence the head was never trained")
    if head["init"] == "hf":
        return (f"std {head['std']:.4g} ~ transformers' init N(0, {ckpt['initializer_range']:g}); training at "
                "reward-model learning rates barely moves such a head, so this proves nothing either way")
    if head["init"] == "linear":
        return f"all |w| <= 1/sqrt(h) with kurtosis {head['kurtosis']:.2f} ~ nn.Linear's uniform init; inconclusive"
    return f"std {head['std']:.4g}; not at a known initialisation" if head["found"] and head["std"] else "not read"


def inspect_summary(ckpt: dict) -> str:
    """The short human summary `rmlint inspect` prints above the findings."""
    rows = [("format", _format_line(ckpt))]
    if ckpt["has_config"]:
        rows.append(("model", f"{ckpt['architectures'] or 'no architectures'}, hidden size {ckpt['hidden_size'] or '?'}"))
    rows.append(("head", _head_line(ckpt)))
    if ckpt["head"]["found"]:
        rows.append(("values", _values_line(ckpt)))
    rows.append(("quantization", _quantization_line(ckpt["quantization"])))
    lora = ckpt["lora"]
    if ckpt["adapter"]:
        rows.append(("LoRA", f"r={lora['r']}, task_type {lora['task_type'] or 'none'}, modules_to_save "
                             f"{_listed(lora['modules_to_save']) if lora['modules_to_save'] else 'none'}, base {lora['base'] or '?'}"))
    if ckpt["has_config"]:
        stats = "mean/std in config.json" if ckpt["has_stats"] else "no mean/std in config.json"
        rows.append(("normalize", f"normalize_reward {'on' if ckpt['normalize_reward'] else 'off'}, {stats}"))
    width = max(len(label) for label, _ in rows)
    return "\n".join([printable(ckpt["path"])] + [f"  {label:<{width}}  {printable(text)}" for label, text in rows]) + "\n"


def render_inspect(entries: list, result, fmt: str, colour: bool = False) -> str:
    """`rmlint inspect`: per checkpoint its summary, then the findings (text); or one JSON document."""
    if fmt == "json":
        document = json.loads(render_json(result))
        document["checkpoints"] = list(entries)
        return json.dumps(document, indent=2) + "\n"
    return "\n".join(inspect_summary(ckpt) for ckpt in entries) + "\n" + render_text(result, colour)

"""OpenRLHF arguments written as a YAML/JSON mapping (`pretrain: ...`, `ds.zero_stage: 3`, or
nested `ds: {zero_stage: 3}`), turned into the argv OpenRLHF's parser would get."""

from ...finding import Location
from .argv import Arg
from .flags import table
from .launch import Invocation

PREFERENCE = ["train_rm", "train_ppo_ray", "train_sft", "train_dpo", "serve_rm", "train_ppo", "train_kto",
              "train_prm", "train_kd", "lora_combiner"]


def _flatten(data: dict, prefix: tuple = ()):
    for key, value in data.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            yield from _flatten(value, path)
        else:
            yield path, value


def _entrypoint(data: dict, names: set) -> str | None:
    named = str(data.get("entrypoint") or data.get("module") or "")
    for entrypoint in PREFERENCE:
        if named.endswith(entrypoint):
            return entrypoint
    best, best_score = None, 0.0
    for entrypoint in PREFERENCE:
        flags = table().entrypoints.get(entrypoint, {})
        known = sum(1 for n in names if n in flags)
        score = known / max(len(names), 1)
        if known >= 2 and score >= 0.6 and score > best_score:
            best, best_score = entrypoint, score
    return best


def invocation_of(document) -> Invocation | None:
    items = [(path, value) for path, value in _flatten(document.data)
             if path[0] not in ("entrypoint", "module")]
    names = {"--" + ".".join(map(str, path)).lstrip("-") for path, _ in items}
    entrypoint = _entrypoint(document.data, names)
    if entrypoint is None:
        return None
    args = []
    for path, value in items:
        where = document.locate(path)
        flag = "--" + ".".join(map(str, path)).lstrip("-")
        if value is None or value is False:
            continue
        args.append(Arg(flag, where))
        if value is True:
            continue
        values = value if isinstance(value, list) else [value]
        for number, item in enumerate(values):
            at = document.locate(path + (number,)) if isinstance(value, list) else where
            args.append(Arg(_text(item), Location(at.path, at.line, at.column)))
    named = str(document.data.get("entrypoint") or document.data.get("module") or "")
    form = "script" if named.endswith(".py") and "openrlhf/cli/" not in named else "module"
    return Invocation(entrypoint, args, Location(document.path, 1, 1), "file", 0, form=form, program=named or entrypoint)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

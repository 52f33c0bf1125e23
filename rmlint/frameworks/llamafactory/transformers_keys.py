"""The keys LLaMA-Factory takes from transformers' Seq2SeqTrainingArguments, by transformers release, from
rmlint/data/transformers_args.json (tools/extract_transformers_args.py): which transformers releases a
launch runs with, and the keys it gives that none of them has (`evaluation_strategy`, gone by 4.51;
`eval_strategy`, new in 4.41). HfArgumentParser.parse_dict stops on such a key ("Some keys are not used by
the HfArgumentParser"), as on any key it does not know."""

import json
from functools import lru_cache

from ..trainer.common import DATA


@lru_cache(maxsize=1)
def table() -> dict:
    raw = json.loads((DATA / "transformers_args.json").read_text())
    where = {v: i for i, v in enumerate(raw["versions"])}
    indices = lambda spans: frozenset(i for a, b in spans for i in range(where[a], where[b] + 1))  # noqa: E731
    return {"versions": raw["versions"], "keys": {k: indices(v) for k, v in raw["keys"].items()},
            "llamafactory": {k: indices(v) for k, v in raw["llamafactory"].items()}}


@lru_cache(maxsize=None)
def allowed_keys(llamafactory_version: str) -> frozenset:
    """The TrainingArguments keys of any transformers a LLaMA-Factory release allows."""
    t = table()
    runs = t["llamafactory"].get(llamafactory_version, frozenset())
    return frozenset(key for key, had in t["keys"].items() if had & runs)


def minor(version: str) -> str:
    """4.51.3 -> 4.51: a key comes or goes with a minor release."""
    return ".".join(version.split(".")[:2])


def span_text(indices) -> str:
    from ...versions import runs
    versions = [minor(v) for v in table()["versions"]]
    return ", ".join(versions[a] if a == b else f"{versions[a]} - {versions[b]}" for a, b in runs(indices))


def matched(llamafactory_versions: list) -> tuple:
    """(indices of the transformers releases the launch runs with, those releases as text, the pin's source or ""
    when they are what LLaMA-Factory allows): the minors that the launch's LLaMA-Factory releases allow (their
    `transformers` requirement), narrowed to the target transformers (a pin, the settings, the installed one)
    when one of those releases allows it; a target none allows is refused by LLaMA-Factory's own version check,
    a different failure, so it is not used."""
    from ...versions import current
    t = table()
    allowed = frozenset().union(*(t["llamafactory"].get(v, frozenset()) for v in llamafactory_versions))
    target = current()["transformers"]
    pinned = {i for i in allowed if target.known and minor(t["versions"][i]) == minor(target.text)}
    if pinned:
        return pinned, target.text, target.source
    return allowed, span_text(allowed) if allowed else "", ""


def problems(settings, llamafactory_versions: list, own: set) -> tuple:
    """(transformers releases as text, their source, [problem]) for the keys of `settings` that are no key of
    LLaMA-Factory's own (`own`: its dataclasses' keys in the releases the launch fits) and are transformers
    keys only in other releases than those the launch runs with."""
    t = table()
    runs, shown, source = matched(llamafactory_versions)
    found = []
    if not runs:
        return shown, source, found
    for key in map(str, settings.values):
        had = t["keys"].get(key)
        if not had or key in own or had & runs:
            continue
        where = settings.locate(key)
        item = {"key": key, "file": where.path, "line": where.line, "column": where.column, "target": shown,
                "target_source": source, "had": span_text(had), "removed": "", "added": ""}
        if max(had) < min(runs):
            item["removed"] = minor(t["versions"][max(had) + 1])
        elif min(had) > max(runs):
            item["added"] = minor(t["versions"][min(had)])
        found.append(item)
    return shown, source, found

"""LLaMA-Factory's own keys and launch forms per release, from rmlint/data/llamafactory_history.json
(tools/extract_trainer_args.py --releases): which releases a set of keys fits, and the keys a launch
gives that those releases do not have (`train_mm_proj_only`, removed after 0.9.1). Keys of the HF
TrainingArguments are not LLaMA-Factory's: transformers_keys.py judges them by transformers release."""

import json
from functools import lru_cache

from ..trainer.common import DATA


@lru_cache(maxsize=1)
def history() -> dict:
    raw = json.loads((DATA / "llamafactory_history.json").read_text())
    where = {v: i for i, v in enumerate(raw["versions"])}
    spans = lambda pairs: [(where[a], where[b]) for a, b in pairs]   # noqa: E731
    return {"versions": raw["versions"], "keys": {k: spans(v) for k, v in raw["keys"].items()},
            "programs": {k: spans(v) for k, v in raw["programs"].items()}}


def _has(spans: list, index: int) -> bool:
    return any(low <= index <= high for low, high in spans)


def span_text(indices: list) -> str:
    versions = history()["versions"]
    low, high = versions[indices[0]], versions[indices[-1]]
    newest = len(versions) - 1
    if indices[-1] == newest:
        return f">= {low}"
    return f"{low} - {high}" if low != high else low


def releases(keys, forms=()) -> list:
    """Indices of the releases that run every launch form in `forms` and accept the most of `keys`: their
    own keys, and the TrainingArguments keys of a transformers they allow (keys move between the two:
    overwrite_output_dir is LLaMA-Factory's own from 0.9.4, after transformers 5 dropped it); ties go to
    the newest set of accepted keys."""
    from .transformers_keys import allowed_keys
    h = history()
    every = range(len(h["versions"]))
    runnable = [i for i in every if all(_has(h["programs"].get(form, []), i) for form in forms)] or list(every)
    hf = {i: allowed_keys(h["versions"][i]) for i in runnable}
    accepted = lambda i: frozenset(k for k in keys if _has(h["keys"].get(k, ()), i) or k in hf[i])   # noqa: E731
    count = {i: len(accepted(i)) for i in runnable}
    best = max(count.values())
    newest = max(i for i in runnable if count[i] == best)
    return [i for i in runnable if count[i] == best and accepted(i) == accepted(newest)]


def own_keys(fit: list) -> set:
    """LLaMA-Factory's own keys in any of the releases `fit` (indices)."""
    return {key for key, spans in history()["keys"].items() if any(_has(spans, i) for i in fit)}


def problems(settings, forms=()) -> tuple:
    """(release span text, [problem], the releases fit as indices) for the keys of `settings`
    (trainers.common.Settings): each key LLaMA-Factory had in some release but not in the releases the
    launch fits."""
    from ..trainer.common import known_keys
    h = history()
    keys = [str(k) for k in settings.values]
    fit = releases(keys, forms)
    newest = known_keys("llamafactory")    # LLaMA-Factory's newest keys and the HF TrainingArguments'
    found = []
    for key in keys:
        spans = h["keys"].get(key)
        if not spans or key in newest or any(_has(spans, i) for i in fit):
            continue
        had = [i for low, high in spans for i in range(low, high + 1)]
        if had[-1] >= fit[0]:
            continue   # added after the releases the launch fits: keys move from HF's TrainingArguments
            # into LLaMA-Factory's own dataclasses (overwrite_output_dir in 0.9.4), so this says little
        where = settings.locate(key)
        found.append({"key": key, "file": where.path, "line": where.line, "column": where.column,
                      "key_releases": span_text(had), "removed_in": h["versions"][had[-1] + 1],
                      "releases": span_text(fit)})
    return span_text(fit), found, fit


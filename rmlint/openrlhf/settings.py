"""Every setting of a parsed launch, read the way the releases it fits would read it.

A value is *known* when every release the flags fit agrees on it (the flag was given,
or all those releases share its default). Otherwise, or when an argument could not be
read (`$EXTRA_ARGS`), the setting is unknown and the rules that need it stay quiet.
"""

from dataclasses import dataclass, field

from .argv import Parsed
from .concepts import CONCEPTS, resolve
from .flags import table, version_key


@dataclass
class Settings:
    values: dict = field(default_factory=dict)
    flag: dict = field(default_factory=dict)     # concept -> flag name that set it (or that holds its default)
    given: set = field(default_factory=set)      # concepts set on the command line
    unknown: set = field(default_factory=set)


def _derived(values: dict, release: int) -> dict:
    """Settings computed from others, as the code of that release computes them."""
    derived = {}
    derived["dtype"] = values["param_dtype"] or ("bf16" if values["bf16"] else "fp32")
    attn = values["attn_implementation"] or ("flash_attention_2" if values["flash_attn"] else "eager")
    derived["attn"] = attn
    derived["packing_forces_flash"] = bool(values["packing_samples"]) and "flash_attention" not in attn
    targets = values["target_modules"]
    derived["head_in_targets"] = isinstance(targets, list) and values["value_head_prefix"] in targets
    # PPO critics get init_value_head = (actor path == critic path) since 0.4.0 (PR #391)
    derived["critic_inits_head"] = version_key(table().versions[release]) >= (0, 4, 0)
    return derived


def read(parsed: Parsed) -> Settings:
    flags = table().entrypoints[parsed.entrypoint]
    settings = Settings()
    views = []
    for release in _distinct_releases(parsed.candidates, flags):
        view, origin = {}, {}
        for concept in CONCEPTS:
            value, name, given = resolve(concept, flags, parsed.given, release)
            view[concept] = value
            origin[concept] = (name, given)
        view.update(_derived(view, release))
        views.append((view, origin))
    newest, origin = views[-1]
    for concept, value in newest.items():
        settings.values[concept] = value
        name, given = origin.get(concept, (None, False))
        if name:
            settings.flag[concept] = name
        if given:
            settings.given.add(concept)
            if not parsed.given[name].known:
                settings.unknown.add(concept)
        elif parsed.opaque and concept in CONCEPTS:
            settings.unknown.add(concept)
        if any(repr(v[concept]) != repr(value) for v, _ in views):
            settings.unknown.add(concept)
    # derived settings are unknown when what they derive from is
    sources = {"dtype": ("param_dtype", "bf16"), "attn": ("attn_implementation", "flash_attn"),
               "packing_forces_flash": ("packing_samples", "attn_implementation", "flash_attn")}
    for name, needs in sources.items():
        if any(n in settings.unknown for n in needs):
            settings.unknown.add(name)
        given = next((n for n in needs if n in settings.given), None)
        if given:
            settings.flag[name] = settings.flag[given]
            settings.given.add(name)
    return settings


def _distinct_releases(candidates: list, flags: dict) -> list:
    """The candidate releases where some flag appears, disappears or changes its default."""
    changes = set()
    for spec in flags.values():
        changes.add(spec.first)
        changes.add(spec.last + 1)
        changes.update(since for since, _ in spec.defaults)
    picked = [r for r in candidates if r in changes or r == candidates[0]]
    if picked[-1] != candidates[-1]:
        picked.append(candidates[-1])
    return picked

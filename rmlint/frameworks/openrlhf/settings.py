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
class OpenRLHFSettings:
    """An OpenRLHF launch's settings by concept (rmlint's own settings are config.Settings)."""
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
    if values["reward_model_path"]:
        # <= 0.1.0 loaded the trained reward model's weights from --reward_model_path over its base
        derived["reward_pretrain"] = values["reward_model_path"]
    elif version_key(table().versions[release]) < (0, 0, 2) and values["reward_pretrain"] is None:
        # 0.0.1 had no --reward_pretrain: the reward model was built on --critic_pretrain
        derived["reward_pretrain"] = values["critic_pretrain"]
    return derived


def lora_head(values: dict, release: int) -> tuple:
    """What LoRA does to the value head in one release: ("wrapped" | "frozen" | "targeted", targets as text,
    "" when find_all_linear_names picks them).

    <= 0.1.4 saved the whole model (merge_and_unload), head included: no story to tell ("saved").
    0.1.5 - 0.2.6 `target_modules or find_all_linear_names(model, load_in_4bit)`, which collects
    `bnb.nn.Linear4bit` layers under 4-bit and `nn.Linear` otherwise; the value head, the model's last
    module, is never quantized, so under QLoRA it is not a target. >= 0.2.7 PEFT's "all-linear".
    """
    targets = values["target_modules"]
    if version_key(table().versions[release]) < (0, 1, 5):
        return "saved", ""
    if isinstance(targets, list) and values["value_head_prefix"] in targets:
        return "targeted", str(targets)
    if targets == "all-linear":
        return "wrapped", "all-linear"
    if targets == ["all-linear"]:
        return "literal", ""        # PEFT takes the list as a module name (the target-modules-all-linear-list rule's story)
    if targets:
        return "frozen", " ".join(map(str, targets)) if isinstance(targets, list) else str(targets)
    # no targets: find_all_linear_names; "" for the targets, which the rules word (its Linear4bit layers under 4-bit)
    return ("frozen" if values["load_in_4bit"] else "wrapped"), ""


def _lora_head_facts(views: list, candidates: list) -> dict:
    """The releases in which LoRA wraps the head and those in which it leaves it frozen."""
    spans = {"wrapped": [], "frozen": []}
    targets = ""
    for (view, _), (low, high) in zip(views, _view_spans(views, candidates)):
        outcome, text = view["lora_head"]
        if outcome in spans:
            pairs = spans[outcome]
            if pairs and candidates.index(low) == candidates.index(pairs[-1][1]) + 1:
                pairs[-1] = (pairs[-1][0], high)   # the previous view's span runs on
            else:
                pairs.append((low, high))
        if outcome == "frozen":
            targets = text
    def span_text(pairs):
        return ", ".join(table().span(low, high) for low, high in pairs)
    return {"lora_head_wrapped": span_text(spans["wrapped"]), "lora_head_frozen": span_text(spans["frozen"]),
            "lora_frozen_targets": targets}


def _view_spans(views: list, candidates: list) -> list:
    starts = [view["_release"] for view, _ in views]
    ends = [candidates[candidates.index(nxt) - 1] for nxt in starts[1:]] + [candidates[-1]]
    return list(zip(starts, ends))


def read(parsed: Parsed) -> OpenRLHFSettings:
    flags = table().entrypoints[parsed.entrypoint]
    settings = OpenRLHFSettings()
    views = []
    for release in _distinct_releases(parsed.candidates, flags):
        view, origin = {}, {}
        for concept in CONCEPTS:
            value, name, given = resolve(concept, flags, parsed.given, release)
            view[concept] = value
            origin[concept] = (name, given)
        view.update(_derived(view, release))
        view["lora_head"], view["_release"] = lora_head(view, release), release
        views.append((view, origin))
    newest, origin = views[-1]
    for concept, value in newest.items():
        if concept in ("lora_head", "_release"):
            continue
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
    settings.values.update(_lora_head_facts(views, parsed.candidates))
    if any(c in settings.unknown and (c in settings.given or parsed.opaque)
           for c in ("target_modules", "load_in_4bit", "value_head_prefix")):
        settings.unknown |= {"lora_head_wrapped", "lora_head_frozen", "lora_frozen_targets"}
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

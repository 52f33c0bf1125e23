"""Which rules a live model breaks, decided from its `live` facts (and the checkpoint's `ckpt` facts
when the guard was told where it was loaded from). Torch-free: the facts are plain values. Each
rule's wording is its YAML message, rendered over `view`; the ids, severities and texts of the
static rules are reused where the meaning is the same."""

import math

from ..frameworks.checkpoint.facts import HEAD_NAMES
from ..frameworks.checkpoint.values import init_match, statistics

def _same(live: list, stored: list) -> bool:
    """Equal up to bf16 rounding (a bf16 model loads an fp32 head): a re-drawn head differs by far more."""
    return len(live) == len(stored) and all(math.isclose(a, b, rel_tol=1e-2, abs_tol=1e-6)
                                            for a, b in zip(live, stored))


def _looks_fresh(values: list, hidden: int, config: dict) -> bool:
    """Indistinguishable from OpenRLHF's N(0, 1/(h+1)) initialisation (the statistical test of value-head-looks-untrained)."""
    initializer_range = config.get("initializer_range") if isinstance(config.get("initializer_range"), float) else 0.02
    return init_match(statistics(values), hidden, initializer_range)[0] == "openrlhf"


def view_of(live: dict, role: str | None, ckpt: dict | None) -> dict:
    """The facts the rules' messages name: `live`, and the static rules' own names for the same things."""
    head = live["head"]
    peft = live["peft"]
    targets = peft.get("targets")
    return {
        "live": {**live, "head": {k: v for k, v in head.items() if k != "values"},
                 "targets_pattern": targets if isinstance(targets, str) else "",   # "all-linear", a regex
                 "role": role or "reward",   # the rules word it: reward, critic, train_rm (in training)
                 "looked": [head["prefix"]] if head.get("prefix") else list(HEAD_NAMES),
                 "uint8_example": (live["uint8_4bit"] or [""])[0], "uint8_count": len(live["uint8_4bit"])},
        # the static rules name the head they judge `ckpt.head`: here it is the live one (head-outputs-not-one)
        "ckpt": {**(ckpt or {}), "head": {**((ckpt or {}).get("head") or {}),
                                          **{k: head.get(k, "") for k in ("name", "rows", "shape")}}},
        "role": {"kind": role or "reward"},
        "trainer": {"head": head.get("prefix", ""), "task_type": peft.get("task_type"), "deepspeed_file": "",
                    "deepspeed_bundled": False, "quant_storage": "",
                    "keys": {"task_type": "task_type", "modules_to_save": "modules_to_save",
                             "targets": "target_modules"}},
    }


def decide(live: dict, role: str | None, training: bool, ckpt: dict | None, stored: list | None) -> list:
    """The problem kinds (rules/*.yaml `problems:`) of the live model, in the order a user should read them."""
    head = live["head"]
    found = []
    if not head["found"]:
        return ["live-no-head"]
    if head["meta"]:
        found.append("live-head-on-meta")
    if head["rows"] > 1:
        found.append("live-head-rows")
    if live["zero3"] and live["uint8_4bit"]:
        found.append("live-qlora-zero3-storage")
    if live["norm"].get("used") and live["norm"]["wrong"]:
        found.append("live-normalization-buffers")
    if training:
        found += _training(head, live["peft"])
    values = head.get("values")
    if values is not None and stored is not None and ckpt and ckpt["head"]["found"] \
            and not ckpt["head"]["bad_values"] and not _same(values, stored):
        # train_rm (always) and a PPO critic (on the actor's path) draw a new head on purpose: a trained one
        # lost that way is reported; a reward model scoring with any head but the stored one too
        redrawn = role in ("train_rm", "critic") and ckpt["head"]["trained"] \
            and _looks_fresh(values, live["hidden"], live["config"])
        if redrawn or role != "train_rm":
            found.append("live-head-redrawn" if redrawn else "live-head-not-stored")
    return found


def _training(head: dict, peft: dict) -> list:
    if peft.get("wrapped"):
        if head["peft"] == "lora":
            return ["live-head-in-lora"]         # only its LoRA factors are trained and saved
        if head["peft"] == "plain":
            return ["live-head-frozen-by-peft"]  # frozen by PEFT and left out of the adapter
    return [] if head["requires_grad"] else ["live-head-frozen"]

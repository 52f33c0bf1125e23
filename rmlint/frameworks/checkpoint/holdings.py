"""What a LLaMA-Factory PPO `reward_model` must hold for its `reward_model_type`, as
create_reward_model (src/llamafactory/train/trainer_utils.py) loads it: `api` a URL it posts to
("Please provide full url."), `lora` an adapter it loads onto the policy plus value_head.safetensors/.bin
beside it ("Reward model is not correctly loaded."), `full` a model with config.json that load_model
builds with a value head."""

import os

VALUE_HEAD_FILES = ("value_head.safetensors", "value_head.bin")


def _names(folder: str) -> set:
    from .tensors import HEADER_SUFFIX
    try:
        return {n[: -len(HEADER_SUFFIX)] if n.endswith(HEADER_SUFFIX) else n for n in os.listdir(folder)}
    except OSError:
        return set()


def holds(path: str, kind: str, base_dirs: list) -> str:
    """What `path` holds that a `kind` reward model cannot load (the rule words each in its YAML): `not-url`, `url`,
    `full-model`, `adapter-without-head`, `adapter`; "" when it fits or is not here."""
    if kind == "api":
        if not path.startswith(("http://", "https://")):
            return "not-url"
        return ""
    if path.startswith(("http://", "https://")):
        return "url"
    from .hub_cache import resolve
    local, _ = resolve(path, base_dirs)
    if local is None or not os.path.isdir(local):
        return ""
    names = _names(local)
    adapter = "adapter_config.json" in names
    if kind == "lora" and not adapter and "config.json" in names:
        return "full-model"
    if kind == "lora" and adapter and not names & set(VALUE_HEAD_FILES):
        return "adapter-without-head"
    if kind == "full" and adapter and "config.json" not in names:
        return "adapter"
    return ""

"""The `reward` facts: is the reward model a launch names really a reward model, told from the launch
itself (the same path as the policy, a family other than the policy's, a chat or base model's name) and,
where the checkpoint is readable, from its config.json. Shared by OpenRLHF, TRL and LLaMA-Factory."""

import os

from .defaults import reward_defaults


def same_model(a, b) -> bool:
    """Two settings naming one model (`./sft/` and `sft` too)."""
    if not isinstance(a, str) or not isinstance(b, str) or not a or not b:
        return False
    return a == b or os.path.normpath(a) == os.path.normpath(b)


def config_of(path: str, base_dirs: list):
    """config.json of a model path on this machine (or read from the Hub with --hub), else None."""
    from .hub_cache import resolve
    local, _ = resolve(path, base_dirs)
    if local is None:
        return None
    folder = local if os.path.isdir(local) else os.path.dirname(local)
    name = os.path.join(folder, "config.json")
    if not os.path.isfile(name):
        return None
    from ...finding import SourceError
    from ...sources.document import load_json
    from ...sources.text import read_text
    try:
        data = load_json(read_text(name), name).data
    except SourceError:
        return None
    return data if isinstance(data, dict) else None


def _family(path: str, base_dirs: list) -> tuple:
    from .family import of_config, of_name
    config = config_of(path, base_dirs)
    family = of_config(config) if config else ""
    if family:
        return family, "config.json"
    family = of_name(path)
    return family, ("name" if family else "")


def build(reward: str, setting: str, policies: list, base_dirs: list, feeds_ids: bool, readable: bool) -> dict:
    """`reward` facts for the reward model at `reward` (written as `setting`), against the policy's
    settings `policies` [(path, setting)], the first being the policy itself. `readable`: the reward
    checkpoint was read here (then its head speaks, not its name)."""
    facts = reward_defaults()
    policies = [(p, s) for p, s in policies if isinstance(p, str) and p]
    if not isinstance(reward, str) or not reward or not policies:
        return facts
    facts.update(path=reward, setting=setting, policy=policies[0][0], policy_setting=policies[0][1],
                 feeds_ids=feeds_ids)
    same = next(((p, s) for p, s in policies if same_model(reward, p)), None)
    if same:
        facts.update(same_as_policy=True, policy=same[0], policy_setting=same[1])
        return facts
    facts["family"], facts["family_from"] = _family(reward, base_dirs)
    facts["policy_family"], facts["policy_family_from"] = _family(policies[0][0], base_dirs)
    facts["family_differs"] = feeds_ids and bool(facts["family"] and facts["policy_family"]) and \
        facts["family"] != facts["policy_family"]
    from .family import chat_word
    facts["chat_word"] = "" if readable else chat_word(reward)
    return facts

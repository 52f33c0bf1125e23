"""A verl launch (`python3 -m verl.trainer.main_ppo key=value ...`) as a `trainer` subject: each override
as Hydra decides it against the composed config, and the batch checks verl makes once the GPUs are
allocated (verl/utils/config.py validate_config, verl/workers/config/actor.py and critic.py, the
normalisation in verl/workers/fsdp_workers.py), each with the smallest change that passes them."""

import os

from ...finding import Location
from .. import hydra
from . import batch
from .config import flatten, keys, resolve, tree as make_tree

ENTRYPOINTS = {"main_ppo": "ppo_trainer", "main_generation": "generation", "fsdp_sft_trainer": "sft_trainer",
               "main_generation_server": "ppo_trainer", "main_eval": "evaluation", "sft_trainer": "sft_trainer_engine",
               "sft_trainer_ray": "sft_trainer_engine"}
# Hydra's and OmegaConf's own error texts, shown as data (omegaconf/dictconfig.py `Key '{key}' is not in struct`;
# hydra/_internal/config_loader_impl.py `Could not append to config. ...`, `Could not delete from config. ...`)
ERRORS = {"not-in-struct": "Key '{leaf}' is not in struct", "exists": "Could not append to config. An item is already at '{key}'",
          "missing": "Could not delete from config. '{key}' does not exist"}


def _user_config(name: str, folder: str | None, script: str):
    """(flat keys with defaults and places, base config name) of a config of the user's own (`--config-path
    dir --config-name x`, or the `config/` folder beside a script): its `defaults` name verl's config."""
    from ...finding import SourceError
    from ...sources.document import load_yaml
    from ...sources.text import read_text
    from ..trainer.common import find_file
    if not folder:
        return None
    path = find_file(os.path.join(folder, name + ".yaml"), script, walk_up=False)
    if path is None:
        return None
    try:
        document = load_yaml(read_text(path), path)
    except SourceError:
        return None
    data = document.data if isinstance(document.data, dict) else {}
    parents = [d for d in data.get("defaults") or [] if d != "_self_"]
    if len(parents) != 1 or not isinstance(parents[0], str) or keys(parents[0]) is None:
        return None
    flat = {}
    flatten({k: v for k, v in data.items() if k not in ("defaults", "hydra")}, "", flat)
    return flat, parents[0], path


def configuration(entry: str, line, script: str) -> tuple:
    """(Tree or None when the config is not known, config name, defaults, settings files) for a launch."""
    name, where = line.options.get("config_name", (ENTRYPOINTS.get(entry, ""), None))
    name = (name or "").removesuffix(".yaml")
    folder = (line.options.get("config_path") or (None, None))[0]
    own = keys(name)
    user = None if own is not None and (folder or "config").strip("./") in ("config", "") else \
        _user_config(name, folder, script)
    if user is not None:
        flat, base, path = user
        tree = make_tree(base)
        tree.add(flat)
        return tree, base, [path]
    if own is None:
        return None, name, []
    return make_tree(name), name, []


def _pinned(tree):
    """(the tree of the target verl release, the release, where it comes from) when a pin names a release of
    the table, else (the tree of every release, "", "")."""
    from ...versions import current
    from .config import release_index
    target = current()["verl"]
    index = release_index(target.text) if target.known else None
    pinned = tree.at(index) if index is not None else None
    if not pinned or not pinned.leaves:     # (a config the release does not ship: its entrypoint is not there)
        return tree, "", ""
    return pinned, target.text, target.source


def refused(line, every) -> list:
    """The overrides Hydra refuses, as `trainer.refused` items: against the target release when a pin
    names one (a key of other releases only gets the releases that have it), else against all of them."""
    from .config import span
    found = []
    tree, release, source = _pinned(every)
    fit = tree.fit([o.key for o in line.overrides if not o.prefix and not o.group])
    for override in line.overrides:
        if override.group or override.key.startswith("hydra.") or override.key.split(".")[0] in ("hydra",):
            continue
        verdict = tree.decide(override.prefix, override.key, override.value, fit)
        if not verdict:
            continue
        parts = override.key.split(".")          # Hydra names the first key on the path that is not there
        leaf = next((parts[i] for i in range(len(parts)) if not tree.has(".".join(parts[:i + 1]))), parts[-1])
        elsewhere = every.releases_of(override.key) if release and verdict == "not-in-struct" else ()
        found.append({"kind": verdict, "key": override.prefix + override.key, "release": release, "source": source,
                      "elsewhere": bool(elsewhere), "known_in": span(elsewhere) if elsewhere else "",
                      "error": ERRORS[verdict].format(leaf=leaf, key=override.key),
                      "suggestion": tree.hint(override.key) if verdict == "not-in-struct" else "",
                      "file": override.at.path, "line": override.at.line, "column": override.at.column})
    return found


def values_of(line, tree) -> tuple:
    """(values by key, places by key, keys whose value cannot be known)."""
    values, places, unknown = dict(tree.leaves), {}, set()
    for override in line.overrides:
        if override.group:
            continue
        if override.prefix == "~":
            values.pop(override.key, None)
            continue
        places[override.key] = override.at
        if override.known:
            values[override.key] = override.value
            unknown.discard(override.key)
        else:
            unknown.add(override.key)
    if line.opaque:   # `$@`: what is not written may be anything
        unknown |= {key for key in values if key not in places}
    return values, places, unknown


def subjects(entry: str, args: list, script: str, anchor: Location) -> tuple:
    """(subjects, findings) of one verl launch; `args` are the words after the module (.text, .at,
    .known, .opaque)."""
    from ..trainer.common import TrainerSettings, subject
    from ..trainer.defaults import defaults
    line = hydra.parse(args)
    tree, config, files = configuration(entry, line, script)
    trainer = defaults()
    trainer.update(framework="verl", stage="rl", finetuning="full")
    unknown = set()
    if tree is None:
        unknown |= {"trainer.refused", "trainer.checks"}
        values, places, blind = {}, {}, set()
    else:
        trainer["refused"] = refused(line, tree)
        pinned = _pinned(tree)[0]
        values, places, blind = values_of(line, pinned)   # the defaults of the pinned release
        get = lambda key: resolve(values, key, blind=blind)   # noqa: E731
        if config in ("ppo_trainer", "ppo_megatron_trainer"):
            _ppo(trainer, get, places, anchor, unknown)
            # `$@` may set input_tokenizer, but unwritten it re-tokenises; a release without the key (0.7.1 on)
            # always runs the reward loop, which decodes the rollouts and re-tokenises them
            if "reward_model.model.input_tokenizer" in blind or not pinned.has("reward_model.model.input_tokenizer"):
                trainer["reward_retokenizes"] = True
    reward_key = trainer["keys"].get("reward_model", _REWARD)
    settings = TrainerSettings({k: v for k, v in ((k, get(k)) for k in ("actor_rollout_ref.model.path", reward_key))
                                if v is not None} if tree else {}, places, anchor)
    if tree is not None and trainer["stage"] != "ppo":
        settings.values.pop(reward_key, None)
    made = subject(settings, trainer, {"reward_model": reward_key, "lora_rank": _LORA},
                   unknown, "verl", "actor_rollout_ref.model.path")
    made.settings_files += files
    return [made], []


_LORA = "actor_rollout_ref.model.lora_rank"
_REWARD = "reward_model.model.path"
_RELOCATED = {"reward_model.enable": "reward.reward_model.enable", _REWARD: "reward.reward_model.model_path"}


def _reward(get, legacy: str) -> tuple:
    """(key, value) of a reward-model setting: from 0.7.1 it lives under `reward.reward_model`, and verl's
    migrate_legacy_reward_impl copies the legacy `reward_model.*` key over it when that is not null."""
    value = get(legacy)
    if value is not None or get(_RELOCATED[legacy]) is None:
        return legacy, value
    return _RELOCATED[legacy], get(_RELOCATED[legacy])


def _ppo(trainer: dict, get, places: dict, anchor: Location, unknown: set) -> None:
    enabled = _reward(get, "reward_model.enable")[1] is True
    reward_key, reward = _reward(get, _REWARD)
    trainer["keys"].update(reward_model=reward_key, adapter=_LORA, targets="actor_rollout_ref.model.target_modules")
    if enabled:
        trainer["stage"] = "ppo"
        trainer["reward_model"] = reward if isinstance(reward, str) else ""
        if not isinstance(reward, str):
            unknown.add("trainer.reward_model")
    rank = get(_LORA)
    if isinstance(rank, int) and rank > 0:
        trainer.update(finetuning="lora", lora_rank=rank)
    # verl decodes the rollouts and re-tokenises them for the reward model through input_tokenizer (the
    # policy's path by default; null feeds the policy's token ids as they are)
    trainer["reward_retokenizes"] = get("reward_model.use_reward_loop") is True or \
        get("reward_model.model.input_tokenizer") is not None or reward_key != _REWARD   # (the reward loop's key)
    if not trainer["refused"]:   # a refused override stops the launch before verl's checks (and its value is unknown)
        trainer["checks"] = batch.checks(get, places, anchor) + _critic_lora(get, places, anchor)
    gpus = get("trainer.n_gpus_per_node"), get("trainer.nnodes")
    if all(isinstance(g, int) for g in gpus):
        trainer["gpus"] = gpus[0] * gpus[1]


def _critic_lora(get, places: dict, anchor: Location) -> list:
    """LoRA on the FSDP critic (critic.model.lora_rank > 0). verl loads the critic as
    AutoModelForTokenClassification; before 0.7.0 (PR #4695) it wrapped it with PEFT's CAUSAL_LM task type,
    from 0.7.0 with TOKEN_CLS, which puts the `score` head in modules_to_save. The rules decide by the
    target verl and PEFT releases what PEFT then does."""
    rank, critic = get("critic.model.lora_rank"), get("critic.enable")
    used = critic is True or critic is None and get("algorithm.adv_estimator") == "gae"
    if not (isinstance(rank, int) and rank > 0 and used and get("critic.strategy") in ("fsdp", "fsdp2")):
        return []
    targets = get("critic.model.target_modules")
    at = places.get("critic.model.lora_rank", anchor)
    return [{"check": "critic-lora", "key": "critic.model.lora_rank", "fix": "", "file": at.path, "line": at.line,
             "column": at.column, "a": rank, "b": 0, "c": 0, "d": 0, "all_linear": targets == "all-linear",
             "targets": targets if isinstance(targets, str) else ", ".join(map(str, targets or []))}]

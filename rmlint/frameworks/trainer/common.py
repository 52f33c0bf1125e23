"""What LLaMA-Factory, TRL and axolotl launches have in common: one `trainer` fact shape, settings with
the place each is written (YAML keys or command-line flags), misspelled keys, and the DeepSpeed file a
trainer names, read and linted as the HF Trainer consumes it."""

import json
import os
from dataclasses import dataclass
from functools import lru_cache

from ...data import TABLES as DATA
from ...finding import Location
from ...suggest import SURE, suggest

OWN_HEADS = {"llamafactory", "verl", "deepspeed_chat"}     # their own code builds and saves the head, not PEFT
# the head module a framework's reward model trains (PEFT matches modules_to_save by name suffix)
HEADS = {"llamafactory": ["v_head.summary"], "trl": ["score", "classifier"], "axolotl": ["score", "classifier"],
         "peft": ["score", "classifier", "value_head", "v_head.summary", "reward_head"]}   # any framework's
HEAD_WORDS = ("score", "head", "classifier", "summary", "reward")
NOT_HEADS = {"lm_head", "embed_tokens", "wte", "embed_out"}


@lru_cache(maxsize=None)
def snapshot(framework: str) -> dict:
    return json.loads((DATA / f"{framework}_args.json").read_text())


@lru_cache(maxsize=None)
def known_keys(framework: str) -> frozenset:
    return frozenset(snapshot(framework)["keys"])


@dataclass
class TrainerSettings:
    """A trainer's settings by top-level key, each with where it is written; `document` keeps nested
    positions when the settings come from one YAML/JSON file (rmlint's own settings are config.Settings)."""
    values: dict
    where: dict                       # key -> Location
    anchor: Location
    document: object = None

    @classmethod
    def of(cls, document) -> "TrainerSettings":
        return cls(document.data, {key: document.locate((key,)) for key in document.data},
                   Location(document.path, 1, 1), document)

    def get(self, key, default=None):
        value = self.values.get(key, default)
        return default if value is None else value

    def locate(self, key: str) -> Location:
        return self.where.get(key, self.anchor)


def as_list(value) -> list:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else []


def as_int(value, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


def as_bool(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "1", "yes"))


def typos(settings: TrainerSettings, framework: str, also_known=()) -> list:
    """Keys that are near-certain misspellings of a known key (one clearly closest match); `also_known`
    keys are judged elsewhere (by release)."""
    known, found = known_keys(framework), []
    for key in settings.values:
        if key in known or key in also_known:
            continue
        close = suggest(key, known, SURE)   # the guess is the finding: only a sure one
        if close:
            where = settings.locate(key)
            found.append({"key": str(key), "suggestion": close, "file": where.path, "line": where.line,
                          "column": where.column, "path": str(key)})
    return found


def is_head_like(name: str) -> bool:
    return name not in NOT_HEADS and any(word in name for word in HEAD_WORDS)


def head_facts(trainer: dict, at: Location) -> None:
    """Whether LoRA keeps the framework's head: PEFT matches `modules_to_save` and `target_modules` by
    name suffix, SEQ_CLS adds `classifier` and `score` (peft_model.py), and ignores names matching nothing
    (each such name is reported at `at`, where modules_to_save is written)."""
    heads = HEADS.get(trainer["framework"], [])
    saved = trainer["modules_to_save"]
    targeted = [head for head in heads for t in trainer["lora_targets"] if head == t or head.endswith("." + t)]
    trainer["head_in_targets"] = bool(targeted)
    trainer["head"] = targeted[0] if targeted else heads[0] if heads else ""
    trainer["unmatched_heads"] = [{"name": name, "head": trainer["head"], "file": at.path, "line": at.line,
                                   "column": at.column}
                                  for name in saved if is_head_like(name) and not any(h.endswith(name) for h in heads)]
    covered = any(head.endswith(name) for name in saved for head in heads)
    trainer["head_saved"] = trainer["framework"] in OWN_HEADS or trainer["task_type"] == "SEQ_CLS" or covered


def find_file(name: str, referrer: str, walk_up: bool) -> str | None:
    """A file a config names: from the current folder, beside the config, or (LLaMA-Factory and axolotl
    run from their checkout) in any folder above it; named as a folder walk names it."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    from ...sources.walk import project_folders
    folder = os.path.dirname(os.path.abspath(referrer))
    places = [os.getcwd(), *project_folders(referrer)]   # up to the repository's root: the same from any folder
    while walk_up:
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
        places.append(folder)
    found = next((os.path.join(p, name) for p in places if os.path.isfile(os.path.join(p, name))), None)
    if found is None:
        return None
    if os.path.isabs(referrer):         # named in the referrer's style, as a folder walk names it
        return os.path.normpath(found)
    relative = os.path.relpath(found)
    return relative if not relative.startswith("..") else found


def deepspeed_of(settings: TrainerSettings, key: str, trainer: dict, unknown: set, walk_up: bool = True) -> tuple:
    """(subjects, problems) of the DeepSpeed config a trainer names under `key` (a path, or a mapping
    written inline); sets trainer.zero_stage and trainer.deepspeed_file."""
    from ..deepspeed.subjects import deepspeed_subject
    from ...finding import SourceError
    from ...problems import unreadable
    from ...problems import finding as problem
    from ...sources.document import Document, read_config
    value = settings.values.get(key)
    where = settings.locate(key)
    if isinstance(value, dict) and settings.document is not None:
        inner = {path[1:]: spot for path, spot in settings.document.positions.items() if path[:1] == (key,) and path[1:]}
        config = Document(settings.document.path, value, inner)
    elif isinstance(value, str) and value:
        trainer["deepspeed_file"] = value
        path = find_file(value, where.path, walk_up)
        if path is None:
            unknown.add("trainer.zero_stage")
            return [], [problem("trainer-deepspeed-file-missing-above" if walk_up else "trainer-deepspeed-file-missing",
                                where, key=key, file=value)]
        try:
            config = read_config(path)
        except SourceError as err:
            unknown.add("trainer.zero_stage")
            return [], [unreadable(err)]
    else:
        return [], []
    if not isinstance(config.data, dict):
        unknown.add("trainer.zero_stage")
        return [], []
    subject = deepspeed_subject(config, "hf")      # every trainer here hands it to the HF Trainer
    stage = subject.facts["ds"]["zero_optimization"]["stage"]
    trainer["zero_stage"] = stage if isinstance(stage, int) else 0
    trainer["deepspeed_file"] = trainer["deepspeed_file"] or "inline"
    return [subject], []


def models(settings: TrainerSettings, trainer: dict, model_key: str, skipped: list) -> None:
    """What the checkpoints on this machine (local, or in the Hugging Face cache) say: a model that is
    already quantized (`trainer.model_quantization`), and for PPO whether the reward model has a head
    (`trainer.reward_head`: found | missing; "" when it is not here to read)."""
    from ..checkpoint.hub_cache import resolve
    for key, use in ((model_key, "model"), (trainer["keys"]["reward_model"], "reward")):
        path = settings.values.get(key)
        if not isinstance(path, str) or not path or (use == "reward" and trainer["stage"] != "ppo"):
            continue
        where = settings.locate(key)
        local, how = resolve(path, [os.path.dirname(where.path) or ".", "."])
        if local is None:
            if use == "reward":      # the base model is only read for a rare case: no note for it
                skipped.append((path, where, how))
            continue
        from ..checkpoint.facts import describe      # the readers only when there is a checkpoint to read
        from ..checkpoint.subjects import _read
        checkpoint = _read(os.path.normpath(local))
        if checkpoint.errors or checkpoint.format == "none" or checkpoint.missing_shards:
            continue        # half-read or half-downloaded: not judged here (rmlint inspect says why)
        facts = describe(checkpoint)
        if use == "model" and facts["quantized"] and not facts["adapter"]:
            trainer["model_quantization"] = facts["quantization"]
        elif use == "reward" and facts["format"] != "deepspeed" and not facts["adapter"]:
            trainer["reward_head"] = "found" if facts["head"]["any"] else "missing"


def subject(settings: TrainerSettings, trainer: dict, provenance: dict, unknown: set, kind: str, model_key: str = ""):
    """The trainer subject: `provenance` maps trainer facts to the setting key that sets them."""
    from ...facts import defaults as fact_defaults
    from ...subject import Subject
    head_facts(trainer, settings.locate(trainer["keys"]["modules_to_save"]))
    facts = fact_defaults()
    facts["input"]["kind"] = kind
    facts["trainer"] = trainer
    skipped = []
    if model_key:
        models(settings, trainer, model_key, skipped)
    provenance = dict(provenance, model_quantization=model_key, reward_head=trainer["keys"]["reward_model"])
    where = {f"trainer.{fact}": settings.locate(key) for fact, key in provenance.items() if key in settings.where}
    if model_key and trainer["stage"] == "ppo":
        facts["reward"] = reward_facts(settings, trainer, model_key)
        where["reward"] = settings.locate(trainer["keys"]["reward_model"])
    made = Subject("trainer", facts, settings.anchor, where, unknown)
    made.skipped = skipped
    return made


# the policy's settings a PPO reward model must not repeat, and whether the trainer feeds the reward
# model the policy's token ids (TRL's PPOTrainer; LLaMA-Factory's full reward model, which it warns must
# "share SAME tokenizer and vocabulary"); a LoRA or api reward model of LLaMA-Factory is no model path
POLICY_KEYS = {"trl": ("sft_model_path", "model_name_or_path"), "llamafactory": ("model_name_or_path",)}


def reward_facts(settings: TrainerSettings, trainer: dict, model_key: str) -> dict:
    from ..checkpoint.defaults import reward_defaults
    from ..checkpoint.identity import build
    key = trainer["keys"]["reward_model"]
    path = settings.values.get(key)
    full = trainer["framework"] != "llamafactory" or trainer["reward_model_type"] == "full"
    if not full or not isinstance(path, str):
        facts = reward_defaults()
    else:
        policies = [(settings.values.get(k), k) for k in POLICY_KEYS.get(trainer["framework"], (model_key,))]
        base = [os.path.dirname(settings.locate(key).path) or ".", "."]
        facts = build(path, key, policies, base, not trainer["reward_retokenizes"], trainer["reward_head"] != "")
    if trainer["framework"] == "llamafactory" and isinstance(path, str) and path:
        from ..checkpoint.holdings import holds
        facts["path"], facts["setting"] = path, key
        facts["holds"] = holds(path, trainer["reward_model_type"], [os.path.dirname(settings.locate(key).path) or ".", "."])
    return facts

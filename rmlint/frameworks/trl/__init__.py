"""TRL / HF Trainer launches as `trainer` facts: recipe YAMLs (`trl reward --config x.yaml`, alignment-
handbook recipes, `python reward_modeling.py --config x.yaml`) and the command lines that run them
(`accelerate launch [--config_file a.yaml] script.py --flag value`, `trl <command> ...`).

Sources (TRL at the commit in rmlint/data/trl_args.json): ModelConfig and get_peft_config /
get_quantization_config (trainer/model_config.py, trainer/utils.py: LoraConfig(task_type=lora_task_type,
modules_to_save=lora_modules_to_save), BitsAndBytesConfig(bnb_4bit_quant_storage=...)); _BaseConfig
(gradient_checkpointing and bf16 default to True); RewardTrainer (forces use_reentrant=True under PEFT +
ZeRO-3); experimental PPOConfig/PPOTrainer (batch and mini-batch arithmetic).
"""

import json
import math
import os
from functools import lru_cache

from ..trainer.common import TrainerSettings, as_bool, as_int, as_list, deepspeed_of, find_file, snapshot, subject, typos
from ..trainer.defaults import defaults

STAGE_OF_CLASS = {"RewardConfig": "rm", "PRMConfig": "prm", "PPOConfig": "ppo", "DPOConfig": "dpo",
                  "KTOConfig": "kto", "GRPOConfig": "grpo", "RLOOConfig": "rloo", "SFTConfig": "sft",
                  "ORPOConfig": "orpo", "CPOConfig": "cpo", "OnlineDPOConfig": "online_dpo"}
SCRIPT_STAGES = (("reward", "rm"), ("prm", "prm"), ("ppo", "ppo"), ("online_dpo", "online_dpo"), ("dpo", "dpo"),
                 ("kto", "kto"), ("grpo", "grpo"), ("rloo", "rloo"), ("orpo", "orpo"), ("sft", "sft"))
TRAINER_KEYS = {"per_device_train_batch_size", "output_dir", "learning_rate", "num_train_epochs",
                "gradient_accumulation_steps", "use_peft", "lora_r", "lora_task_type", "load_in_4bit",
                "dataset_name", "bf16", "deepspeed", "gradient_checkpointing", "max_steps"}
PROVENANCE = {"finetuning": "use_peft", "lora_targets": "lora_target_modules", "modules_to_save": "lora_modules_to_save",
              "task_type": "lora_task_type", "quant_storage": "bnb_4bit_quant_storage", "reward_model": "reward_model_path",
              "zero_stage": "deepspeed", "deepspeed_file": "deepspeed", "use_reentrant": "gradient_checkpointing_kwargs",
              "gradient_checkpointing": "gradient_checkpointing", "batch": "num_mini_batches", "num_labels": "model_init_kwargs"}
BUNDLED_ACCELERATE = {"zero1": 1, "zero2": 2, "zero3": 3}      # trl/accelerate_configs/<name>.yaml
DERIVED = {"head_saved": ("lora_task_type", "lora_modules_to_save"), "head_in_targets": ("lora_target_modules",),
           "unmatched_heads": ("lora_modules_to_save",), "quant_storage_ok": ("bnb_4bit_quant_storage", "dtype"),
           "quantization_bit": ("load_in_4bit", "load_in_8bit")}


def is_trl(data) -> bool:
    """A recipe for a TRL/HF script: ModelConfig's `model_name_or_path` beside HF Trainer arguments."""
    return isinstance(data, dict) and "model_name_or_path" in data and "stage" not in data and \
        "base_model" not in data and bool(TRAINER_KEYS & set(map(str, data)))


@lru_cache(maxsize=1)
def _stage_of_own_key() -> dict:
    """key -> stage, for the keys exactly one trainer's config class declares."""
    owners = {}
    for cls, names in snapshot("trl")["config_classes"].items():
        for name in names:
            owners.setdefault(name, set()).add(cls)
    return {key: STAGE_OF_CLASS[cls] for key, (cls, *more) in owners.items() if not more and cls in STAGE_OF_CLASS}


def stage_of_keys(keys) -> str:
    """The trainer a recipe is for, told by keys only one TRL config class declares."""
    stages = {_stage_of_own_key()[k] for k in keys if k in _stage_of_own_key()}
    return stages.pop() if len(stages) == 1 else ""


def stage_of_script(name: str) -> str:
    base = os.path.basename(name).lower()
    return next((stage for word, stage in SCRIPT_STAGES if word in base), "")


def _reentrant(value) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ""
    if isinstance(value, dict) and isinstance(value.get("use_reentrant"), bool):
        return "true" if value["use_reentrant"] else "false"
    return ""


def _quant_storage_ok(storage: str, dtype: str) -> bool:
    """PEFT's ZeRO-3 QLoRA recipe: the storage dtype set, and the same as the model's dtype."""
    return bool(storage) and storage != "uint8" and dtype in ("", "auto", storage)


def _mini_batch(trainer: dict, get) -> None:
    """PPOTrainer: local_batch_size = per_device × gradient_accumulation_steps must be a multiple of
    num_mini_batches (exact_div), and with whiten_rewards each mini-batch needs >= 8 samples."""
    micro, accum = as_int(get("per_device_train_batch_size", 8)), as_int(get("gradient_accumulation_steps", 1))
    minis = as_int(get("num_mini_batches", 1))
    batch = trainer["batch"]
    batch.update(micro=micro, grad_accum=accum, mini_batches=minis, local=micro * accum,
                 whiten=as_bool(get("whiten_rewards")))
    if minis > 0 and micro > 0 and accum > 0:
        batch["remainder"] = batch["local"] % minis
        batch["local_mini"] = batch["local"] // minis
        if batch["remainder"]:
            step = minis // math.gcd(micro, minis)      # the smallest accumulation that divides
            batch["fix"] = f"gradient_accumulation_steps: {((accum + step - 1) // step) * step}"


def _accelerate(trainer: dict, launch: dict, unknown: set) -> None:
    """ZeRO stage and process count from the accelerate config a launch names, when the trainer has no
    `deepspeed` of its own (TrainingArguments.deepspeed wins: accelerate's plugin is built from it)."""
    name = launch.get("accelerate_config") if isinstance(launch.get("accelerate_config"), str) else None
    if launch.get("num_processes"):
        trainer["gpus"] = launch["num_processes"]
    if launch.get("zero_stage"):
        trainer["zero_stage"], trainer["deepspeed_file"] = launch["zero_stage"], "--zero_stage"
        return
    if not name:
        return
    if name in BUNDLED_ACCELERATE:
        trainer["zero_stage"], trainer["deepspeed_file"] = BUNDLED_ACCELERATE[name], name
        trainer["deepspeed_bundled"] = True     # one of the accelerate configs TRL ships: the rules say whose
        return
    from ..accelerate import is_accelerate_config, subjects as accelerate_subjects
    from ...finding import SourceError
    from ...sources.document import load_yaml
    from ...sources.text import read_text
    path = find_file(name, launch["script"], walk_up=False)
    try:
        document = load_yaml(read_text(path), path) if path else None
    except SourceError:
        document = None
    if document is None or not is_accelerate_config(document.data):
        unknown.add("trainer.zero_stage")
        return
    trainer["gpus"] = trainer["gpus"] or as_int(document.data.get("num_processes"))
    found, _ = accelerate_subjects(document)
    if found:
        stage = found[0].facts["ds"]["zero_optimization"]["stage"]
        trainer["zero_stage"], trainer["deepspeed_file"] = (stage if isinstance(stage, int) else 0), name
    elif str(document.data.get("distributed_type", "")).upper() == "DEEPSPEED":
        unknown.add("trainer.zero_stage")


def trainer_subjects(settings: TrainerSettings, stage: str = "", launch: dict | None = None) -> tuple:
    get = settings.get
    stage = stage or stage_of_keys(settings.values) or stage_of_script(settings.anchor.path)
    four, eight = as_bool(get("load_in_4bit")), as_bool(get("load_in_8bit"))
    storage, dtype = str(get("bnb_4bit_quant_storage", "")), str(get("dtype", get("torch_dtype", "")))
    trainer = defaults()
    trainer.update(framework="trl", stage=stage, finetuning="lora" if as_bool(get("use_peft")) else "full",
                   lora_rank=as_int(get("lora_r", 16)), lora_targets=as_list(get("lora_target_modules")),
                   modules_to_save=as_list(get("lora_modules_to_save")), task_type=str(get("lora_task_type", "CAUSAL_LM")),
                   quantization_bit=4 if four else 8 if eight else 0, quantization_method="bnb",
                   quant_storage=storage, quant_storage_ok=_quant_storage_ok(storage, dtype), dtype=dtype,
                   reward_model=str(get("reward_model_path", "")),
                   fp16=as_bool(get("fp16")), bf16=as_bool(get("bf16", not as_bool(get("fp16")))),
                   gradient_checkpointing=as_bool(get("gradient_checkpointing", True)),
                   use_reentrant=_reentrant(get("gradient_checkpointing_kwargs")),
                   typos=typos(settings, "trl"))
    trainer["keys"].update(quantization="load_in_4bit" if four or not eight else "load_in_8bit", adapter="use_peft",
                           modules_to_save="lora_modules_to_save", targets="lora_target_modules",
                           task_type="lora_task_type", reward_model="reward_model_path")
    if stage == "ppo":
        _mini_batch(trainer, get)
    unknown = set()
    found, problems = deepspeed_of(settings, "deepspeed", trainer, unknown, walk_up=False)
    if not found and launch:
        _accelerate(trainer, launch, unknown)
    provenance = dict(PROVENANCE, quantization_bit=trainer["keys"]["quantization"])
    made = subject(settings, trainer, provenance, unknown, "trl", "model_name_or_path")
    if launch and not found and "deepspeed" not in settings.where:
        for fact in ("zero_stage", "deepspeed_file"):      # the accelerate config set them
            made.provenance[f"trainer.{fact}"] = launch["where"]
    return [made, *found], problems


def subjects(document) -> tuple:
    """A recipe file on its own: its trainer is told by its own keys or its file name."""
    return trainer_subjects(TrainerSettings.of(document))


# --- command lines -------------------------------------------------------------------------------

def _value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if text.lstrip("-").isdigit():
        return int(text)
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def flag_values(words: list, locate) -> tuple:
    """HfArgumentParser-style `--key value`, `--key=value`, `--key v1 v2` (lists), bare `--flag` (True):
    values by key, and where each key is written."""
    values, where, i = {}, {}, 0
    opaque = False          # a word rmlint cannot read ($ARGS, $(...)) may hold any flag
    while i < len(words):
        word = words[i]
        text = word.text if word.known else None
        if not text or not text.startswith("--"):
            opaque = opaque or not word.known
            i += 1
            continue
        key, _, inline = text[2:].partition("=")
        key = key.replace("-", "_")
        where[key] = locate(word.offset)
        if inline or "=" in text:
            values[key] = _value(inline)
            i += 1
            continue
        taken = []
        i += 1
        while i < len(words) and not (words[i].known and words[i].text.startswith("--")):
            taken.append(_value(words[i].text) if words[i].known else None)
            i += 1
        values[key] = True if not taken else taken[0] if len(taken) == 1 else taken
        opaque = opaque or None in taken
    return values, where, opaque


def launch_subjects(launch, path: str, here) -> tuple:
    """(subjects, findings) of one TRL launch (sources/commands.py recognised it): `trl <command>`, or a TRL
    script run directly or with accelerate/torchrun/deepspeed, with `--model_name_or_path` or `--config`."""
    from ...finding import SourceError
    from ...problems import unreadable
    from ...problems import finding as problem
    from ...sources.document import load_yaml
    from ...sources.text import read_text
    findings = []
    command = launch.command
    launch_facts = {"script": path, "where": here(command.offset)}
    stage, args = stage_of_script(launch.entrypoint), launch.args
    if launch.kind != "cli":
        use_deepspeed = launch.option("--use_deepspeed", "--use-deepspeed")
        launch_facts.update(accelerate_config=launch.option("--config_file", "--config-file"),
                            num_processes=as_int(launch.option("--num_processes", "--num-processes")),
                            zero_stage=as_int(launch.option("--zero_stage", "--zero-stage")) if use_deepspeed else 0)
        config_word = next((w for w in launch.launcher_words() if w.known and w.text.split("=", 1)[0] in
                            ("--config_file", "--config-file")), None)
        if config_word is not None:
            launch_facts["where"] = here(config_word.offset)
    values, where, opaque = flag_values(args, here)
    if "model_name_or_path" not in values and "config" not in values:
        return [], []
    if values.get("accelerate_config"):
        launch_facts["accelerate_config"] = values.pop("accelerate_config")
    document, config = None, values.pop("config", None)
    where.pop("config", None)
    merged, placed = {}, {}
    if isinstance(config, str) and config:
        found = find_file(config, path, walk_up=False)
        if found is None:
            findings.append(problem("trl-config-missing", here(command.offset), file=config))
        else:
            try:
                document = load_yaml(read_text(found), found)
            except SourceError as err:
                findings.append(unreadable(err))
            if document is not None and isinstance(document.data, dict):
                recipe = TrainerSettings.of(document)
                merged.update(recipe.values)
                placed.update(recipe.where)
                stage = stage or stage_of_keys(recipe.values)
    merged.update(values)
    placed.update(where)
    settings = TrainerSettings(merged, placed, here(command.offset), document)
    more, problems = trainer_subjects(settings, stage, launch_facts)
    if opaque:      # only what is written in readable words is known; defaults may be overridden
        trainer = more[0]
        given = {key for key, value in merged.items() if value is not None}
        trainer.unknown |= {f"trainer.{fact}" for fact, key in PROVENANCE.items() if key not in given}
        trainer.unknown |= {f"trainer.{fact}" for fact, keys in DERIVED.items() if not set(keys) <= given}
        trainer.unknown.add("trainer.batch")
    if document is not None:
        more[0].settings_files.append(document.path)
    return more, findings + problems


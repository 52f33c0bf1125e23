"""axolotl training YAML (`axolotl train config.yaml`) as `trainer` facts, and the DeepSpeed file it names.

Sources (axolotl at the commit in rmlint/data/axolotl_args.json): the pydantic schema
(src/axolotl/utils/schemas/: unknown keys are dropped), validation.py (batch fields, sample packing
with RL, QLoRA + ZeRO-3 + use_reentrant), set_reward_model_defaults (reward_model loads
AutoModelForSequenceClassification with num_labels 1), loaders/adapter.py (SEQ_CLS task type for
sequence-classification models, so PEFT saves the score head), loaders/model.py (QLoRA storage in
bfloat16 under DeepSpeed), utils/config normalize_config (use_reentrant True by default outside RL).
"""

from ..trainer.common import TrainerSettings, as_bool, as_int, as_list, deepspeed_of, subject, typos
from ..trainer.defaults import defaults

SIGNS = {"adapter", "datasets", "micro_batch_size", "sequence_len", "rl", "reward_model", "load_in_4bit",
         "sample_packing", "num_epochs", "lora_r"}
PROVENANCE = {"stage": "reward_model", "finetuning": "adapter", "lora_targets": "lora_target_modules",
              "modules_to_save": "lora_modules_to_save", "zero_stage": "deepspeed", "deepspeed_file": "deepspeed",
              "use_reentrant": "gradient_checkpointing_kwargs", "gradient_checkpointing": "gradient_checkpointing",
              "packing": "sample_packing", "num_labels": "num_labels", "batch": "micro_batch_size",
              "task_type": "model_type"}
BATCH_FIELDS = ("micro_batch_size", "gradient_accumulation_steps", "batch_size")


def is_axolotl(data) -> bool:
    return isinstance(data, dict) and "base_model" in data and bool(SIGNS & set(map(str, data)))


def _stage(get) -> tuple:
    """(stage, the key that sets it)"""
    if as_bool(get("reward_model")):
        return "rm", "reward_model"
    if as_bool(get("process_reward_model")):
        return "prm", "process_reward_model"
    if get("rl"):
        return str(get("rl")), "rl"
    return "sft", "base_model"


def _reentrant(get, rl: bool) -> str:
    kwargs = get("gradient_checkpointing_kwargs")
    if isinstance(kwargs, dict) and isinstance(kwargs.get("use_reentrant"), bool):
        return "true" if kwargs["use_reentrant"] else "false"
    # normalize_config: gradient checkpointing outside RL without kwargs gets use_reentrant True
    return "true" if get("gradient_checkpointing") and not rl and kwargs is None else ""


def subjects(document) -> tuple:
    settings = TrainerSettings.of(document)
    get = settings.get
    stage, stage_key = _stage(get)
    adapter = str(get("adapter", ""))
    four, eight = as_bool(get("load_in_4bit")), as_bool(get("load_in_8bit"))
    model_type = str(get("model_type", get("type_of_model", "")))
    classifier = stage in ("rm", "prm") and not model_type or "SequenceClassification" in model_type
    targets = as_list(get("lora_target_modules")) + (["all-linear"] if as_bool(get("lora_target_linear")) else [])
    trainer = defaults()
    trainer.update(framework="axolotl", stage=stage, finetuning="lora" if adapter in ("lora", "qlora") else adapter or "full",
                   lora_rank=as_int(get("lora_r")), lora_targets=targets, modules_to_save=as_list(get("lora_modules_to_save")),
                   task_type="SEQ_CLS" if classifier or "TokenClassification" in model_type else "CAUSAL_LM",
                   quantization_bit=4 if four else 8 if eight else 0, quantization_method="bnb",
                   # loaders/model.py: QLoRA always stores 4-bit weights in bfloat16 ("deepspeed needs this")
                   quant_storage="bfloat16", quant_storage_ok=True,
                   bf16=get("bf16") is True, fp16=as_bool(get("fp16")), rl=bool(get("rl")),
                   gradient_checkpointing=bool(get("gradient_checkpointing")),
                   use_reentrant=_reentrant(get, bool(get("rl"))), packing=as_bool(get("sample_packing")),
                   num_labels=as_int(get("num_labels")), typos=typos(settings, "axolotl"))
    trainer["keys"].update(quantization="load_in_4bit" if four or not eight else "load_in_8bit", adapter="adapter",
                           modules_to_save="lora_modules_to_save", targets="lora_target_modules", packing="sample_packing",
                           task_type="model_type")  # the PEFT task type follows the model class
    given = [key for key in BATCH_FIELDS if get(key) is not None]
    trainer["batch"].update(micro=as_int(get("micro_batch_size")), grad_accum=as_int(get("gradient_accumulation_steps")),
                            fields=given, conflict="gradient_accumulation_steps" in given and "batch_size" in given)
    unknown = set()
    found, problems = deepspeed_of(settings, "deepspeed", trainer, unknown)
    provenance = dict(PROVENANCE, stage=stage_key, quantization_bit=trainer["keys"]["quantization"])
    if given:
        provenance["batch"] = given[-1] if trainer["batch"]["conflict"] else given[0]
    return [subject(settings, trainer, provenance, unknown, "axolotl", "base_model"), *found], problems

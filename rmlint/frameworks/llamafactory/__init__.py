"""LLaMA-Factory training YAML/JSON (`llamafactory-cli train config.yaml`) as `trainer` facts, and
the DeepSpeed file it names, linted as the HF Trainer consumes it.

Keys: the snapshot of LLaMA-Factory's argument dataclasses plus transformers' Seq2SeqTrainingArguments
(tools/extract_trainer_args.py), with both by release (history.py, transformers_keys.py). LLaMA-Factory
refuses unused keys; rmlint reports an unknown key only
when it is a near-certain misspelling of a known one, since integrations (Megatron, KTransformers) add
keys the snapshot cannot see.
"""

from ..trainer.common import TrainerSettings, as_bool, as_int, as_list, deepspeed_of, subject, typos
from ..trainer.defaults import defaults

STAGES = {"pt", "sft", "rm", "ppo", "dpo", "kto"}
PROVENANCE = {"stage": "stage", "finetuning": "finetuning_type", "quantization_bit": "quantization_bit",
              "reward_model": "reward_model", "reward_model_type": "reward_model_type", "pure_bf16": "pure_bf16",
              "zero_stage": "deepspeed", "deepspeed_file": "deepspeed", "lora_targets": "lora_target",
              "modules_to_save": "additional_target", "packing": "packing", "neat_packing": "neat_packing"}


def is_llamafactory(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("stage"), str) and data.get("stage") in STAGES and (
        "model_name_or_path" in data or "finetuning_type" in data)


def subjects(document, forms=()) -> tuple:
    """(subjects, reader findings): the trainer subject and the DeepSpeed file's subject."""
    return settings_subjects(TrainerSettings.of(document), forms)


def settings_subjects(settings: TrainerSettings, forms=()) -> tuple:
    """The same from settings of any origin (a YAML file, or `python src/train_bash.py --flags`); `forms`
    are the ways the launch runs LLaMA-Factory (`src/train_bash.py`, `llamafactory-cli`, ...), which only
    some releases have."""
    from . import transformers_keys
    from .history import history, own_keys, problems
    get = settings.get
    quantization = as_int(get("quantization_bit"))
    trainer = defaults()
    trainer.update(framework="llamafactory", stage=str(get("stage", "")), finetuning=str(get("finetuning_type", "lora")),
                   lora_rank=as_int(get("lora_rank", 8)), lora_targets=as_list(get("lora_target", "all")),
                   modules_to_save=as_list(get("additional_target")), quantization_bit=quantization,
                   quantization_method=str(get("quantization_method", "bnb")),
                   reward_model=str(get("reward_model") or ""), reward_model_type=str(get("reward_model_type", "lora")),
                   pure_bf16=as_bool(get("pure_bf16")), bf16=as_bool(get("bf16")), fp16=as_bool(get("fp16")),
                   packing=as_bool(get("packing")), neat_packing=as_bool(get("neat_packing")),
                   typos=typos(settings, "llamafactory", also_known=transformers_keys.table()["keys"]),
                   # LLaMA-Factory stores 4-bit weights in the compute dtype itself ("crucial for fsdp+qlora")
                   quant_storage="compute-dtype", quant_storage_ok=True)
    trainer["releases"], trainer["release_problems"], fit = problems(settings, forms)
    versions = [history()["versions"][i] for i in fit]
    (trainer["transformers"], trainer["transformers_from"],
     trainer["transformers_problems"]) = transformers_keys.problems(settings, versions, own_keys(fit) | {p["key"] for p in trainer["release_problems"]})
    trainer["keys"].update(quantization="quantization_bit", adapter="finetuning_type", modules_to_save="additional_target",
                           targets="lora_target", packing="neat_packing")
    unknown = set()
    found, problems = deepspeed_of(settings, "deepspeed", trainer, unknown)
    return [subject(settings, trainer, PROVENANCE, unknown, "llamafactory", "model_name_or_path"), *found], problems

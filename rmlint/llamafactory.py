"""LLaMA-Factory training YAML/JSON (`llamafactory-cli train config.yaml`) as `trainer` facts, and
the DeepSpeed file it names, linted as the HF Trainer consumes it.

Keys: the snapshot of LLaMA-Factory's argument dataclasses plus transformers' Seq2SeqTrainingArguments
(tools/extract_llamafactory_args.py). LLaMA-Factory refuses unused keys; rmlint reports an unknown
key only when it is a near-certain misspelling of a known one, since integrations (Megatron,
KTransformers) add keys the snapshot cannot see.
"""

import copy
import difflib
import json
import os
from functools import lru_cache
from pathlib import Path

from .finding import Location

STAGES = {"pt", "sft", "rm", "ppo", "dpo", "kto"}
DATA = Path(__file__).resolve().parent / "data" / "llamafactory_args.json"
TRAINER_DEFAULTS = {"framework": "", "stage": "", "finetuning": "", "lora_rank": 0, "lora_targets": [],
                    "additional_target": [], "quantization_bit": 0, "quantization_method": "", "reward_model": "",
                    "reward_model_type": "", "pure_bf16": False, "bf16": False, "fp16": False, "deepspeed_file": "",
                    "zero_stage": 0, "typos": []}


@lru_cache(maxsize=1)
def known_keys() -> frozenset:
    return frozenset(json.loads(DATA.read_text())["keys"])


def is_llamafactory(data) -> bool:
    return isinstance(data, dict) and data.get("stage") in STAGES and (
        "model_name_or_path" in data or "finetuning_type" in data)


def _list(value) -> list:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value] if isinstance(value, list) else []


def _typos(document) -> list:
    found = []
    for key in document.data:
        if key in known_keys():
            continue
        close = difflib.get_close_matches(str(key), known_keys(), n=2, cutoff=0.85)
        if close and (len(close) == 1 or difflib.SequenceMatcher(None, key, close[0]).ratio() >
                      difflib.SequenceMatcher(None, key, close[1]).ratio()):
            line, column = document.positions.get((key,), (1, 1))
            found.append({"key": str(key), "hint": close[0], "line": line, "column": column, "path": str(key)})
    return found


def _deepspeed_file(document, name: str):
    """LLaMA-Factory opens the path from where it is launched (usually the repository root): try the
    current folder, the YAML's folder and the folders above it."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    folder = os.path.dirname(os.path.abspath(document.path))
    places = [os.getcwd()]
    while True:
        places.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    found = next((os.path.join(p, name) for p in places if os.path.isfile(os.path.join(p, name))), None)
    if found is None:
        return None
    relative = os.path.relpath(found)   # as a folder walk names it, so the two reports are one
    return relative if not relative.startswith("..") else found


def subjects(document) -> tuple:
    """(subjects, reader findings): the trainer subject and the DeepSpeed file's subject."""
    from .facts import deepspeed_subject, defaults
    from .finding import SourceError
    from .sources.document import load_json, load_yaml
    from .sources.text import read_text
    from .subject import Subject
    data = document.data
    trainer = copy.deepcopy(TRAINER_DEFAULTS)
    quantization = data.get("quantization_bit")
    trainer.update(framework="llamafactory", stage=str(data.get("stage", "")), finetuning=str(data.get("finetuning_type", "lora")),
                   lora_rank=data.get("lora_rank", 8) if isinstance(data.get("lora_rank", 8), int) else 0,
                   lora_targets=_list(data.get("lora_target", "all")),
                   additional_target=_list(data.get("additional_target")),
                   quantization_bit=quantization if isinstance(quantization, int) else 0,
                   quantization_method=str(data.get("quantization_method", "bnb")),
                   reward_model=str(data.get("reward_model") or ""),
                   reward_model_type=str(data.get("reward_model_type", "lora")),
                   pure_bf16=data.get("pure_bf16") is True, bf16=data.get("bf16") is True, fp16=data.get("fp16") is True,
                   typos=_typos(document))
    facts = defaults()
    facts["input"]["kind"] = "llamafactory"
    provenance = {f"trainer.{fact}": document.locate((key,)) for fact, key in (
        ("stage", "stage"), ("finetuning", "finetuning_type"), ("quantization_bit", "quantization_bit"),
        ("reward_model", "reward_model"), ("reward_model_type", "reward_model_type"), ("pure_bf16", "pure_bf16"),
        ("zero_stage", "deepspeed"), ("deepspeed_file", "deepspeed")) if (key,) in document.positions}
    unknown, found, problems = set(), [], []
    name = data.get("deepspeed")
    if isinstance(name, str) and name:
        trainer["deepspeed_file"] = name
        path = _deepspeed_file(document, name)
        if path is None:
            from .inputs import reader_finding
            unknown.add("trainer.zero_stage")
            problems.append(reader_finding("RM233", f"`deepspeed` file {name} is not found from here, beside the config "
                                                    "or above it; its DeepSpeed settings were not checked",
                                           document.locate(("deepspeed",))))
        else:
            try:
                text = read_text(path)
                config = load_json(text, path) if text.lstrip().startswith("{") else load_yaml(text, path)
            except SourceError as err:
                from .inputs import reader_finding
                problems.append(reader_finding("RM001", err.message, err.location))
                config = None
            if config is not None and isinstance(config.data, dict):
                ds_subject = deepspeed_subject(config, "hf")   # LLaMA-Factory trains through the HF Trainer
                found.append(ds_subject)
                stage = ds_subject.facts["ds"]["zero_optimization"]["stage"]
                trainer["zero_stage"] = stage if isinstance(stage, int) else 0
            else:
                unknown.add("trainer.zero_stage")
    facts["trainer"] = trainer
    return [Subject("trainer", facts, Location(document.path, 1, 1), provenance, unknown), *found], problems

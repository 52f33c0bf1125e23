"""LLaMA-Factory's keys from transformers' Seq2SeqTrainingArguments, by transformers release (RM252).

HfArgumentParser.parse_dict(..., allow_extra_keys=False), which LLaMA-Factory's parser calls, is run on the
real releases: 5.23.0 (the `test` extra's) and 4.40.2 (its wheel from the registry, with the tokenizers and
huggingface_hub releases its import-time version check accepts). rmlint's table must hold exactly each
release's keys, and rmlint must refuse exactly the keys that release refuses, for a config whose
transformers is pinned beside it."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import upstream
from rmlint import inputs
from rmlint.config import Settings
from rmlint.frameworks.llamafactory.transformers_keys import table
from rmlint.lint import lint_paths

TOOLS = Path(__file__).resolve().parent.parent / "tools"
TRANSFORMERS_4_40 = ("transformers==4.40.2", "tokenizers==0.19.1", "huggingface_hub==0.36.2")
PARSE = """
import dataclasses, json, warnings
warnings.filterwarnings("ignore")
import transformers
from transformers import HfArgumentParser, Seq2SeqTrainingArguments
parser = HfArgumentParser(Seq2SeqTrainingArguments)
refused = []
for key, value in (("evaluation_strategy", "steps"), ("eval_strategy", "steps"), ("warmup_ratio", 0.1)):
    try:
        parser.parse_dict({"output_dir": "o", key: value}, allow_extra_keys=False)
    except ValueError as err:
        assert "Some keys are not used by the HfArgumentParser" in str(err), err
        refused.append(key)
print(json.dumps({"version": transformers.__version__, "refused": refused,
                  "keys": sorted(f.name for f in dataclasses.fields(Seq2SeqTrainingArguments) if f.init)}))
"""
CONFIG = ("model_name_or_path: m\nstage: rm\nfinetuning_type: lora\noutput_dir: o\n"
          "evaluation_strategy: steps\neval_strategy: steps\nwarmup_ratio: 0.1\n")
LINE = {"evaluation_strategy": 5, "eval_strategy": 6, "warmup_ratio": 7}


def real(transformers: str) -> dict:
    env = dict(os.environ)
    if transformers != "5.23.0":
        env["PYTHONPATH"] = str(upstream.wheels_tree(*TRANSFORMERS_4_40))
    done = subprocess.run([sys.executable, "-c", PARSE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def table_keys(version: str) -> set:
    t = table()
    index = t["versions"].index(version)
    return {key for key, had in t["keys"].items() if index in had}


def errors(folder: Path, text: str, pin: str | None) -> list:
    (folder / ".git").mkdir(parents=True, exist_ok=True)
    if pin:
        (folder / "requirements.txt").write_text(f"transformers=={pin}\n")
    (folder / "train.yaml").write_text(text)
    result = lint_paths([folder / "train.yaml"], settings=Settings(installed_versions=False))
    return [(f.rule, f.line, f.message) for f in result.findings if f.severity == "error"]


@pytest.mark.parametrize("transformers,refused,why", [
    ("4.40.2", ["eval_strategy"], {"eval_strategy": "TrainingArguments has it only from transformers 4.41"}),
    ("5.23.0", ["evaluation_strategy", "warmup_ratio"], {"evaluation_strategy": "transformers 4.51 removed it from "
                                                         "TrainingArguments", "warmup_ratio": "transformers 5.15 "
                                                         "removed it from TrainingArguments"}),
])
def test_rmlint_refuses_the_keys_the_real_hfargumentparser_refuses(tmp_path, transformers, refused, why):
    seen = real(transformers)
    assert seen["version"] == transformers
    assert seen["refused"] == refused
    assert set(seen["keys"]) == table_keys(transformers)
    source = f"{transformers} ({tmp_path / 'requirements.txt'}:1)"
    assert errors(tmp_path, CONFIG, transformers) == [
        ("RM252", LINE[key], f"LLaMA-Factory refuses `{key}` with transformers {source}: {why[key]}") for key in refused]


def test_without_a_pin_the_transformers_its_llamafactory_releases_allow_are_used(tmp_path):
    # every release fits these keys, and 0.5.0 - 0.8.3 allow any transformers >= 4.36/4.37/4.41
    assert errors(tmp_path, CONFIG, None) == []
    # oft_rank is LLaMA-Factory's own from 0.9.4, whose releases allow 4.51 - 4.57, 4.55 - 5.6 and 4.55 - 5.8
    text = CONFIG.replace("eval_strategy: steps\n", "oft_rank: 8\n")
    assert errors(tmp_path, text, None) == [
        ("RM252", 5, "LLaMA-Factory refuses `evaluation_strategy` with transformers 4.51 - 5.8 (what LLaMA-Factory "
                     ">= 0.9.4 allows): transformers 4.51 removed it from TrainingArguments")]


def test_a_pin_none_of_the_releases_allows_is_left_to_llamafactorys_own_version_check(tmp_path):
    text = CONFIG.replace("eval_strategy: steps\n", "oft_rank: 8\n")
    pinned = errors(tmp_path / "pinned", text, "4.40.2")
    assert pinned == errors(tmp_path / "free", text, None) != []
    assert "(what LLaMA-Factory >= 0.9.4 allows)" in pinned[0][2]


def test_keys_that_moved_from_transformers_into_llamafactory_do_not_pull_the_release_fit():
    # v0.8.3's examples/train_lora/llava1_5_lora_sft.yaml keys: overwrite_output_dir is LLaMA-Factory's own
    # only from 0.9.4 (transformers 5 dropped it), visual_inputs exists in 0.7.0 - 0.8.3 only
    text = ("model_name_or_path: llava-hf/llava-1.5-7b-hf\nvisual_inputs: true\nstage: sft\nfinetuning_type: lora\n"
            "overwrite_output_dir: true\nwarmup_ratio: 0.1\neval_strategy: steps\noutput_dir: o\n")
    found, _ = inputs.subjects_of_text("llava.yaml", text)
    trainer = next(s.facts["trainer"] for s in found if s.kind == "trainer")
    assert (trainer["releases"], trainer["release_problems"], trainer["transformers_problems"]) == (
        "0.7.0 - 0.8.3", [], [])


def test_the_table_follows_llamafactorys_requirements():
    # v0.9.0 requirements.txt: transformers>=4.41.2,<=4.45.0; v0.9.2: >=4.41.2,<=4.49.0,!=4.46.*,!=4.47.*,!=4.48.0
    t = table()
    minors = lambda indices: sorted({".".join(t["versions"][i].split(".")[:2]) for i in indices})  # noqa: E731
    assert minors(t["llamafactory"]["0.9.0"]) == ["4.41", "4.42", "4.43", "4.44", "4.45"]
    assert minors(t["llamafactory"]["0.9.2"]) == ["4.41", "4.42", "4.43", "4.44", "4.45", "4.48", "4.49"]
    assert t["versions"][0] == "4.36.2"      # LLaMA-Factory 0.5.0: transformers>=4.36.2


def test_the_tool_reads_only_the_keys_hfargumentparser_makes():
    sys.path.insert(0, str(TOOLS))
    try:
        from extract_transformers_args import fields
    finally:
        sys.path.remove(str(TOOLS))
    source = ("from dataclasses import dataclass, field\nfrom typing import ClassVar\n@dataclass\n"
              "class TrainingArguments:\n    framework = 'pt'\n    output_dir: str = None\n"
              "    _n_gpu: int = field(init=False, repr=False, default=-1)\n    kind: ClassVar[str] = 'x'\n"
              "@dataclass\nclass Seq2SeqTrainingArguments(TrainingArguments):\n    sortish_sampler: bool = False\n"
              "@dataclass\nclass Other:\n    other: int = 0\n")
    assert fields(source) == {"output_dir", "sortish_sampler"}

    @dataclasses.dataclass
    class Probe:
        output_dir: str = None
        _n_gpu: int = dataclasses.field(init=False, default=-1)
    assert {f.name for f in dataclasses.fields(Probe) if f.init} == {"output_dir"}   # what HfArgumentParser keys on

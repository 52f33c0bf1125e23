"""TRL's LoRA task type and what transformers does with it, across releases (RM624, RM640).

TRL's ModelConfig defaults `lora_task_type` to CAUSAL_LM and get_peft_config passes it to LoraConfig
unchanged: read from the 0.12.0 and 1.16.0 wheels (no change between them; tags 0.8.0 to 1.9.0 read too).
What PEFT then does with a sequence-classification reward model depends on transformers: up to 4.51.3
it wraps it as a causal LM and the score head is neither trained nor saved (RM624); from 4.52.0 the
wrapper fails with AttributeError (RM640). transformers 4.51.3 / 4.52.0 are their wheels from the
registry (with tokenizers 0.21.4 and huggingface_hub 0.36.2, which their version checks accept); 5.23.0
is the `test` extra's; PEFT is the installed 0.21.2."""

import ast
import os
import subprocess
import sys

import pytest

import upstream
from rmlint.config import Settings
from rmlint.lint import lint_paths

WRAP = """
import warnings, torch, transformers
warnings.filterwarnings("ignore")
from transformers import LlamaConfig, LlamaForSequenceClassification
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict
config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                     num_attention_heads=2, num_key_value_heads=2, num_labels=1, pad_token_id=0)
torch.manual_seed(0)
try:
    model = get_peft_model(LlamaForSequenceClassification(config), LoraConfig(task_type="CAUSAL_LM", r=4,
                                                                              target_modules=["q_proj", "v_proj"]))
    saved = any("score" in key for key in get_peft_model_state_dict(model))
    print("transformers", transformers.__version__, "head saved" if saved else "head not saved")
except AttributeError as err:
    print("transformers", transformers.__version__, "AttributeError", str(err).split("'")[-2])
"""
RECIPE = "model_name_or_path: m\nuse_peft: true\nlora_r: 32\noutput_dir: out\n"


def default_task_type(trl: str) -> str:
    tree = upstream.wheels_tree(f"trl=={trl}")
    config = ast.parse((tree / "trl" / "trainer" / "model_config.py").read_text())
    field = next(node for node in ast.walk(config) if isinstance(node, ast.AnnAssign)
                 and getattr(node.target, "id", "") == "lora_task_type")
    value = field.value
    if isinstance(value, ast.Call):     # field(default=..., metadata=...)
        value = next(k.value for k in value.keywords if k.arg == "default")
    utils = ast.parse((tree / "trl" / "trainer" / "utils.py").read_text())
    function = next(n for n in utils.body if isinstance(n, ast.FunctionDef) and n.name == "get_peft_config")
    passed = [ast.unparse(k.value) for node in ast.walk(function) if isinstance(node, ast.Call)
              and ast.unparse(node.func) == "LoraConfig" for k in node.keywords if k.arg == "task_type"]
    assert len(passed) == 1 and passed[0].endswith(".lora_task_type")      # passed to LoraConfig as it is
    return value.value


@pytest.mark.parametrize("trl", ["0.12.0", "1.16.0"])
def test_trl_defaults_the_lora_task_type_to_causal_lm(trl):
    assert default_task_type(trl) == "CAUSAL_LM"


def wrapped(transformers: str) -> str:
    env = dict(os.environ)
    if transformers != "5.23.0":
        env["PYTHONPATH"] = str(upstream.wheels_tree(f"transformers=={transformers}", "tokenizers==0.21.4",
                                                     "huggingface_hub==0.36.2"))
    done = subprocess.run([sys.executable, "-c", WRAP], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return next(line for line in done.stdout.splitlines() if line.startswith("transformers "))


@pytest.mark.parametrize("transformers,seen,rules", [
    ("4.51.3", "head not saved", ["RM624"]),
    ("4.52.0", "AttributeError prepare_inputs_for_generation", ["RM640"]),
    ("5.23.0", "AttributeError prepare_inputs_for_generation", ["RM640"]),
])
def test_a_trl_reward_lora_with_the_default_task_type_by_transformers_release(tmp_path, transformers, seen, rules):
    assert wrapped(transformers) == f"transformers {transformers} {seen}"
    recipe = tmp_path / "reward.yaml"
    recipe.write_text(RECIPE)
    settings = Settings(versions={"transformers": transformers}, installed_versions=False)
    assert [f.rule for f in lint_paths([recipe], settings=settings, select=["RM624", "RM640"]).findings] == rules


def test_with_the_transformers_release_unknown_rm624_reports_it(tmp_path):
    recipe = tmp_path / "reward.yaml"
    recipe.write_text(RECIPE)
    settings = Settings(installed_versions=False)
    assert [f.rule for f in lint_paths([recipe], settings=settings, select=["RM624", "RM640"]).findings] == ["RM624"]

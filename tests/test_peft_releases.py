"""PEFT across releases: a SEQ_CLS LoRA reward model on `all-linear` keeps its trained head through
save and reload from PEFT 0.13.0 on, not before (RM251). Each release is its wheel from the registry
(tests/upstream.py), run in a fresh interpreter on a tiny Llama reward model built here."""

import os
import subprocess
import sys

import pytest

import upstream
from rmlint.config import Settings
from rmlint.lint import lint_paths

RECIPE = "model_name_or_path: m\nuse_peft: true\nlora_task_type: SEQ_CLS\nlora_target_modules: all-linear\noutput_dir: out\n"
ROUND_TRIP = """
import tempfile, warnings, torch, peft
warnings.filterwarnings("ignore")
from transformers import LlamaConfig, LlamaForSequenceClassification
config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                     num_attention_heads=2, num_key_value_heads=2, num_labels=1, pad_token_id=0)
def base():
    torch.manual_seed(0)
    return LlamaForSequenceClassification(config)
model = peft.get_peft_model(base(), peft.LoraConfig(task_type="SEQ_CLS", target_modules="all-linear", r=4))
with torch.no_grad():
    for name, parameter in model.named_parameters():
        if parameter.requires_grad and "score" in name:
            parameter.add_(1.0)                      # the head as training leaves it
ids = torch.tensor([[1, 2, 3, 4]])
trained = model.eval()(input_ids=ids).logits.item()
with tempfile.TemporaryDirectory() as folder:
    model.save_pretrained(folder)
    loaded = peft.PeftModel.from_pretrained(base(), folder).eval()
    print("kept" if abs(loaded(input_ids=ids).logits.item() - trained) < 1e-4 else "lost")
"""


def head_after_reload(version: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(upstream.peft_tree(version)))
    done = subprocess.run([sys.executable, "-c", ROUND_TRIP], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()[-1]


@pytest.mark.parametrize("version,expected", [("0.12.0", "lost"), ("0.13.0", "kept")])
def test_rm251_holds_exactly_where_peft_loses_the_head(tmp_path, version, expected):
    assert head_after_reload(version) == expected
    recipe = tmp_path / "reward.yaml"
    recipe.write_text(RECIPE)
    settings = Settings(versions={"peft": version}, installed_versions=False)
    found = [(f.rule, f.line) for f in lint_paths([recipe], settings=settings, select=["RM251"]).findings]
    assert found == ([("RM251", 4)] if expected == "lost" else [])

"""LoRA on verl's critic across verl and PEFT releases (RM638, RM639). The task type each verl release
gives the critic's LoraConfig is read from that release's wheel (fsdp_workers.py, CriticWorker: CAUSAL_LM
in 0.6.1, TOKEN_CLS in 0.7.0, PR #4695; from 0.8.0 the model engine, FSDPEngine._build_lora_module in
workers/engine/fsdp/transformer_impl.py: CAUSAL_LM for every model, 0.9.1 read here); PEFT then wraps a tiny AutoModelForTokenClassification critic
(num_labels=1, as verl's load_valuehead_model builds it) with that config, in a fresh interpreter per PEFT
release: the installed 0.21.2 and the 0.12.0 / 0.13.0 wheels from the registry."""

import ast
import json
import os
import subprocess
import sys

import pytest

import upstream
from rmlint.config import Settings
from rmlint.lint import lint_argv

WRAP = """
import json, sys, warnings, torch, peft
warnings.filterwarnings("ignore")
from transformers import LlamaConfig, LlamaForTokenClassification
from peft import LoraConfig, TaskType, get_peft_model, get_peft_model_state_dict
config = LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                     num_attention_heads=2, num_key_value_heads=2, num_labels=1, pad_token_id=0)
out = {}
for task, targets in json.loads(sys.argv[1]):
    torch.manual_seed(0)
    try:
        model = get_peft_model(LlamaForTokenClassification(config), LoraConfig(
            task_type=getattr(TaskType, task), r=4, lora_alpha=8, target_modules=targets, bias="none"))
    except Exception as err:
        out[f"{task} {targets}"] = type(err).__name__
        continue
    trained = any(p.requires_grad for n, p in model.named_parameters() if "score" in n and "lora_" not in n)
    saved = "base_model.model.score.weight" in get_peft_model_state_dict(model)
    out[f"{task} {targets}"] = "head trained and saved" if trained and saved else "built"
print("peft", peft.__version__, json.dumps(out))
"""
EXPLICIT = ["q_proj", "v_proj"]
LAUNCH = ["python3", "-m", "verl.trainer.main_ppo", "trainer.n_gpus_per_node=8", "trainer.nnodes=1",
          "algorithm.adv_estimator=gae", "data.train_batch_size=64", "actor_rollout_ref.rollout.n=1",
          "actor_rollout_ref.actor.ppo_mini_batch_size=64", "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4",
          "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4", "critic.ppo_micro_batch_size_per_gpu=4",
          "critic.model.lora_rank=32"]


def critic_task_type(verl: str) -> str:
    """The TaskType in the critic's LoraConfig dict of verl release `verl`'s fsdp_workers.py."""
    workers = upstream.wheels_tree(f"verl=={verl}") / "verl" / "workers"
    legacy = workers / "fsdp_workers.py"
    path, name = (legacy, "CriticWorker") if legacy.is_file() else (workers / "engine/fsdp/transformer_impl.py", "FSDPEngine")
    critic = next(n for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef) and n.name == name)
    found = {value.attr for node in ast.walk(critic) if isinstance(node, ast.Dict)
             for key, value in zip(node.keys, node.values)
             if isinstance(key, ast.Constant) and key.value == "task_type" and isinstance(value, ast.Attribute)}
    assert len(found) == 1, found
    return found.pop()


def wrapped(peft: str, cases: list) -> dict:
    env = dict(os.environ)
    if peft != "0.21.2":
        env["PYTHONPATH"] = str(upstream.peft_tree(peft))
    done = subprocess.run([sys.executable, "-c", WRAP, json.dumps(cases)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("peft "))
    assert line.split()[1] == peft
    return json.loads(line.split(" ", 2)[2])


def rmlint_rules(verl: str, peft: str, targets) -> list:
    argv = LAUNCH + ([f"critic.model.target_modules=[{','.join(targets)}]"] if targets != "all-linear" else [])
    settings = Settings(versions={k: v for k, v in (("verl", verl), ("peft", peft)) if v}, installed_versions=False)
    return [f.rule for f in lint_argv(argv, select=["RM638", "RM639"], settings=settings).findings]


@pytest.mark.parametrize("peft,cases", [
    ("0.21.2", [("0.6.1", "all-linear", "AttributeError", ["RM638"]),
                ("0.6.1", EXPLICIT, "AttributeError", ["RM638"]),
                ("0.7.0", "all-linear", "TypeError", ["RM639"]),
                ("0.7.0", EXPLICIT, "head trained and saved", []),
                ("0.9.1", EXPLICIT, "AttributeError", ["RM638"])]),
    ("0.13.0", [("0.7.0", "all-linear", "TypeError", ["RM639"]),
                ("0.7.0", EXPLICIT, "head trained and saved", [])]),
    ("0.12.0", [("0.7.0", "all-linear", "built", [])]),
])
def test_critic_lora_fails_exactly_where_rmlint_says(peft, cases):
    tasks = {verl: critic_task_type(verl) for verl, _, _, _ in cases}
    assert tasks == {v: {"0.6.1": "CAUSAL_LM", "0.7.0": "TOKEN_CLS", "0.9.1": "CAUSAL_LM"}[v] for v in tasks}
    seen = wrapped(peft, [(tasks[verl], targets) for verl, targets, _, _ in cases])
    assert [seen[f"{tasks[verl]} {targets}"] for verl, targets, _, _ in cases] == [outcome for _, _, outcome, _ in cases]
    assert [rmlint_rules(verl, peft, targets) for verl, targets, _, _ in cases] == [rules for _, _, _, rules in cases]


def test_with_the_verl_release_unknown_the_newest_release_is_assumed():
    assert rmlint_rules("", "", EXPLICIT) == ["RM638"]
    assert rmlint_rules("", "", "all-linear") == ["RM638"]

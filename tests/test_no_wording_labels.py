"""Labels are data (issue 15): the role a model plays, the framework of a trainer run, a package's release, where a
GPU count came from, whose head a checkpoint holds reach the rules as enums and data, and the rules' YAML words them.
The words each label had when Python built it are pinned here (the names roles.py, trainer/common.py, versions.py,
sources/machine.py and checkpoint/facts.py gave before the move), so a rule that words one otherwise fails."""

import re

import pytest

from conftest import FIXTURES, cli
from rmlint import lint_argv
from rmlint.engine import render
from rmlint.rules import builtin

RULES = {rule.id: rule for rule in builtin()}


def _chains(start: str) -> list:
    """(rule id, the `{if ...}...{end}` chain that begins with `start`) of every built-in rule's message and problem
    templates (the chains have no nested `{if}`, so the first `{end}` closes them)."""
    found = []
    for rule in RULES.values():
        templates = [rule.message] + [rule.problem_message(kind) for kind in rule.problems or ()]
        for template in templates:
            for at in (m.start() for m in re.finditer(re.escape(start), template)):
                found.append((rule.id, template[at:template.index("{end}", at) + len("{end}")]))
    return sorted(set(found))


ROLE_CHAINS = _chains("{if role.kind == 'rm_train'}")
# the role names openrlhf/roles.py built: (role.kind, launch.entrypoint) -> name
ROLE_NAMES = [("rm_train", "train_rm", "reward model (train_rm)"), ("policy", "train_sft", "policy (train_sft)"),
              ("policy", "train_dpo", "policy (train_dpo)"), ("policy", "train_kto", "policy (train_kto)"),
              ("inference", "batch_inference", "model (batch_inference)"),
              ("inference", "interactive_chat", "model (interactive_chat)"),
              ("reward", "serve_rm", "reward model (serve_rm)"), ("reward", "train_ppo_ray", "reward model"),
              ("reward", "train_ppo", "reward model"), ("ref", "train_dpo", "reference model"),
              ("ref", "train_ppo_ray", "reference model"), ("actor", "train_ppo", "actor"),
              ("critic", "train_ppo_ray", "critic"), ("combiner", "lora_combiner", "LoRA adapter given to lora_combiner")]


def test_the_role_words_are_in_the_rules_that_showed_role_name():
    assert [rule for rule, _ in ROLE_CHAINS] == ["RM202", "RM217", "RM301", "RM601", "RM602", "RM608", "RM609",
                                                 "RM614"]


@pytest.mark.parametrize("rule, chain", ROLE_CHAINS, ids=[rule for rule, _ in ROLE_CHAINS])
def test_each_role_is_worded_as_before(rule, chain):
    for kind, entrypoint, name in ROLE_NAMES:
        assert render(chain, {"role": {"kind": kind}, "launch": {"entrypoint": entrypoint}}) == name, (kind, entrypoint)


def test_the_guard_words_its_roles_as_before():
    """rmlint.guard's roles (live/checks.py): reward, critic, train_rm; no launch."""
    (rule, chain), = [(rule, chain) for rule, chain in ROLE_CHAINS if rule == "RM608"]
    assert [render(chain, {"role": {"kind": kind}}) for kind in ("reward", "critic", "train_rm")] == [
        "reward model", "critic", "reward model in training"]
    live = _chains("{if live.role == 'train_rm'}")
    assert [rule for rule, _ in live] == ["RM670", "RM671", "RM672", "RM674"]
    for _, chain in live:
        assert [render(chain, {"live": {"role": kind}}) for kind in ("reward", "critic", "train_rm")] == [
            "reward model", "critic", "reward model in training"]


TRAINER_CHAINS = _chains("{if trainer.framework == 'llamafactory'}LLaMA-Factory")
TRAINER_NAMES = {"llamafactory": "LLaMA-Factory", "trl": "TRL", "axolotl": "axolotl", "peft": "PEFT", "verl": "verl",
                 "deepspeed_chat": "DeepSpeed-Chat"}   # trainer/common.py's LABELS


def test_each_framework_is_worded_as_before():
    assert [rule for rule, _ in TRAINER_CHAINS] == ["RM240", "RM245", "RM414", "RM440", "RM441", "RM625"]
    for _, chain in TRAINER_CHAINS:
        assert {f: render(chain, {"trainer": {"framework": f}}) for f in TRAINER_NAMES} == TRAINER_NAMES


def test_each_release_is_worded_as_before():
    """versions.py showed a release as `text (source)`, or `unknown`."""
    chains = []
    for rule in RULES.values():
        chains += [(rule.id, package, m.group(0)) for m in re.finditer(
            r"\{if versions\.(\w+)\.text\}\{versions\.\1\.text\} \(\{versions\.\1\.source\}\)\{else\}unknown\{end\}",
            rule.message) for package in [m.group(1)]]
    assert sorted({(rule, package) for rule, package, _ in chains}) == [
        ("RM245", "bitsandbytes"), ("RM251", "peft"), ("RM623", "transformers"), ("RM638", "verl"), ("RM639", "peft"),
        ("RM639", "verl"), ("RM640", "transformers")]
    for _, package, chain in chains:
        known = {"versions": {package: {"text": "0.12.0", "source": "requirements.txt:3"}}}
        assert render(chain, known) == "0.12.0 (requirements.txt:3)"
        assert render(chain, {"versions": {package: {"text": "", "source": "unknown"}}}) == "unknown"


def _messages(argv: str, rule: str) -> list:
    return [(f.line, f.column, f.message) for f in lint_argv(argv.split()).findings if f.rule == rule]


def test_torchruns_default_gpu_count_is_named():
    argv = "torchrun --nnodes 2 -m openrlhf.cli.train_rm --pretrain m --train_batch_size 3 --micro_train_batch_size 2"
    at = argv.index("--train_batch_size") + 1
    assert _messages(argv, "RM301") == [(1, at, "train batch 3 is not a multiple of micro batch 2 x 2 GPUs of the reward "
                                                "model (train_rm) (DeepSpeed would use 0 accumulation steps; 2 GPUs from "
                                                "torchrun's default --nproc_per_node 1 x --nnodes 2)")]


def test_a_ray_groups_gpu_count_is_named_by_its_flags():
    """train_ppo_ray sizes each model's group with its own flags (ref and reward: 1 node x 8 GPUs by default)."""
    argv = ("ray job submit -- python3 -m openrlhf.cli.train_ppo_ray --pretrain m --reward_pretrain r "
            "--actor_num_nodes 1 --actor_num_gpus_per_node 3 --critic_num_nodes 1 --critic_num_gpus_per_node 3 "
            "--train_batch_size 10 --micro_train_batch_size 4")
    at = argv.index("--train_batch_size") + 1
    assert _messages(argv, "RM301") == [
        (1, at, f"train batch 10 is not a multiple of micro batch 4 x {gpus} GPUs of the {name} (DeepSpeed would use 0 "
                f"accumulation steps; {gpus} GPUs from {kind} num_nodes x num_gpus_per_node)")
        for gpus, name, kind in ((3, "actor", "actor"), (3, "critic", "critic"), (8, "reference model", "ref"),
                                 (8, "reward model", "reward"))]


def test_a_served_reward_model_is_named_with_its_entrypoint():
    argv = "deepspeed --module openrlhf.cli.serve_rm --reward_pretrain {}/qlora_4bit"
    (found,) = _messages(argv.format(FIXTURES), "RM614")
    assert found[2].endswith("not full weights, given as the reward model (serve_rm)'s model")


@pytest.mark.parametrize("checkpoint, words", [
    ("openrlhf_rm_full", "OpenRLHF value head"), ("hf_seqcls", "OpenRLHF / HF sequence-classification head"),
    ("trl_valuehead_full", "TRL value head"), ("llamafactory_lora_rm", "LLaMA-Factory value head (value_head file)"),
    ("dschat_rm_bin", "DeepSpeed-Chat head")])
def test_inspect_words_whose_head_it_is(checkpoint, words):
    (line,) = [line for line in cli("inspect", str(FIXTURES / checkpoint)).output.splitlines() if line.startswith("  head ")]
    assert f" - {words} (prefix `" in line


def test_fallback_words_are_the_rules():
    """Where a reader gave a phrase for an empty value, the rule says it now (the fact stays empty)."""
    verl = {"release": "0.4.1", "source": "uv.lock:9", "key": "a.b", "error": "e", "known_in": ""}
    assert render(RULES["RM641"].message, {"item": verl}) == (
        "verl 0.4.1 (uv.lock:9) refuses `a.b` (e); the key is in verl main between releases")
    pin = {"launch": {"pinned": "0.5.0", "pinned_source": "requirements.txt:1", "pin_missing": "", "releases": "0.6.0"}}
    assert render(RULES["RM430"].message, pin).startswith(
        "OpenRLHF 0.5.0 (requirements.txt:1) has no the flags' release; the flags fit OpenRLHF 0.6.0")
    item = {"key": "k", "target": "4.41 - 4.45", "target_source": "", "removed": "4.44"}
    assert render(RULES["RM252"].message, {"item": item, "trainer": {"releases": "0.9.0"}}).startswith(
        "LLaMA-Factory refuses `k` with transformers 4.41 - 4.45 (what LLaMA-Factory 0.9.0 allows): ")
    item.update(target="4.40.2", target_source="requirements.txt:3")
    assert render(RULES["RM252"].message, {"item": item, "trainer": {"releases": "0.9.0"}}).startswith(
        "LLaMA-Factory refuses `k` with transformers 4.40.2 (requirements.txt:3): ")
    frozen = {"args": {"lora_frozen_targets": "", "lora_head_frozen": "0.2.0"}}
    assert "targets only the Linear4bit layers (find_all_linear_names; the value head is never quantized) (OpenRLHF " \
           "0.2.0)" in render(RULES["RM602"].message, frozen)

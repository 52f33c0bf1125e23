"""The reward-head rules, shown with OpenRLHF's own model factory (v0.11.0 wheel), transformers
and PEFT on a tiny Llama built on the CPU: what rmlint says happens to the head does happen."""

import os

import pytest
import torch

import upstream
from conftest import rules_of_command

os.environ.setdefault("DS_ACCELERATOR", "cpu")

RM = "deepspeed --module openrlhf.cli.train_rm --model.model_name_or_path m --ds.param_dtype bf16 --ds.zero_stage 2 "


def build(factory, path, **kwargs):
    return factory(path, "reward", param_dtype="bf16", attn_implementation="eager", **kwargs)


def head_in_adapter(model):
    from peft import get_peft_model_state_dict
    return sorted(k for k in get_peft_model_state_dict(model) if ".score." in k)


def test_all_linear_wraps_the_head_and_the_adapter_drops_its_weight(factory, tiny_llama):
    model = build(factory, tiny_llama, lora_rank=4, target_modules="all-linear", init_value_head=True)
    trainable = {n: p.requires_grad for n, p in model.named_parameters() if ".score." in n}
    assert trainable == {"base_model.model.score.base_layer.weight": False,
                         "base_model.model.score.lora_A.default.weight": True,
                         "base_model.model.score.lora_B.default.weight": True}
    assert head_in_adapter(model) == ["base_model.model.score.lora_A.weight", "base_model.model.score.lora_B.weight"]
    assert rules_of_command(RM + "--ds.lora.rank 4") == ["RM601"]


def test_explicit_targets_freeze_the_head_and_leave_it_out(factory, tiny_llama):
    model = build(factory, tiny_llama, lora_rank=4, target_modules=["q_proj", "v_proj"], init_value_head=True)
    assert {n: p.requires_grad for n, p in model.named_parameters() if "score" in n} == {
        "base_model.model.score.weight": False}
    assert head_in_adapter(model) == []
    assert rules_of_command(RM + "--ds.lora.rank 4 --ds.lora.target_modules q_proj v_proj") == ["RM602"]


def test_all_linear_as_a_list_is_not_found_by_peft(factory, tiny_llama):
    with pytest.raises(ValueError, match=r"Target modules \{'all-linear'\} not found in the base model"):
        build(factory, tiny_llama, lora_rank=4, target_modules=["all-linear"], init_value_head=True)
    assert "RM404" in rules_of_command(RM + "--ds.lora.rank 4 --ds.lora.target_modules all-linear")


def test_init_value_head_overwrites_a_trained_head(factory, tiny_llama, tmp_path):
    trained = build(factory, tiny_llama, init_value_head=True)
    with torch.no_grad():
        trained.score.weight.fill_(0.5)
    trained.save_pretrained(tmp_path)
    kept = build(factory, str(tmp_path), init_value_head=False)
    assert torch.all(kept.score.weight == 0.5)
    reinitialised = build(factory, str(tmp_path), init_value_head=True)  # what train_rm always passes
    assert not torch.any(reinitialised.score.weight == 0.5)
    assert rules_of_command("deepspeed --module openrlhf.cli.train_rm --pretrain org/llama-rm --param_dtype bf16") == ["RM603"]


def test_4bit_needs_bf16(factory, tiny_llama):
    with pytest.raises(AssertionError):  # OpenRLHF asserts bf16 before it builds the 4-bit config
        factory(tiny_llama, "reward", param_dtype="fp16", load_in_4bit=True, lora_rank=4, attn_implementation="eager")
    assert "RM102" in rules_of_command("deepspeed --module openrlhf.cli.train_rm --pretrain m --param_dtype fp16 "
                                       "--load_in_4bit --lora_rank 4")

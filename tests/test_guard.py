"""rmlint.guard on live models: OpenRLHF's own reward model (v0.11.0 wheel's
get_llm_for_sequence_regression), transformers and PEFT, tiny Llamas on the CPU. Each failure of the
issue is caught, each correct counterpart passes."""

import subprocess
import sys
import warnings

import pytest
import torch

import rmlint
from rmlint.live import findings

HIDDEN = 64


def rules(result) -> list:
    assert all("<missing" not in f.message for f in result.findings), result.findings
    return [f.rule for f in result.findings]


def build(factory, path, **kwargs):   # noqa: F811
    return factory(path, "reward", param_dtype="bf16", attn_implementation="eager", **kwargs)


@pytest.fixture(scope="module")
def trained_rm(factory, tiny_llama, tmp_path_factory):  # noqa: F811
    """A reward model saved the way an older OpenRLHF (or a third party) saved it: a trained
    `score` head and no value_head_prefix in config.json."""
    model = build(factory, tiny_llama, init_value_head=True)
    torch.manual_seed(1)
    with torch.no_grad():
        model.score.weight.normal_(0.0, 0.3)
    path = tmp_path_factory.mktemp("trained-rm")
    model.save_pretrained(path)
    return str(path)


def seqcls(labels=1):
    from transformers import LlamaConfig, LlamaForSequenceClassification
    torch.manual_seed(0)
    return LlamaForSequenceClassification(LlamaConfig(
        hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=4, vocab_size=128, num_labels=labels, pad_token_id=0))


def test_wrong_value_head_prefix_loads_a_random_head(factory, trained_rm):  # noqa: F811
    model = build(factory, trained_rm, value_head_prefix="value_head")
    result = findings(model, trained_rm, role="reward")
    assert rules(result) == ["RM607"]
    assert result.findings[0].message.startswith(
        f"`{trained_rm}` has no `value_head.weight` (prefix from the live model); its head is stored as `score.weight`")
    assert rules(findings(build(factory, trained_rm), trained_rm, role="reward")) == []


def test_a_head_that_was_not_loaded_is_told_apart_from_the_checkpoint(factory, trained_rm):  # noqa: F811
    model = build(factory, trained_rm)
    torch.nn.init.kaiming_uniform_(model.score.weight)   # what a renamed or mis-shaped load leaves behind
    result = findings(model, trained_rm, role="reward")
    assert rules(result) == ["RM670"]
    assert result.findings[0].path == "<RewardModel>"


def test_init_value_head_over_a_trained_head(factory, trained_rm, tiny_llama):  # noqa: F811
    redrawn = build(factory, trained_rm, init_value_head=True)   # what train_rm always passes
    result = findings(redrawn, trained_rm, role="train_rm")
    assert rules(result) == ["RM608"]
    assert result.findings[0].message == (f"`{trained_rm}` already holds a trained value head; the reward model in "
                                          "training is loaded with init_value_head=True, which draws a new head over it")
    assert rules(findings(build(factory, tiny_llama, init_value_head=True), tiny_llama, role="train_rm")) == []
    assert rules(findings(build(factory, trained_rm), trained_rm, role="reward")) == []
    assert rules(findings(redrawn, trained_rm, role="reward")) == ["RM670"]   # scoring with it: an error


def test_openrlhf_critic_model(factory, trained_rm):  # noqa: F811
    def critic(**kwargs):
        return factory(trained_rm, "critic", param_dtype="bf16", attn_implementation="eager", **kwargs)
    model = critic(init_value_head=True)
    assert type(model).__name__ == "CriticModel"
    result = findings(model, trained_rm, role="critic")
    assert [(f.rule, f.severity, f.path) for f in result.findings] == [("RM608", "warning", "<CriticModel>")]
    assert rules(findings(critic(), trained_rm, role="critic")) == []


def test_lora_reward_model_without_the_head_in_modules_to_save(factory, tiny_llama):  # noqa: F811
    model = build(factory, tiny_llama, lora_rank=4, target_modules=["q_proj", "v_proj"], init_value_head=True)
    result = findings(model, role="train_rm")
    assert rules(result) == ["RM624"]
    assert result.findings[0].message == ("LoRA reward model with PEFT task_type None (from `task_type`) and no `score` in `modules_to_save`: "
                                          "PEFT does not train or save the score head")
    wrapped = build(factory, tiny_llama, lora_rank=4, target_modules="all-linear", init_value_head=True)
    assert [f.message for f in findings(wrapped, role="train_rm").findings] == [   # only its LoRA factors are saved
        "`score` in `target_modules`: LoRA trains a low-rank update on the random head, and the head's own weight "
        "is not saved"]   # PEFT has turned all-linear into the module names: no pattern is left to name
    # a regex PEFT keeps as the string it was given (re.fullmatch on each module's name), named with it
    pattern = build(factory, tiny_llama, lora_rank=4, target_modules=r".*(q_proj|v_proj|score)", init_value_head=True)
    assert [f.message for f in findings(pattern, role="train_rm").findings] == [
        "`score` in `target_modules .*(q_proj|v_proj|score)`: LoRA trains a low-rank update on the random head, and "
        "the head's own weight is not saved"]


def test_peft_seq_cls_and_modules_to_save_keep_the_head():
    from peft import LoraConfig, get_peft_model
    for config in (LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="SEQ_CLS"),
                   LoraConfig(r=4, target_modules=["q_proj", "v_proj"], modules_to_save=["score"])):
        assert rules(findings(get_peft_model(seqcls(), config), role="train_rm")) == []
    frozen = get_peft_model(seqcls(), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    assert rules(findings(frozen, role="train_rm")) == ["RM624"]
    assert rules(findings(frozen, role="reward")) == []   # scoring only: nothing is trained or saved


def test_two_label_head():
    result = findings(seqcls(labels=2), role="reward")
    assert [(f.rule, f.severity, f.message) for f in result.findings] == [
        ("RM613", "error", "head `score.weight` has 2 outputs (shape [2, 64]); a reward model or critic has one "
                           "(num_labels=1)")]
    assert rules(findings(seqcls(labels=1), role="reward")) == []


def test_two_label_checkpoint_is_reported_by_the_static_rule_too(tmp_path):
    seqcls(labels=2).save_pretrained(tmp_path)
    from transformers import AutoModelForSequenceClassification
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert sorted((f.rule, f.path) for f in findings(loaded, tmp_path, role="reward").findings) == [
        ("RM613", str(tmp_path / "model.safetensors")), ("RM613", "<LlamaForSequenceClassification>")]


def test_head_saved_as_a_zero3_placeholder(tmp_path):
    from safetensors.torch import save_file
    model = seqcls()
    with torch.no_grad():
        model.score.weight.normal_(0.0, 0.3)   # trained
    model.save_pretrained(tmp_path)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    state["score.weight"] = torch.empty(0)   # what a ZeRO-3 state dict taken without gathering holds
    save_file(state, tmp_path / "model.safetensors", metadata={"format": "pt"})
    result = findings(model, tmp_path, role="reward")
    assert [(f.rule, f.message) for f in result.findings] == [   # what `rmlint inspect` says of that folder
        ("RM615", "value head `score.weight` is empty (shape [0]): a ZeRO-3 partition saved without gathering"),
        ("RM616", f"`{tmp_path}`: 1 of 21 tensors are empty (shape [0]), e.g. `score.weight`: ZeRO-3 partitions "
                  "saved without gathering")]
    model.save_pretrained(tmp_path)   # the head saved whole
    assert rules(findings(model, tmp_path, role="reward")) == []


def test_head_on_the_meta_device():
    with torch.device("meta"):
        model = seqcls()
    result = findings(model, role="reward")
    assert [(f.rule, f.message) for f in result.findings] == [
        ("RM673", f"head `score.weight` is on the meta device ({len(list(model.parameters()))} of the model's "
                  f"{len(list(model.parameters()))} parameters are): it has a shape but no values, because loading "
                  "never filled it")]


def test_openrlhf_normalisation_buffers_on_transformers_5(factory, tiny_llama, tmp_path):  # noqa: F811
    source = build(factory, tiny_llama, init_value_head=True)
    source.config.mean, source.config.std = 0.5, 2.0
    source.save_pretrained(tmp_path)
    model = build(factory, str(tmp_path), normalize_reward=True)
    assert model.mean.item() != 0.5   # transformers 5 left the buffer uninitialised (RM623)
    assert rules(findings(model, role="reward")) == ["RM672"]
    with torch.no_grad():   # OpenRLHF PR #1343's fix: the statistics restored from config.json
        model.mean[0], model.std[0] = 0.5, 2.0
    assert rules(findings(model, role="reward")) == []


def test_trl_value_head_layout():
    """TRL's AutoModelForCausalLMWithValueHead keeps the causal LM as `pretrained_model` and the head
    as `v_head.summary` (trl/models/modeling_value_head.py); TRL itself is not installed here."""
    from transformers import LlamaConfig, LlamaForCausalLM

    class ValueHead(torch.nn.Module):
        def __init__(self, hidden, outputs):
            super().__init__()
            self.dropout, self.summary = torch.nn.Identity(), torch.nn.Linear(hidden, outputs)

    class AutoModelForCausalLMWithValueHead(torch.nn.Module):
        def __init__(self, outputs):
            super().__init__()
            self.pretrained_model = LlamaForCausalLM(LlamaConfig(
                hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4,
                num_key_value_heads=4, vocab_size=128))
            self.v_head = ValueHead(HIDDEN, outputs)

    assert rules(findings(AutoModelForCausalLMWithValueHead(1), role="critic")) == []
    result = findings(AutoModelForCausalLMWithValueHead(2), role="critic")
    assert [(f.rule, f.message.split(" has")[0]) for f in result.findings] == [("RM613", "head `v_head.summary.weight`")]


def test_trl_ppo_policy_and_value_wrapper():
    """TRL's PPOTrainer (trl/trainer/ppo_trainer.py, before TRL 1.0) trains a PolicyAndValueWrapper
    holding `policy` and `value_model` (an AutoModelForSequenceClassification): the value model is checked."""
    from transformers import LlamaConfig, LlamaForCausalLM

    class PolicyAndValueWrapper(torch.nn.Module):
        def __init__(self, value_model):
            super().__init__()
            self.policy = LlamaForCausalLM(LlamaConfig(hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=1,
                                                       num_attention_heads=4, num_key_value_heads=4, vocab_size=128))
            self.value_model = value_model

    assert rules(findings(PolicyAndValueWrapper(seqcls()), role="critic")) == []
    assert rules(findings(PolicyAndValueWrapper(seqcls(labels=2)), role="critic")) == ["RM613"]


def test_a_model_without_head():
    from transformers import LlamaConfig, LlamaModel
    model = LlamaModel(LlamaConfig(hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=1,
                                   num_attention_heads=4, num_key_value_heads=4, vocab_size=128))
    assert rules(findings(model, role="reward")) == ["RM674"]


def test_guard_raises_on_errors_and_warns_on_warnings(factory, tiny_llama, tmp_path):  # noqa: F811
    with pytest.raises(rmlint.LintError, match="RM613"):
        rmlint.guard(seqcls(labels=2), role="reward")
    assert rmlint.guard(seqcls(), role="reward").findings == []
    build(factory, tiny_llama, init_value_head=True).save_pretrained(tmp_path)   # saved before any training
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = rmlint.guard(build(factory, str(tmp_path)), tmp_path, role="reward")
    assert rules(result) == ["RM620"]
    assert [w.category for w in caught if "RM620" in str(w.message)] == [rmlint.RmlintWarning]


def test_warnings_only_on_rank_0(monkeypatch, caplog):
    from rmlint.live import guard
    monkeypatch.setattr("rmlint.live.findings", lambda *a, **k: _warning_result())
    monkeypatch.setenv("RANK", "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        guard(seqcls(), role="reward")
        assert caught == []
        guard(seqcls(), role="reward", rank0_only=False)
        assert [str(w.message) for w in caught] == ["<m>:0:0: RM620 looks untrained"]


def _warning_result():
    from rmlint.finding import Finding
    from rmlint.lint import Result
    return Result(findings=[Finding("RM620", "value-head-looks-untrained", "warning", "looks untrained", "<m>", 0, 0)])


def test_guard_rejects_an_unknown_role_and_what_is_not_a_model():
    with pytest.raises(rmlint.UsageError, match="role must be one of reward, critic, train_rm"):
        rmlint.guard(seqcls(), role="policy")
    with pytest.raises(rmlint.UsageError, match="checks a torch model .* not a str"):
        rmlint.guard("reward-model/", role="reward")


def test_import_rmlint_imports_no_torch():
    code = "import sys, rmlint; rmlint.guard; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_checkpoint_that_is_not_on_this_machine_is_skipped_not_failed():
    result = findings(seqcls(), "org/not-downloaded-rm", role="reward")
    assert result.findings == []
    assert [(model, reason.split(" (")[0]) for model, _, reason in result.skipped] == [
        ("org/not-downloaded-rm", "not a local path and not in the Hugging Face cache")]


def test_explain_says_who_reports_a_guard_rule():
    from conftest import cli
    page = cli("explain", "RM670").output
    assert "rmlint.guard(model, checkpoint='redrawn', role='reward')" in page
    assert page.rstrip().endswith("Applies to: live. Reported by rmlint.guard on the live model (rmlint/live/checks.py).")


@pytest.mark.parametrize("path", ["/nonexistent/ckpt", "./no-such-rm", "../no-such-rm", "runs/2026/no-such-rm",
                                  "~/no-such-rm-here"])
def test_a_local_checkpoint_path_that_does_not_exist_is_an_error_naming_it(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = findings(seqcls(), path, role="reward")
    assert [(f.rule, f.severity, f.path) for f in result.findings] == [("RM050", "error", path)]
    assert result.findings[0].message.startswith(f"checkpoint `{path}` does not exist on this machine")
    assert result.skipped == []
    with pytest.raises(rmlint.LintError, match="RM050"):
        rmlint.guard(seqcls(), checkpoint=path, role="reward")


def test_a_bare_name_not_found_is_skipped_with_a_reason_that_fits_the_guard(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = findings(seqcls(), "no-such-rm", role="reward")
    assert result.findings == []
    assert [reason for _, _, reason in result.skipped] == ["no such file or folder in the working directory"]

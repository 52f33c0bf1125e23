"""After training (issue 13, part 3): what OpenRLHF's own lora_combiner (0.11.0 wheel) does to a reward
adapter, run for real on the CPU with transformers and PEFT, next to what rmlint says about the launch;
and the setups the fixes of RM202/RM601/RM609/RM511 name, shown to keep the trained head."""

import ast
import functools
import os
import shutil
import sys
import types

import pytest
import torch

import upstream
from conftest import FIXTURES, cli

os.environ.setdefault("DS_ACCELERATOR", "cpu")


@pytest.fixture(scope="module")
def apply_lora():
    """lora_combiner.apply_lora from the 0.11.0 wheel; the tokenizer is stubbed (the fixtures have none)."""
    tree = ast.parse(upstream.source("0.11.0", "openrlhf/cli/lora_combiner.py"))
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "apply_lora")
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    tokenizer = types.SimpleNamespace(save_pretrained=lambda path: None)
    namespace = {"PeftModel": PeftModel, "AutoModelForCausalLM": AutoModelForCausalLM,
                 "AutoModelForSequenceClassification": AutoModelForSequenceClassification,
                 "AutoTokenizer": types.SimpleNamespace(from_pretrained=lambda path: tokenizer),
                 "convert_to_torch_dtype": lambda name: torch.bfloat16}
    exec(compile(ast.Module(body=[function], type_ignores=[]), "openrlhf/cli/lora_combiner.py", "exec"), namespace)
    return namespace["apply_lora"]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The fixtures' adapters name their base as `base_sft`, relative to the fixtures folder."""
    for name in ("base_sft", "peft_lora_score_all_linear", "peft_lora_score_saved", "peft_lora_no_head"):
        shutil.copytree(FIXTURES / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def combiner_findings(workdir, adapter):
    script = workdir / "merge_rm.sh"
    script.write_text("set -x\n\npython -m openrlhf.cli.lora_combiner \\\n    --model_path ./base_sft \\\n"
                      f"    --lora_path ./{adapter} \\\n    --output_path ./merged \\\n    --is_rm \\\n"
                      "    --ds.param_dtype bf16\n")
    result = cli("check", str(script))
    return result.exit_code, [line for line in result.output.splitlines() if " RM5" in line or " RM6" in line]


def test_all_linear_adapter_crashes_the_real_combiner_as_rmlint_says(apply_lora, workdir):
    with pytest.raises(RuntimeError, match=r"size mismatch for base_model\.model\.score\.lora_B\.default\.weight: "
                                           r"copying a param with shape torch\.Size\(\[1, 4\]\) from checkpoint, the "
                                           r"shape in current model is torch\.Size\(\[2, 4\]\)"):
        apply_lora("base_sft", "peft_lora_score_all_linear", "merged", True, "bf16")
    code, lines = combiner_findings(workdir, "peft_lora_score_all_linear")
    assert code == 1
    assert lines == [f"{workdir}/merge_rm.sh:5:5: error RM510 lora_combiner --is_rm will crash on "
                     "`./peft_lora_score_all_linear`: it loads the base as AutoModelForSequenceClassification with a "
                     "2-output `score`, and the adapter's `base_model.model.score.lora_B.weight` does not fit it "
                     "(size mismatch: [1, 4] in the adapter, [2, 4] in the model)  [combiner-crashes-on-lora-head]"]


def test_saved_head_adapter_crashes_the_real_combiner_as_rmlint_says(apply_lora, workdir):
    with pytest.raises(RuntimeError, match=r"score\.modules_to_save\.default\.weight: copying a param with shape "
                                           r"torch\.Size\(\[1, 64\]\) .* torch\.Size\(\[2, 64\]\)"):
        apply_lora("base_sft", "peft_lora_score_saved", "merged", True, "bf16")
    code, lines = combiner_findings(workdir, "peft_lora_score_saved")
    assert code == 1 and [line.split(" error ")[1][:5] for line in lines] == ["RM511"]
    assert "(size mismatch: [1, 64] in the adapter, [2, 64] in the model)" in lines[0]


def test_adapter_without_the_head_merges_under_a_random_two_output_head(apply_lora, workdir):
    apply_lora("base_sft", "peft_lora_no_head", "merged", True, "bf16")
    from safetensors import safe_open
    with safe_open("merged/model.safetensors", "pt") as handle:
        assert handle.get_slice("score.weight").get_shape() == [2, 64]
    code, lines = combiner_findings(workdir, "peft_lora_no_head")
    assert code == 1 and [line.split(" error ")[1][:5] for line in lines] == ["RM512"]
    assert lines[0].startswith(f"{workdir}/merge_rm.sh:7:5: error RM512 lora_combiner --is_rm will save a model "
                               "whose `score` head is new, random and has 2 outputs")


def test_an_adapter_not_on_this_machine_is_still_judged_and_nothing_raises(tmp_path):
    script = tmp_path / "merge.sh"
    script.write_text("python -m openrlhf.cli.lora_combiner --model_path meta-llama/Meta-Llama-3-8B "
                      "--lora_path ./checkpoint/llama3-8b-rm --output_path ./out --is_rm --bf16\n")
    result = cli("check", str(tmp_path))       # a directory scan reads it too
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "error RM513 lora_combiner --is_rm builds a 2-output `score` head" in result.output
    result = cli("check-args", "--", "python", "-m", "openrlhf.cli.lora_combiner", "--model_path", "m",
                 "--lora_path", "a", "--output_path", "o")      # no --is_rm: an ordinary merge, nothing to say
    assert result.exit_code == 0 and result.exception in (None,) or isinstance(result.exception, SystemExit)
    assert result.exit_code == 0, result.output


def test_the_merge_rm511_names_keeps_the_trained_head(workdir):
    """RM511's fix: the base with num_labels=1, then PEFT's own merge."""
    from peft import PeftModel
    from safetensors import safe_open
    from transformers import AutoModelForSequenceClassification
    base = AutoModelForSequenceClassification.from_pretrained("base_sft", num_labels=1, dtype=torch.bfloat16)
    PeftModel.from_pretrained(base, "peft_lora_score_saved").merge_and_unload().save_pretrained("merged")
    with safe_open("peft_lora_score_saved/adapter_model.safetensors", "pt") as handle:
        trained = handle.get_tensor("base_model.model.score.weight")
    with safe_open("merged/model.safetensors", "pt") as handle:
        assert torch.equal(handle.get_tensor("score.weight"), trained)
    # and OpenRLHF then loads the merged folder with that head: nothing for rmlint to say
    result = cli("check-args", "--", "deepspeed", "--module", "openrlhf.cli.serve_rm", "--reward_pretrain",
                 str(workdir / "merged"), "--value_head_prefix", "score", "--bf16")
    assert result.exit_code == 0, result.output


def _reward(factory, path, **kwargs):
    return factory(path, "reward", param_dtype="bf16", attn_implementation="eager", **kwargs)


@pytest.mark.parametrize("targets", ["all-linear", ["q_proj", "v_proj"]])
def test_lora_with_modules_to_save_patched_keeps_the_head(factory, tiny_llama, tmp_path, monkeypatch, targets):
    """RM601/RM602's LoRA setup: OpenRLHF's own factory with modules_to_save=[prefix] patched into its
    LoraConfig, as PR #1342 does; the head trains in full, is saved, and comes back on a fresh base."""
    import peft
    model_module = sys.modules["openrlhf.models.model"]
    monkeypatch.setattr(model_module, "LoraConfig", functools.partial(peft.LoraConfig, modules_to_save=["score"]))
    model = _reward(factory, tiny_llama, lora_rank=4, target_modules=targets, init_value_head=True)
    head = {n: p for n, p in model.named_parameters() if ".score." in n and p.requires_grad}
    assert list(head) == ["base_model.model.score.modules_to_save.default.weight"]
    trained = torch.randn(1, 64, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16) * 0.3
    with torch.no_grad():
        head["base_model.model.score.modules_to_save.default.weight"].copy_(trained)    # "trained"
    model.save_pretrained(tmp_path / "adapter")
    monkeypatch.setattr(model_module, "LoraConfig", peft.LoraConfig)
    fresh = _reward(factory, tiny_llama, init_value_head=True)                     # a new random head
    merged = peft.PeftModel.from_pretrained(fresh, str(tmp_path / "adapter")).merge_and_unload()
    assert torch.equal(merged.score.weight, trained)
    result = cli("inspect", str(tmp_path / "adapter"))
    assert " RM61" not in result.output and " RM610" not in result.output


def test_full_training_of_the_head_saves_and_reloads_it(factory, tiny_llama, tmp_path):
    """RM202/RM601/RM510/RM512's setup: `--lora_rank 0` (no 4-bit): the head trains with the body and the
    saved folder loads back with it (ZeRO-2 keeps whole parameters on every rank, so save_pretrained
    writes the head as trained); rmlint says nothing against that launch."""
    model = _reward(factory, tiny_llama, init_value_head=True)
    assert model.score.weight.requires_grad
    with torch.no_grad():
        model.score.weight.fill_(0.5)
    model.save_pretrained(tmp_path / "rm")
    assert torch.all(_reward(factory, str(tmp_path / "rm"), init_value_head=False).score.weight == 0.5)
    result = cli("check-args", "--", "deepspeed", "--module", "openrlhf.cli.train_rm", "--pretrain", "m",
                 "--bf16", "--zero_stage", "2", "--lora_rank", "0")
    assert result.exit_code == 0 and "RM202" not in result.output and "RM601" not in result.output


def test_the_fixes_of_rm202_and_rm601_do_not_send_users_to_each_other():
    from rmlint.rules import builtin
    fixes = {rule.id: rule.fix for rule in builtin()}
    # RM202 (4-bit without LoRA) names full training; RM601/RM602 (LoRA on the head) name full training
    # without 4-bit: following either fix raises neither rule
    assert "--zero_stage 2" in fixes["RM202"] and fixes["RM202"].startswith("Drop `--load_in_4bit`")
    for rule in ("RM601", "RM602"):
        assert fixes[rule].startswith("Train in full without LoRA or 4-bit: `--lora_rank 0` (no `--load_in_4bit`)")
    assert "lora_combiner --is_rm" not in fixes["RM609"].split("(lora_combiner")[0]

"""The checkpoint readers and rules against the real libraries, on CPU: the fixtures regenerate
byte-identical, rmlint's readers agree with safetensors and torch.load(weights_only=True), and
OpenRLHF 0.11.0's own model factory (transformers 5.23, PEFT 0.21.2) does what each rule says."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

import upstream
from conftest import FIXTURES, ROOT
from rmlint.frameworks.checkpoint.safetensors_file import read_header
from rmlint.frameworks.checkpoint.tensors import CheckpointError
from rmlint.frameworks.checkpoint.torch_zip import read_index
from rmlint.lint import inspect_checkpoints

os.environ.setdefault("DS_ACCELERATOR", "cpu")
TORCH_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64",
                torch.uint8: "U8", torch.int8: "I8"}


def test_fixtures_regenerate_identically():
    """CI rebuilds every fixture with the pinned libraries and compares digests with the committed ones."""
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_checkpoint_fixtures.py"), str(FIXTURES), "--check"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("fixtures match"), done.stdout + done.stderr[-2000:]


def test_fixtures_are_small():
    manifest = json.loads((FIXTURES / "MANIFEST.json").read_text())["fixtures"]
    assert all(entry["bytes"] < 1 << 20 for entry in manifest.values())


SAFETENSORS = sorted(FIXTURES.rglob("*.safetensors"))


@pytest.mark.parametrize("path", SAFETENSORS, ids=[str(p.relative_to(FIXTURES)) for p in SAFETENSORS])
def test_safetensors_reader_agrees_with_safe_open(path):
    from safetensors import safe_open
    try:
        with safe_open(str(path), "pt") as handle:
            theirs = {k: (TORCH_DTYPES[handle.get_tensor(k).dtype], tuple(handle.get_slice(k).get_shape()))
                      for k in handle.keys()}
    except Exception:   # safetensors refuses it: rmlint must refuse it too
        with pytest.raises(CheckpointError):
            read_header(str(path))
        return
    _, tensors = read_header(str(path))
    assert {t.name: (t.dtype, t.shape) for t in tensors} == theirs


BINS = sorted(p for p in FIXTURES.rglob("*") if p.suffix in (".bin", ".pt"))


@pytest.mark.parametrize("path", BINS, ids=[str(p.relative_to(FIXTURES)) for p in BINS])
def test_torch_zip_reader_agrees_with_weights_only_load(path):
    try:
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception:
        with pytest.raises(CheckpointError):
            read_index(str(path))
        return
    flat = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    tensors = {t.name: t for t in read_index(str(path))}
    assert {k: (t.dtype, t.shape) for k, t in tensors.items()} == \
        {k: (TORCH_DTYPES[v.dtype], tuple(v.shape)) for k, v in flat.items()}
    from rmlint.frameworks.checkpoint.tensors import read_bytes
    for name, tensor in flat.items():   # the bytes rmlint seeks to are the tensor's own
        if tensor.numel() and tensor.is_contiguous():
            assert read_bytes(tensors[name], 1 << 24) == tensor.contiguous().view(torch.uint8).numpy().tobytes()


# ----------------------------------------------------------------------------- what the loader does

@pytest.fixture(scope="module")
def factory():
    import transformers
    transformers.logging.set_verbosity_error()
    return upstream.reward_model_factory("0.11.0")


def load(factory, name, seed=0, **kwargs):
    torch.manual_seed(seed)
    return factory(str(FIXTURES / name), "reward", param_dtype="bf16", attn_implementation="eager", **kwargs)


def saved_head(name, key="value_head.weight"):
    from safetensors import safe_open
    with safe_open(str(FIXTURES / name / "model.safetensors"), "pt") as handle:
        return handle.get_tensor(key).float()


def loaded_head(model):
    return getattr(model, model.value_head_prefix).weight.detach().float()


def rules(name):
    return [f.rule for f in inspect_checkpoints([str(FIXTURES / name)]).findings]


def test_present_head_loads_as_saved(factory):
    assert torch.equal(loaded_head(load(factory, "openrlhf_rm_full")), saved_head("openrlhf_rm_full"))
    assert rules("openrlhf_rm_full") == []


def test_missing_head_loads_silently_with_a_random_head(factory):
    """RM606: no error, and a new head on every load."""
    first, second = (loaded_head(load(factory, "openrlhf_rm_missing_head", seed)) for seed in (1, 2))
    assert not torch.equal(first, second)
    assert rules("openrlhf_rm_missing_head") == ["RM606"]


def test_prefix_mismatch_loads_silently_with_a_random_head(factory):
    """RM607: config.json has no prefix, the default `score` misses `value_head.weight`; the flag fixes it."""
    wrong = load(factory, "openrlhf_rm_value_head_no_prefix", value_head_prefix="score")
    right = load(factory, "openrlhf_rm_value_head_no_prefix", value_head_prefix="value_head")
    saved = saved_head("openrlhf_rm_value_head_no_prefix")
    assert wrong.value_head_prefix == "score" and not torch.equal(loaded_head(wrong), saved)
    assert torch.equal(loaded_head(right), saved)
    assert rules("openrlhf_rm_value_head_no_prefix") == ["RM607"]


def test_config_prefix_wins_over_the_flag(factory):
    model = load(factory, "openrlhf_rm_full", value_head_prefix="score")
    assert model.value_head_prefix == "value_head"


def test_two_output_head_is_refused(factory):
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):
        load(factory, "hf_seqcls_2labels")
    assert rules("hf_seqcls_2labels") == ["RM613"]


def test_empty_zero3_tensors_are_refused(factory):
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):
        load(factory, "zero3_empty_head")
    assert rules("zero3_empty_head") == ["RM615", "RM616"]


def test_missing_shard_is_refused(factory):
    with pytest.raises(FileNotFoundError, match="model-00003-of-00003.safetensors"):
        load(factory, "sharded_missing_shard")
    assert rules("sharded_missing_shard") == ["RM617"]


def test_deepspeed_folder_is_not_loadable(factory):
    with pytest.raises(ValueError, match="Unrecognized model"):
        load(factory, "deepspeed_zero_ckpt")
    assert rules("deepspeed_zero_ckpt") == ["RM619"]


def test_adapter_folder_is_not_loadable_even_with_a_config(factory, tmp_path):
    """RM609: OpenRLHF's LoRA output carries config.json beside the adapter; from_pretrained still fails."""
    with pytest.raises(ValueError, match="Unrecognized model"):
        load(factory, "peft_lora_value_head_saved")
    shutil.copytree(FIXTURES / "peft_lora_value_head_saved", tmp_path / "rm")
    shutil.copy(FIXTURES / "openrlhf_rm_full" / "config.json", tmp_path / "rm" / "config.json")
    with pytest.raises(OSError, match="no file named model.safetensors"):
        factory(str(tmp_path / "rm"), "reward", param_dtype="bf16", attn_implementation="eager")


def test_a_quantized_checkpoint_comes_back_quantized_without_load_in_4bit(factory):
    """RM614: the checkpoint's quantization_config wins; the model is not full precision."""
    model = load(factory, "qlora_4bit")
    assert any(type(m).__name__ == "Linear4bit" for m in model.modules())


def test_init_value_head_overwrites_a_trained_head(factory):
    """RM608: init_value_head draws over the head that was loaded."""
    model = load(factory, "openrlhf_rm_full", init_value_head=True)
    assert not torch.equal(loaded_head(model), saved_head("openrlhf_rm_full"))


def _reward_model_on_base(factory, seed=0):
    return load(factory, "base_sft", seed, value_head_prefix="value_head")


def test_adapter_without_head_reloads_with_a_random_head(factory):
    """RM610/RM611: PEFT restores the LoRA factors; the head comes from the base, drawn anew each load."""
    from peft import PeftModel
    heads = []
    for seed in (1, 2):
        model = PeftModel.from_pretrained(_reward_model_on_base(factory, seed), str(FIXTURES / "peft_lora_no_head"))
        heads.append(model.base_model.model.value_head.weight.detach().float())
    assert not torch.equal(*heads)
    assert rules("peft_lora_no_head") == ["RM611", "RM610"]


def test_adapter_with_modules_to_save_restores_the_head(factory):
    from peft import PeftModel
    model = PeftModel.from_pretrained(_reward_model_on_base(factory), str(FIXTURES / "peft_lora_value_head_saved"))
    from safetensors import safe_open
    with safe_open(str(FIXTURES / "peft_lora_value_head_saved" / "adapter_model.safetensors"), "pt") as handle:
        saved = handle.get_tensor("base_model.model.value_head.weight").float()
    restored = model.base_model.model.value_head.modules_to_save["default"].weight.detach().float()
    assert torch.equal(restored, saved)
    assert rules("peft_lora_value_head_saved") == []


def test_empty_adapter_tensors_are_refused(factory):
    from peft import PeftModel
    with pytest.raises(RuntimeError, match="size mismatch"):
        PeftModel.from_pretrained(_reward_model_on_base(factory), str(FIXTURES / "peft_zero3_empty"))
    assert rules("peft_zero3_empty") == ["RM615", "RM616"]


def test_normalisation_statistics_come_only_from_config_json(factory):
    """RM612, in OpenRLHF's own class: without mean/std in config.json the buffers are 0 and 1."""
    from transformers import AutoConfig, LlamaModel, LlamaPreTrainedModel
    import sys
    reward_class = sys.modules["openrlhf.models.model"]._get_reward_model(LlamaPreTrainedModel, LlamaModel, "score")
    plain = reward_class(AutoConfig.from_pretrained(FIXTURES / "openrlhf_rm_prefix_mismatch"))
    with_stats = reward_class(AutoConfig.from_pretrained(FIXTURES / "openrlhf_rm_full"))
    assert (plain.mean.item(), plain.std.item()) == (0.0, 1.0)
    assert (round(with_stats.mean.item(), 4), round(with_stats.std.item(), 4)) == (0.1234, 1.5678)


def test_transformers_5_loses_the_normalisation_statistics(factory):
    """RM623: through from_pretrained the saved mean 0.1234 / std 1.5678 do not survive (OpenRLHF PR #1343)."""
    from conftest import rules_of_command
    loaded = [load(factory, "openrlhf_rm_full", seed, normalize_reward=True) for seed in range(3)]
    assert not all(round(m.mean.item(), 4) == 0.1234 and round(m.std.item(), 4) == 1.5678 for m in loaded)
    assert rules_of_command("python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path a "
                            "--reward.model_name_or_path r --reward.normalize_enable --vllm.num_engines 2") == ["RM623"]

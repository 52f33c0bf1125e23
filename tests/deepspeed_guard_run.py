"""Run by test_guard_deepspeed.py in its own process (DeepSpeed's process group must not leak into
the test session): real DeepSpeed ZeRO-3 on the CPU, one rank over gloo. Prints the guard's findings
per case as JSON."""

import json
import os
import sys
import tempfile

os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=sys.argv[1], RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")

import deepspeed  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from transformers import LlamaConfig, LlamaForSequenceClassification  # noqa: E402
from transformers.integrations import HfDeepSpeedConfig  # noqa: E402

from rmlint.live import findings  # noqa: E402

CONFIG = {"train_micro_batch_size_per_gpu": 1, "zero_optimization": {"stage": 3},
          "optimizer": {"type": "AdamW", "params": {"lr": 1e-4, "torch_adam": True}}}
TINY = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=4, vocab_size=128, num_labels=1, pad_token_id=0)
out = {}
gathered = []
real_gather = deepspeed.zero.GatheredParameters


def recording_gather(params, *args, **kwargs):
    gathered.append(len(params))
    return real_gather(params, *args, **kwargs)


def rules(result):
    return [(f.rule, f.message) for f in result.findings]


def save(model, folder, gather):
    model.config.save_pretrained(folder)
    if gather:   # what stage3_gather_16bit_weights_on_model_save does
        with real_gather(list(model.parameters()), modifier_rank=None):
            state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    else:        # a state dict taken without gathering: every partitioned weight is a [0] placeholder
        state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})


deepspeed.init_distributed(dist_backend="gloo")
keep = HfDeepSpeedConfig(CONFIG)   # the live ZeRO-3 config transformers consults
torch.manual_seed(0)
with deepspeed.zero.Init(config_dict_or_path=CONFIG):
    model = LlamaForSequenceClassification(TINY)
with real_gather([model.score.weight], modifier_rank=0):
    torch.nn.init.normal_(model.score.weight, 0.0, 0.3)   # a trained head
engine, *_ = deepspeed.initialize(model=model, config=CONFIG, model_parameters=model.parameters())
out["stage"] = engine.zero_optimization_stage()

deepspeed.zero.GatheredParameters = recording_gather
out["engine"] = rules(findings(engine, role="train_rm"))
out["gathered"] = list(gathered)
out["head_after"] = list(engine.module.score.weight.shape)   # partitioned again
with tempfile.TemporaryDirectory() as placeholder, tempfile.TemporaryDirectory() as whole:
    save(engine.module, placeholder, gather=False)
    save(engine.module, whole, gather=True)
    out["placeholder"] = [rule for rule, _ in rules(findings(engine, placeholder, role="reward"))]
    out["whole"] = rules(findings(engine, whole, role="reward"))

# OpenRLHF's launcher (train_rm): its own factory under the live ZeRO-3 config, LoRA on q/v only,
# then strategy.prepare's deepspeed.initialize; the README's two lines run on the engine
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402

factory = upstream.reward_model_factory("0.11.0")
with tempfile.TemporaryDirectory() as base:
    LlamaForCausalLM(TINY).save_pretrained(base)
    for targets in (["q_proj", "v_proj"], "all-linear"):
        rm = factory(base, "reward", param_dtype="bf16", attn_implementation="eager", lora_rank=4,
                     target_modules=targets, init_value_head=True, ds_config=CONFIG)
        rm_engine, *_ = deepspeed.initialize(model=rm, config=CONFIG,
                                             model_parameters=[p for p in rm.parameters() if p.requires_grad])
        out[f"openrlhf-lora-{targets if isinstance(targets, str) else 'qv'}"] = [
            rule for rule, _ in rules(findings(rm_engine, base, role="train_rm"))]

keep = HfDeepSpeedConfig(CONFIG)   # the factory's own HfDeepSpeedConfig replaced ours, and is gone with it
import bitsandbytes as bnb  # noqa: E402
for storage in (torch.uint8, torch.bfloat16):
    plain = LlamaForSequenceClassification(TINY)
    plain.model.layers[0].mlp.down_proj = bnb.nn.Linear4bit(128, 64, bias=False, quant_storage=storage).to("cpu")
    out[f"4bit-{str(storage).split('.')[1]}"] = rules(findings(plain, role="reward"))
print("RESULT " + json.dumps(out))

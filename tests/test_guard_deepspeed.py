"""rmlint.guard under real DeepSpeed ZeRO-3 on the CPU (one rank, gloo), in a separate process:
the head is gathered through DeepSpeed's GatheredParameters, that one parameter alone; a checkpoint
saved from the partitioned model without gathering is caught, the gathered save passes; bitsandbytes
4-bit weights left in uint8 storage under a live ZeRO-3 config are caught."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def run():
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "DS_ACCELERATOR": "cpu"}
    done = subprocess.run([sys.executable, str(HERE / "deepspeed_guard_run.py"), str(random.randint(20000, 40000))],
                          capture_output=True, text=True, timeout=300, env=env, cwd=HERE.parent)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, done.stderr[-3000:]
    return json.loads(line[len("RESULT "):])


def test_a_zero3_engine_with_a_sound_head_passes_and_only_the_head_is_gathered(run):
    assert run["stage"] == 3
    assert run["engine"] == []
    assert run["gathered"] == [1]        # one GatheredParameters call, over one parameter
    assert run["head_after"] == [0]      # and the head is partitioned again afterwards


def test_a_checkpoint_saved_without_gathering_is_caught(run):
    assert run["placeholder"][:2] == ["RM615", "RM616"]
    assert run["whole"] == []


def test_openrlhf_lora_reward_model_on_its_deepspeed_engine(run):
    """The README's two lines after strategy.prepare: OpenRLHF 0.11.0's factory under ZeRO-3, LoRA."""
    assert run["openrlhf-lora-qv"] == ["RM624"]          # head frozen and left out of the adapter
    assert run["openrlhf-lora-all-linear"] == ["RM630"]  # only the head's LoRA factors are saved


def test_4bit_uint8_storage_under_a_live_zero3_config(run):
    assert [rule for rule, _ in run["4bit-uint8"]] == ["RM247"]
    assert run["4bit-uint8"][0][1] == (
        "4-bit QLoRA under ZeRO-3 (the live DeepSpeed config) with `bnb_4bit_quant_storage` unset (uint8), e.g. "
        "`model.layers.0.mlp.down_proj.weight` (1 4-bit weights): ZeRO-3 can only shard 4-bit weights stored in "
        "the model's dtype")
    assert run["4bit-bfloat16"] == []

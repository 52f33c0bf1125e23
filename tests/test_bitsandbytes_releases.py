"""bitsandbytes across releases: the 4-bit storage dtype that ZeRO-3 needs to shard QLoRA weights
(`quant_storage`, RM245/RM247) exists from bitsandbytes 0.43.0 on.

What runs on a CPU: 0.42.0 and 0.43.0 are their wheels from the registry (unpacked without the CUDA
libraries; on a CPU they import with a warning and quantise only when moved to a CUDA device), so for them the
test shows what the rules depend on, the `quant_storage` parameter of Linear4bit/Params4bit, and that
0.42.0 refuses it. The `test` extra's 0.50.2 quantises on the CPU, so there the storage dtype itself is
shown: bfloat16 when asked, uint8 (bitsandbytes' default) when not."""

import os
import subprocess
import sys

import pytest

import upstream
from rmlint.config import Settings
from rmlint.lint import lint_paths

PROBE = """
import inspect, warnings, torch
warnings.filterwarnings("ignore")
import bitsandbytes as bnb
print("release", bnb.__version__)
print("parameter", "quant_storage" in inspect.signature(bnb.nn.Linear4bit.__init__).parameters,
      "quant_storage" in inspect.signature(bnb.nn.Params4bit.__new__).parameters)
for storage in (torch.bfloat16, None):
    try:
        extra = {"quant_storage": storage} if storage else {}
        layer = bnb.nn.Linear4bit(16, 16, compute_dtype=torch.bfloat16, **extra).to("cpu")
        print("stored", layer.weight.dtype)
    except Exception as err:
        print("refused", type(err).__name__, str(err))
"""
RECIPE = ("model_name_or_path: m\nstage: rm\nfinetuning_type: lora\nquantization_bit: 4\n"
          "deepspeed: {root}/sample_configs/deepspeed-llamafactory/ds_z3_config.json\n")


def probe(version: str) -> list:
    env = dict(os.environ)
    if version != "0.50.2":
        env["PYTHONPATH"] = str(upstream.wheels_tree(f"bitsandbytes=={version}", skip=".so"))
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if line.split()[0] in ("release", "parameter", "stored", "refused")]


def rm245(tmp_path, version: str) -> list:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    recipe = tmp_path / "rm.yaml"
    recipe.write_text(RECIPE.format(root=root))
    settings = Settings(versions={"bitsandbytes": version}, installed_versions=False)
    return [(f.rule, f.line) for f in lint_paths([recipe], settings=settings, select=["RM245"]).findings]


@pytest.mark.parametrize("version,seen,warned", [
    ("0.42.0", ["parameter False False", "refused TypeError Linear4bit.__init__() got an unexpected keyword argument 'quant_storage'"], True),
    ("0.43.0", ["parameter True True"], False),
    ("0.50.2", ["parameter True True", "stored torch.bfloat16", "stored torch.uint8"], False),
])
def test_rm245_holds_exactly_where_bitsandbytes_lacks_the_storage_dtype(tmp_path, version, seen, warned):
    lines = probe(version)
    assert lines[0] == f"release {version}"
    assert lines[1:len(seen) + 1] == seen
    assert rm245(tmp_path, version) == ([("RM245", 4)] if warned else [])

"""What rmlint.guard costs on a model with the layout of a 7B reward model, beside what loading costs.

Usage: python benchmarks/bench_guard.py [--runs 5]

The model is LlamaForSequenceClassification with Llama-2-7B's shapes (hidden 4096, 32 layers,
intermediate 11008, vocab 32000, 6.6e9 parameters) built on the meta device, as transformers 5 builds
every model before it fills it, with a real bf16 `score` head; the checkpoint beside it holds that
head (safetensors) and the 7B config.json. Each run is a fresh process; figures are medians.
"build" is the meta construction (the part of from_pretrained before any weight is read); "read
13.5 GB" is the time the weights alone take at 2 GB/s (a fast NVMe disk), the floor of a real load.
Memory is the growth of the process's resident set (VmRSS) across the guard call.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForSequenceClassification
import rmlint
from rmlint.live import findings

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                     num_key_value_heads=32, vocab_size=32000, num_labels=1, pad_token_id=0, dtype="bfloat16")
start = time.perf_counter()
with torch.device("meta"):
    model = LlamaForSequenceClassification(config)
build = time.perf_counter() - start
model.score = torch.nn.Linear(4096, 1, bias=False, dtype=torch.bfloat16)
torch.nn.init.normal_(model.score.weight, 0.0, 0.3)
folder = sys.argv[2]
config.save_pretrained(folder)
save_file({"score.weight": model.score.weight.detach().clone()}, os.path.join(folder, "model.safetensors"))
params = sum(p.numel() for p in model.parameters())
findings(model, role="reward")   # rule catalog and modules loaded once, as in a process that calls it
before = rss()
start = time.perf_counter()
alone = findings(model, role="reward")
alone_s = time.perf_counter() - start
start = time.perf_counter()
compared = findings(model, folder, role="reward")
compared_s = time.perf_counter() - start
print(json.dumps({"params": params, "build": build, "guard": alone_s, "guard_ckpt": compared_s,
                  "rss_growth": rss() - before, "findings": [f.rule for f in alone.findings + compared.findings]}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = []
    for _ in range(parser.parse_args().runs):
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run([sys.executable, "-c", RUN, str(ROOT), folder], capture_output=True, text=True,
                                  check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    median = {k: statistics.median(r[k] for r in runs) for k in ("build", "guard", "guard_ckpt", "rss_growth")}
    read = 2 * runs[0]["params"] / 2e9
    print(f"7B layout ({runs[0]['params'] / 1e9:.2f}e9 parameters, meta device, real bf16 head), {len(runs)} runs, "
          f"findings {runs[0]['findings']}")
    print(f"  build on meta            {median['build'] * 1000:8.1f} ms")
    print(f"  read 13.5 GB at 2 GB/s   {read * 1000:8.0f} ms  (floor of a real load)")
    print(f"  guard                    {median['guard'] * 1000:8.1f} ms  ({100 * median['guard'] / read:.3f}% of the read)")
    print(f"  guard + checkpoint head  {median['guard_ckpt'] * 1000:8.1f} ms  ({100 * median['guard_ckpt'] / read:.3f}% of the read)")
    print(f"  memory (VmRSS growth)    {median['rss_growth'] / 1024:8.0f} KiB")


if __name__ == "__main__":
    main()

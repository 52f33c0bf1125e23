"""Inspecting a 70B-layout, 30-shard safetensors reward model: what rmlint reads, how long it takes
and how much memory it uses, side by side with a `safetensors.safe_open(...).keys()` loop.

Usage: python benchmarks/bench_checkpoint.py [--runs 7] [--keep DIR]

The checkpoint is synthetic: Llama-3-70B's tensors (hidden 8192, 80 layers, vocab 128256, BF16,
about 141 GB) with real safetensors headers over sparse files of the full size, an OpenRLHF
config.json and a model.safetensors.index.json; only the value head's 16 KB hold data. Each tool
runs in a fresh process; the figures are medians over the runs. Bytes read come from the process's
/proc/self/io (rchar) around the call (modules are imported before it), peak memory from the
process's maximum resident set size; "process" is the whole cold run, interpreter start-up included.
"""

import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HIDDEN, LAYERS, INTER, KV, VOCAB, SHARDS = 8192, 80, 28672, 1024, 128256, 30


def tensors() -> list:
    names = [("model.embed_tokens.weight", [VOCAB, HIDDEN])]
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        names += [(p + "self_attn.q_proj.weight", [HIDDEN, HIDDEN]), (p + "self_attn.k_proj.weight", [KV, HIDDEN]),
                  (p + "self_attn.v_proj.weight", [KV, HIDDEN]), (p + "self_attn.o_proj.weight", [HIDDEN, HIDDEN]),
                  (p + "mlp.gate_proj.weight", [INTER, HIDDEN]), (p + "mlp.up_proj.weight", [INTER, HIDDEN]),
                  (p + "mlp.down_proj.weight", [HIDDEN, INTER]), (p + "input_layernorm.weight", [HIDDEN]),
                  (p + "post_attention_layernorm.weight", [HIDDEN])]
    return names + [("model.norm.weight", [HIDDEN]), ("value_head.weight", [1, HIDDEN])]


def build(folder: Path):
    """Write the shards (headers real, data sparse), the index and config.json."""
    import random
    items = tensors()
    per_shard = -(-len(items) // SHARDS)
    weight_map, total = {}, 0
    for shard in range(SHARDS):
        name = f"model-{shard + 1:05d}-of-{SHARDS:05d}.safetensors"
        header, offset, head_at = {"__metadata__": {"format": "pt"}}, 0, None
        for key, shape in items[shard * per_shard:(shard + 1) * per_shard]:
            size = 2
            for dim in shape:
                size *= dim
            header[key] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
            head_at = (offset, size) if key == "value_head.weight" else head_at
            offset += size
            weight_map[key] = name
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        with open(folder / name, "wb") as handle:
            handle.write(len(raw).to_bytes(8, "little") + raw)
            if head_at:   # a trained-looking head: the only tensor with data
                rng = random.Random(0)
                handle.seek(8 + len(raw) + head_at[0])
                floats = struct.pack(f"<{head_at[1] // 2}f", *(rng.gauss(0, 0.05) for _ in range(head_at[1] // 2)))
                handle.write(b"".join(floats[i + 2:i + 4] for i in range(0, len(floats), 4)))   # BF16: high halves
            handle.truncate(8 + len(raw) + offset)
        total += offset
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    (folder / "config.json").write_text(json.dumps(
        {"architectures": ["RewardModel"], "model_type": "llama", "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
         "value_head_prefix": "value_head", "normalize_reward": True, "mean": 0.1, "std": 1.2, "torch_dtype": "bfloat16"}))
    return total


PROBE = """
import json, resource, sys, time
def rchar():
    with open("/proc/self/io") as f:
        return int(next(l for l in f if l.startswith("rchar")).split()[1])
folder, tool = sys.argv[1], sys.argv[2]
started = time.perf_counter()
if tool == "rmlint":
    from rmlint.lint import inspect_checkpoints
    import rmlint.frameworks.checkpoint.subjects, rmlint.frameworks.checkpoint.layout, rmlint.frameworks.checkpoint.safetensors_file, rmlint.expr
    from rmlint.rules import builtin
    builtin()   # imports and the rule catalog count in "process", not in "call"
    before, t0 = rchar(), time.perf_counter()
    entries, result = inspect_checkpoints([folder])
    summary = f"{entries[0]['tensors']} tensors, head {entries[0]['head']['name']}, findings {[f.rule for f in result.findings]}"
else:
    import glob
    from safetensors import safe_open
    before, t0 = rchar(), time.perf_counter()
    count = 0
    for shard in sorted(glob.glob(folder + "/*.safetensors")):
        with safe_open(shard, "numpy") as handle:
            count += len(list(handle.keys()))
    summary = f"{count} tensors"
elapsed = time.perf_counter() - t0
print(json.dumps({"call_ms": elapsed * 1000, "read": rchar() - before, "total_ms": (time.perf_counter() - started) * 1000,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "summary": summary}))
"""


def measure(folder: Path, tool: str, runs: int) -> dict:
    samples = []
    for _ in range(runs + 1):
        done = subprocess.run([sys.executable, "-c", PROBE, str(folder), tool], capture_output=True, text=True,
                              env={**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                                   "PYTHONPATH": str(ROOT)})   # with bytecode caches, as installed tools run
        if done.returncode:
            raise SystemExit(done.stderr)
        samples.append(json.loads(done.stdout))
    samples = samples[1:]   # the first run warms the page cache
    return {key: statistics.median(s[key] for s in samples) for key in ("call_ms", "read", "total_ms", "peak_mb")} | \
        {"summary": samples[0]["summary"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build the checkpoint here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rmlint-70b-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        total = build(folder)
        print(f"checkpoint: {len(tensors())} tensors in {SHARDS} shards, {total / 1e9:.1f} GB of BF16 (sparse)")
        rows = [("rmlint inspect (headers + head bytes, rules)", measure(folder, "rmlint", args.runs))]
        try:
            import safetensors  # noqa: F401
            rows.append(("safetensors.safe_open(...).keys() loop", measure(folder, "safe_open", args.runs)))
        except ImportError:
            print("safetensors not installed: comparison skipped")
        print(f"{'':46} {'call':>9} {'bytes read':>12} {'process':>9} {'peak RSS':>9}")
        for label, m in rows:
            print(f"{label:46} {m['call_ms']:7.1f}ms {m['read']:12,d} {m['total_ms']:7.1f}ms {m['peak_mb']:7.1f}MB"
                  f"   {m['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

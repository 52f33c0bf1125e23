"""Cold-start and throughput figures for rmlint, side by side with yamllint and check-jsonschema.

Usage: python benchmarks/bench_startup.py [--runs 21]
Needs yamllint and check-jsonschema on PATH (pip install -e '.[test]'). Each tool runs as a fresh
process on the same DeepSpeed JSON; the median of the runs is reported. Then 1,000 mixed configs
(DeepSpeed JSON, launch scripts, YAML argument files) are checked in one process.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_configs" / "deepspeed-llamafactory" / "ds_z3_config.json"


# As installed tools run: with bytecode caches (pip writes them; an editable checkout gets them on
# the warm-up run). PYTHONDONTWRITEBYTECODE in the caller's environment would time compiling instead.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_ms(command: list, runs: int) -> float:
    subprocess.run(command, capture_output=True, env=ENV)  # warm the file, bytecode and catalog caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=ENV)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def throughput() -> tuple:
    sources = [p for p in (ROOT / "sample_configs").rglob("*") if p.suffix in (".json", ".sh", ".yaml")]
    with tempfile.TemporaryDirectory() as folder:
        for i in range(1000):
            source = sources[i % len(sources)]
            shutil.copy(source, Path(folder) / f"{i:04d}-{source.name}")
        sys.path.insert(0, str(ROOT))
        import rmlint
        started = time.perf_counter()
        result = rmlint.lint_paths([folder])
        return time.perf_counter() - started, result.files, len(result.findings)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    schema = Path(tempfile.mkdtemp()) / "any.json"
    schema.write_text(json.dumps({"type": "object"}))
    bin_dir = Path(sys.executable).parent
    tools = {
        "rmlint check": [str(bin_dir / "rmlint"), "check", str(SAMPLE)],
        "yamllint": [str(bin_dir / "yamllint"), str(SAMPLE)],
        "check-jsonschema": [str(bin_dir / "check-jsonschema"), "--schemafile", str(schema), str(SAMPLE)],
    }
    try:
        import importlib.util
        if importlib.util.find_spec("deepspeed"):   # exact mode: the installed DeepSpeed validates
            tools["rmlint check --deepspeed-schema installed"] = tools["rmlint check"] + ["--deepspeed-schema", "installed"]
    except ImportError:
        pass
    figures = {name: median_ms(command, runs) for name, command in tools.items()}
    for name, ms in figures.items():
        print(f"{name:42s} median cold run {ms:7.1f} ms")
    print(f"rmlint / yamllint = {figures['rmlint check'] / figures['yamllint']:.2f}x "
          f"(target <= 1.5x); rmlint / check-jsonschema = {figures['rmlint check'] / figures['check-jsonschema']:.2f}x")
    seconds, files, findings = throughput()
    print(f"1,000 mixed configs in one process: {seconds:.2f} s ({files} files, {findings} findings; target < 2 s)")


if __name__ == "__main__":
    main()

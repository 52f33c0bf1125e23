"""Cold start of two rmlint checkouts on the same files, as fresh processes (median of N runs each).

Usage: git worktree add /tmp/before <commit>
       python benchmarks/bench_compare.py /tmp/before [--runs 21] FILE...
Each run is `python -m rmlint check FILE` with PYTHONPATH set to the checkout (this one for "after"),
from a neutral folder, with bytecode caches as installed tools have them.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def median_ms(checkout: str, path: str, runs: int) -> float:
    command, env = [sys.executable, "-m", "rmlint", "check", path], dict(ENV, PYTHONPATH=checkout)
    subprocess.run(command, capture_output=True, env=env, cwd="/")       # warm bytecode and catalog caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, cwd="/")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="a checkout of the older commit")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    for path in map(os.path.abspath, args.files):
        before, after = median_ms(args.before, path, args.runs), median_ms(str(ROOT), path, args.runs)
        print(f"{os.path.relpath(path, ROOT):60s} before {before:6.1f} ms  after {after:6.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

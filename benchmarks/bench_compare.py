"""Cold start of two rmlint checkouts on the same files, as fresh processes (median of N runs each).

Usage: git worktree add /tmp/before <commit>
       python benchmarks/bench_compare.py /tmp/before [--runs 21] FILE...
Each run is `python -m rmlint check FILE` with PYTHONPATH set to the checkout (this one for "after"),
from a neutral folder, with bytecode caches as installed tools have them; the two checkouts run in
turns, so a change of the machine's load during the measurement weighs on both.
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


def _once(checkout: str, path: str) -> float:
    command, env = [sys.executable, "-m", "rmlint", "check", path], dict(ENV, PYTHONPATH=checkout)
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, env=env, cwd="/")
    return (time.perf_counter() - started) * 1000


def medians_ms(checkouts: list, path: str, runs: int) -> list:
    """Median of `runs` runs of each checkout, run in turns (before, after, before, ...) so that a
    machine whose load changes during the measurement weighs on both alike."""
    for checkout in checkouts:
        _once(checkout, path)       # warm bytecode and catalog caches
    times = [[] for _ in checkouts]
    for _ in range(runs):
        for k, checkout in enumerate(checkouts):
            times[k].append(_once(checkout, path))
    return [statistics.median(t) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="a checkout of the older commit")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    for path in map(os.path.abspath, args.files):
        before, after = medians_ms([args.before, str(ROOT)], path, args.runs)
        print(f"{os.path.relpath(path, ROOT):60s} before {before:6.1f} ms  after {after:6.1f} ms  "
              f"({(after - before) / before:+.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

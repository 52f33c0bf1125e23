"""Cold start of two rmlint checkouts on the same files, as fresh processes (median of N runs each).

Usage: git worktree add /tmp/before <commit>
       python benchmarks/bench_compare.py /tmp/before [--runs 21] [--first-run] [--yamllint] FILE...
Each run is `python -m rmlint check FILE` with PYTHONPATH set to the checkout (this one for "after"),
from a neutral folder, with bytecode caches as installed tools have them; the two checkouts run in
turns, so a change of the machine's load during the measurement weighs on both. The catalog cache is
warm (as a pre-commit hook finds it); --first-run gives each run an empty one instead. --yamllint
also times `python -m yamllint FILE` in the same turns, for YAML files.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


YAMLLINT = "yamllint"   # stands for `python -m yamllint` in the list of checkouts


def _once(checkout: str, path: str, first_run: bool = False) -> float:
    command, env = [sys.executable, "-m", "rmlint", "check", path], dict(ENV, PYTHONPATH=checkout)
    if checkout == YAMLLINT:
        command, env = [sys.executable, "-m", "yamllint", path], ENV
    with tempfile.TemporaryDirectory() as empty:
        if first_run:
            env = dict(env, RMLINT_CACHE_DIR=empty)
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, cwd="/")
        return (time.perf_counter() - started) * 1000


def medians_ms(checkouts: list, path: str, runs: int, first_run: bool = False) -> list:
    """Median of `runs` runs of each checkout, run in turns (before, after, before, ...) so that a
    machine whose load changes during the measurement weighs on both alike."""
    for checkout in checkouts:
        _once(checkout, path)       # warm bytecode and catalog caches
    times = [[] for _ in checkouts]
    for _ in range(runs):
        for k, checkout in enumerate(checkouts):
            times[k].append(_once(checkout, path, first_run))
    return [statistics.median(t) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", help="a checkout of the older commit")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--first-run", action="store_true", help="an empty catalog cache at each run")
    parser.add_argument("--yamllint", action="store_true", help="also time `python -m yamllint` on YAML files")
    args = parser.parse_args()
    for path in map(os.path.abspath, args.files):
        yamllint = args.yamllint and path.endswith((".yaml", ".yml"))
        before, after, *reference = medians_ms([args.before, str(ROOT)] + [YAMLLINT] * yamllint, path, args.runs,
                                               args.first_run)
        print(f"{os.path.relpath(path, ROOT):60s} before {before:6.1f} ms  after {after:6.1f} ms  "
              f"({(after - before) / before:+.0%})" + (f"  yamllint {reference[0]:6.1f} ms" if reference else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

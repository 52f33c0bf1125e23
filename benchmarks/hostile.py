"""Hostile inputs (issue 17): every case of tests/hostile_cases.py run as its own rmlint process
under a time limit and a 1 GB address-space limit, on this checkout or another one; and the
property-based readers' fuzzing at nightly size.

Usage: python benchmarks/hostile.py                       # this checkout
       git worktree add /tmp/before 15a01aa && python benchmarks/hostile.py --checkout /tmp/before
       python benchmarks/hostile.py --examples 10000      # tests/test_hostile_fuzz.py, N examples per reader
Prints one line per case (status, seconds, peak memory) and the totals: attempts, tracebacks,
hangs, memory failures, wrong verdicts, the largest peak. Exit 1 when any case is not ok.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hostile_cases import CASES, SHELL_CASES, run_case, verdict   # noqa: E402


def measure(checkout: str, memory_mb: int, only: list) -> int:
    totals = {"attempts": 0, "ok": 0, "traceback": 0, "hang": 0, "memory": 0, "crash": 0, "wrong": 0}
    peak = 0.0
    for name, build in CASES.items():
        if only and not any(word in name for word in only):
            continue
        with tempfile.TemporaryDirectory(prefix="rmlint-hostile-") as folder:
            setup, run = run_case(build, Path(folder), checkout, sys.executable, memory_mb)
            status = verdict(setup, run)
        totals["attempts"] += 1
        totals[status.split(":")[0].split(" ")[0]] += 1
        peak = max(peak, run.peak_mb)
        owner = "  [shell reader: issue 11a]" if name in SHELL_CASES else ""
        print(f"{name:48s} {status[:60]:60s} {run.seconds:6.2f} s {run.peak_mb:7.1f} MB{owner}", flush=True)
    print(", ".join(f"{key} {value}" for key, value in totals.items()) + f", largest peak {peak:.0f} MB")
    return 0 if totals["ok"] == totals["attempts"] else 1


def fuzz(examples: int) -> int:
    env = dict(os.environ, RMLINT_FUZZ_EXAMPLES=str(examples))
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(ROOT / "tests" / "test_hostile_fuzz.py")], cwd=ROOT, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", default=str(ROOT), help="the rmlint checkout to run (default: this one)")
    parser.add_argument("--memory", type=int, default=1024, help="address-space limit per run, in MB")
    parser.add_argument("--only", nargs="*", default=[], help="cases whose name contains one of these words")
    parser.add_argument("--examples", type=int, help="run the readers' fuzzing with this many examples each")
    args = parser.parse_args()
    if args.examples:
        return fuzz(args.examples)
    return measure(os.path.abspath(args.checkout), args.memory, args.only)


if __name__ == "__main__":
    sys.exit(main())

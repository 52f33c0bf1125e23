"""Mutation score of the modules whose bugs the suite once let through (issue 15): the checkpoint
readers, the engine, inline suppressions and the batch arithmetic, each run against its own test files.

    pip install -e '.[dev]'                       # mutmut
    python benchmarks/mutation.py                 # a fixed sample of 300 mutants (seed 15), 2 workers
    python benchmarks/mutation.py --sample 0      # every mutant (slow: about an hour on 2 cores)
    python benchmarks/mutation.py --checkout DIR  # another checkout (e.g. a worktree of an older commit)
    python benchmarks/mutation.py --only 'rmlint.suppress.*' --only 'rmlint.engine.*'   # some modules only

The checkout's files (tracked and untracked, not ignored) are copied to a scratch folder, so mutmut's
`mutants/` never lands in the repository. Mutants are named by mutmut (`module.x_function__mutmut_N`);
the sample is drawn with a fixed seed from the sorted names, so two runs over the same code draw the same
mutants. The score is killed / (killed + survived + no tests); timeouts count as killed.
"""

import argparse
from fnmatch import fnmatch
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTATE = ["rmlint/frameworks/checkpoint/*", "rmlint/engine.py", "rmlint/suppress.py", "rmlint/frameworks/openrlhf/batch.py",
          "rmlint/frameworks/openrlhf/roles.py", "rmlint/frameworks/openrlhf/dsconfig.py"]
# Only these functions of the mixed modules: their batch arithmetic (roles.facts, dsconfig._batch).
FUNCTIONS = {"rmlint.frameworks.openrlhf.roles": ("x_facts__",), "rmlint.frameworks.openrlhf.dsconfig": ("x__batch__",)}
TESTS = ["tests/test_checkpoint.py", "tests/test_bad_checkpoints.py", "tests/test_checkpoint_refusals.py",
         "tests/test_real_checkpoints.py",
         "tests/test_hub.py", "tests/test_pickles.py", "tests/test_safetensors_property.py",
         "tests/test_suppressions.py", "tests/test_rule_examples.py", "tests/test_openrlhf.py",
         "tests/test_batch_arithmetic.py"]
COPY = ["rules", "sample_configs", "docs", "benchmarks", "tools", "README.md"]
KILLED = {1, 3, 36, 24, -24, 152, 255}


def _copy(checkout: Path, scratch: Path):
    listed = subprocess.run(["git", "-C", str(checkout), "ls-files", "-co", "--exclude-standard"],
                            capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, listed):
        source = checkout / name
        if source.is_file():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, scratch / name)


def _configure(scratch: Path):
    tests = [t for t in TESTS if (scratch / t).exists()]
    mutate = [m for m in MUTATE if any(scratch.glob(m))]
    config = (f"\n[tool.mutmut]\nsource_paths = [\"rmlint\"]\nonly_mutate = {json.dumps(mutate)}\n"
              f"also_copy = {json.dumps([c for c in COPY if (scratch / c).exists()])}\n"
              f"pytest_add_cli_args = [\"-p\", \"no:cacheprovider\", \"-q\"]\n"
              f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n")
    with open(scratch / "pyproject.toml", "a") as handle:
        handle.write(config)
    return tests


def _results(scratch: Path) -> dict:
    codes = {}
    for meta in (scratch / "mutants").rglob("*.meta"):
        codes.update(json.loads(meta.read_text()).get("exit_code_by_key", {}))
    return {name: code for name, code in codes.items() if _wanted(name)}


def _wanted(name: str) -> bool:
    module, _, function = name.rpartition(".")
    prefixes = FUNCTIONS.get(module)
    return prefixes is None or function.startswith(prefixes)


def _mutmut(scratch: Path, names: list, workers: int) -> int:
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers), *names]
    # the release wheels the tests read (tests/upstream.py) come from this checkout's cache, not the network
    env = dict(os.environ, RMLINT_TEST_CACHE=os.environ.get("RMLINT_TEST_CACHE", str(ROOT / "tests" / ".cache")))
    return subprocess.run(command, cwd=scratch, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--sample", type=int, default=300, help="mutants to run (0: all)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="mutants whose name matches (rmlint.suppress.*); on modules two checkouts share, the "
                             "same sample on both")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and print its path")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="rmlint-mutation-"))
    try:
        _copy(args.checkout.resolve(), scratch)
        tests = _configure(scratch)
        _mutmut(scratch, ["no-mutant-has-this-name"], args.workers)   # generate mutants, map tests to functions
        names = sorted(n for n in _results(scratch) if not args.only or any(fnmatch(n, g) for g in args.only))
        if not names:
            print("mutmut generated no mutants (is mutmut installed? pip install -e '.[dev]')", file=sys.stderr)
            return 2
        chosen = names if not args.sample or args.sample >= len(names) \
            else sorted(random.Random(args.seed).sample(names, args.sample))
        for start in range(0, len(chosen), 200):    # command lines stay short
            _mutmut(scratch, chosen[start:start + 200], args.workers)
        codes = _results(scratch)
        _report(args.checkout, tests, len(names), {n: codes.get(n) for n in chosen})
    finally:
        if args.keep:
            print(f"scratch: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _report(checkout, tests, total, codes: dict):
    by_module = {}
    for name, code in codes.items():
        module = name.rpartition(".")[0].replace("rmlint.", "")
        state = "killed" if code in KILLED else "survived" if code == 0 else "no tests" if code in (5, 33) \
            else "not run" if code is None else f"other({code})"
        by_module.setdefault(module, Counter())[state] += 1
    print(f"checkout {checkout}: {total} mutants, {len(codes)} run; tests: {' '.join(tests)}")
    print(f"{'module':40} killed survived no-tests not-run score")
    totals = Counter()
    for module, counts in sorted(by_module.items()):
        totals.update(counts)
        print(_line(module, counts))
    print(_line("ALL", totals))


def _line(label: str, counts: Counter) -> str:
    scored = counts["killed"] + counts["survived"] + counts["no tests"]
    score = f"{100 * counts['killed'] / scored:.1f}%" if scored else "-"
    return (f"{label:40} {counts['killed']:6} {counts['survived']:8} {counts['no tests']:8} "
            f"{counts['not run']:7} {score}")


if __name__ == "__main__":
    sys.exit(main())

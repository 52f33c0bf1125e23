"""Issue 17's hostile inputs, each run as its own rmlint process under a time limit and a 1 GB
address-space limit (tests/hostile_cases.py; `python benchmarks/hostile.py` measures them with the
exact limits, on this checkout or an older one). Permission cases run as `nobody` (root would
bypass the permission). The shell reader's cases belong to its own tests (issue 11a)."""

import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT
from hostile_cases import CASES, SHELL_CASES, run_case, verdict

SLACK = 2.0   # the suite shares the machine with other work; benchmarks/hostile.py uses the exact limits


@pytest.mark.parametrize("name", [n for n in CASES if n not in SHELL_CASES])
def test_hostile_input_finishes_with_a_finding_or_a_clean_exit(name):
    with tempfile.TemporaryDirectory(prefix="rmlint-hostile-") as folder:   # pytest's tmp_path: root's alone
        setup, run = run_case(CASES[name], Path(folder), str(ROOT), sys.executable, memory_mb=1024, scale=SLACK)
        assert verdict(setup, run) == "ok", (run.code, run.stdout[-2000:], run.stderr[-2000:])

"""`rmlint check` read without click (fast_cli.py) receives exactly what click's reading gives cli.check,
leaves everything else to click, and prints, exits and reports errors as the click path does."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from rmlint import cli as click_cli
from rmlint import fast_cli

SAMPLE = "sample_configs/seed-qlora-rm-zero3/train_rm_qlora.sh"
DS = "sample_configs/deepspeed-llamafactory/ds_z3_config.json"

READ_HERE = [
    ["check"],
    ["check", SAMPLE],
    ["check", SAMPLE, DS, "--strict"],
    ["check", "--format", "json", SAMPLE],
    ["check", "--output-format=concise", SAMPLE],
    ["check", "--format", "full", SAMPLE],
    ["check", "--force-exclude", "--select", "RM2,RM101", "--select=RM3", "--ignore", "RM201", SAMPLE],
    ["check", "--extend-select", "RM0", "--exclude", "a/*", "--extend-exclude", "b", "--no-respect-gitignore", "d"],
    ["check", "--respect-gitignore", "--statistics", "--hub", "--kind", "shell", "x.sh"],
    ["check", "--versions", "installed", "--deepspeed-schema=installed", "--config", "pyproject.toml", "x"],
    ["check", "--select", "-x", "y"],     # an option's value may start with "-"
    ["check", "--select=RM1=2"],
]
LEFT_TO_CLICK = [
    [], ["--version"], ["-h"], ["rules"], ["check-args", "--", "deepspeed"], ["check", "-"], ["check", "--"],
    ["check", "--help"], ["check", "-h"], ["check", "--fix", "x"], ["check", "--unsafe-fixes", "x"],
    ["check", "--diff", "x"], ["check", "--show-settings"], ["check", "--format", "xml", "x"],
    ["check", "--kind", "Shell"], ["check", "--strict=1"], ["check", "--select"], ["check", "--frobnicate"],
    ["check", "-x"], ["check", "--config", "sample_configs"], ["check", "--config="], ["check", "--format"],
]


@pytest.mark.parametrize("argv", READ_HERE, ids=" ".join)
def test_what_the_fast_reading_gives_cli_check_is_what_click_gives(argv):
    assert fast_cli.read_check(argv) == click_cli.check.make_context("check", argv[1:]).params


@pytest.mark.parametrize("argv", LEFT_TO_CLICK, ids=" ".join)
def test_everything_else_is_left_to_click(argv, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert fast_cli.read_check(argv) is None


def test_shell_completion_is_left_to_click(monkeypatch):
    monkeypatch.setenv("_RMLINT_COMPLETE", "bash_complete")
    assert fast_cli.read_check(["check", SAMPLE]) is None


def test_every_option_of_check_is_read_here_or_left_to_click():
    """An option added to cli.check must be added to fast_cli's tables (or to the ones left to click)."""
    left = {"fix": ["--fix"], "unsafe_fixes": ["--unsafe-fixes"], "show_diff": ["--diff"],
            "show_settings": ["--show-settings"]}
    read = {}
    for table in (fast_cli.FLAGS, fast_cli.MULTIPLE):
        for flag, name in table.items():
            read.setdefault(name, []).append(flag)
    for flag, (name, _) in {**fast_cli.SWITCHES, **fast_cli.CHOICES}.items():
        read.setdefault(name, []).append(flag)
    options = {p.name: p for p in click_cli.check.params if p.name != "paths"}
    assert set(options) == set(read) | set(left)
    for name, param in options.items():
        assert sorted(param.opts + param.secondary_opts) == sorted(read.get(name) or left[name]), name
        choices = getattr(param.type, "choices", None)
        for flag in read.get(name, ()):
            if flag in fast_cli.CHOICES:
                allowed = fast_cli.CHOICES[flag][1]
                assert (tuple(choices) if choices else None) == allowed, flag
        assert param.multiple == (name in fast_cli.MULTIPLE.values()), name
        assert param.is_flag == (name in {**fast_cli.FLAGS, **left}.values() or name == "respect_gitignore"
                                 or name in left), name


WATCH = "import atexit, sys\natexit.register(lambda: print('click' in sys.modules, file=sys.stderr))\n"
FAST = WATCH + "import runpy\nsys.argv = ['rmlint'] + sys.argv[1:]\nrunpy.run_module('rmlint', run_name='__main__')"
CLICK = "import sys\nsys.argv = ['rmlint'] + sys.argv[1:]\nfrom rmlint.cli import main\nmain()"


def run(program: str, argv: list, tmp_path):
    env = {**os.environ, "RMLINT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", program, *argv], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.mark.parametrize("argv", [
    ["check", SAMPLE], ["check", "--format", "json", SAMPLE, DS], ["check", "--statistics", "--strict", DS],
    ["check", "--format", "concise", "sample_configs"], ["check", "--select", "RM999x", SAMPLE],
    ["check", "--config", "no-such.toml", SAMPLE], ["check", "no/such/file.sh"], ["check", "--format", "xml", SAMPLE],
    ["check", "--help"]], ids=" ".join)
def test_a_process_prints_and_exits_as_the_click_path_does(argv, tmp_path):
    fast, clicked = run(FAST, argv, tmp_path), run(CLICK, argv, tmp_path)
    *errors, imported_click = fast.stderr.splitlines(keepends=True)
    assert (fast.stdout, "".join(errors), fast.returncode) == (clicked.stdout, clicked.stderr, clicked.returncode)
    assert imported_click == f"{fast.returncode == 2 or '--help' in argv}\n"   # click: only for usage errors and help


def test_the_installed_command_enters_through_the_fast_reading():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'rmlint = "rmlint.fast_cli:main"' in text
    assert (ROOT / "rmlint" / "__main__.py").read_text() == "from .fast_cli import main\n\nmain()\n"

"""The command line's front door: a plain `rmlint check` (what a pre-commit hook runs) is read here
without importing click, whose import is about a sixth of a start-up; anything else (help, --fix,
standard input, an option or value click would refuse, an error to report) goes to cli.py, which
parses and reports exactly as before. tests/test_fast_cli.py holds the two readings equal."""

import os
import sys

from .command import FORMATS, KINDS

FLAGS = {"--strict": "strict", "--statistics": "statistics", "--hub": "hub", "--force-exclude": "force_exclude"}
SWITCHES = {"--respect-gitignore": ("respect_gitignore", True), "--no-respect-gitignore": ("respect_gitignore", False)}
MULTIPLE = {"--select": "select", "--extend-select": "extend_select", "--ignore": "ignore", "--exclude": "exclude",
            "--extend-exclude": "extend_exclude"}
CHOICES = {"--format": ("fmt", FORMATS + ("full", "concise")), "--output-format": ("fmt", FORMATS + ("full", "concise")),
           "--kind": ("kind", KINDS), "--versions": ("versions", ("pinned", "installed")),
           "--deepspeed-schema": ("deepspeed_schema", ("snapshot", "installed")), "--config": ("config", None)}
# the flags left to click: --fix, --unsafe-fixes, --diff, --show-settings, -h/--help (and any other)


def read_check(argv: list) -> dict | None:
    """The arguments cli.check would receive for `argv` (after `rmlint`), or None where click must read it."""
    if not argv or argv[0] != "check" or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return None
    values = {"paths": [], "fix": False, "unsafe_fixes": False, "show_diff": False, "kind": None,
              "respect_gitignore": None, "force_exclude": False, "extend_exclude": [], "exclude": [],
              "show_settings": False, "deepspeed_schema": None, "config": None, "versions": None, "hub": False,
              "statistics": False, "strict": False, "ignore": [], "extend_select": [], "select": [], "fmt": None}
    words = iter(argv[1:])
    for word in words:
        if not word.startswith("-"):
            values["paths"].append(word)
            continue
        name, equals, value = word.partition("=")
        if name in FLAGS and not equals:
            values[FLAGS[name]] = True
        elif name in SWITCHES and not equals:
            key, value = SWITCHES[name]
            values[key] = value
        elif name in MULTIPLE or name in CHOICES:
            if not equals:
                value = next(words, None)
                if value is None:
                    return None
            if name in MULTIPLE:
                values[MULTIPLE[name]].append(value)
                continue
            key, allowed = CHOICES[name]
            if (allowed and value not in allowed) or (allowed is None and (not value or os.path.isdir(value))):
                return None
            values[key] = value
        else:
            return None   # "-" (standard input), "--", help, the fix flags, or something click explains
    for key in ("paths", "extend_exclude", "exclude", "ignore", "extend_select", "select"):
        values[key] = tuple(values[key])
    if values["fmt"] in ("full", "concise"):   # cli._concise
        values["concise"], values["fmt"] = values["fmt"] == "concise", "text"
    return values


def main() -> None:
    values = read_check(sys.argv[1:])
    if values is not None:
        from . import command
        try:
            command.check(**values)
        except command.CommandError:
            pass   # nothing printed yet: click reads the command line again and reports the error its way
        except (EOFError, KeyboardInterrupt):   # as click.main does
            print(file=sys.stderr)
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        except BrokenPipeError:
            from click.utils import _PacifyFlushWrapper
            sys.stdout, sys.stderr = _PacifyFlushWrapper(sys.stdout), _PacifyFlushWrapper(sys.stderr)
            sys.exit(1)
    from .cli import main as click_main
    click_main()

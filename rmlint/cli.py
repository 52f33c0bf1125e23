"""The `rmlint` command: parse flags, call the library, print, and return an exit code.

Exit codes: 0 no error-level findings (no warnings either under --strict), 1 findings,
2 usage or configuration error. Heavy modules load only inside the command that needs them.
"""

import os
import sys

import click

from . import __version__

FORMATS = click.Choice(["text", "json"])


def _split(values) -> list:
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]


def _check_selectors(selectors: list):
    if not selectors:
        return
    from .rules import builtin
    known = {r.id for r in builtin()} | {r.name for r in builtin()}
    for selector in selectors:
        if selector not in known and not any(k.startswith(selector) for k in known if k.startswith("RM")):
            raise click.UsageError(f"unknown rule selector {selector!r} (use an id like RM201, a prefix like RM2, or a name)")


def _selection(select, ignore):
    select, ignore = _split(select), _split(ignore)
    _check_selectors(select + ignore)
    return select or None, ignore or None


def _emit(result, fmt: str, strict: bool):
    from .report import render
    colour = fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    click.echo(render(result, fmt, colour), nl=False)
    failed = result.errors or (strict and result.warnings)
    sys.exit(1 if failed else 0)


def _selection_options(function):
    function = click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")(function)
    function = click.option("--ignore", multiple=True, metavar="RULES", help="Rule ids, prefixes or names to skip.")(function)
    function = click.option("--select", multiple=True, metavar="RULES",
                            help="Only these rule ids, prefixes (RM2) or names; comma-separated or repeated.")(function)
    return click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)(function)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rmlint")
def main():
    """Pre-launch linter for reward-model and RLHF training: OpenRLHF launches and DeepSpeed configs."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_selection_options
def check(paths, fmt, select, ignore, strict):
    """Check launch scripts, DeepSpeed configs and OpenRLHF argument files (directories recursively, - for stdin)."""
    from .finding import UsageError
    from .lint import lint_paths
    select, ignore = _selection(select, ignore)
    stdin = sys.stdin.buffer.read() if "-" in paths else None
    try:
        result = lint_paths(paths, select, ignore, stdin=stdin)
    except UsageError as err:
        raise click.UsageError(str(err))
    _emit(result, fmt, strict)


@main.command("check-args", context_settings={"ignore_unknown_options": True})
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@_selection_options
def check_args(argv, fmt, select, ignore, strict):
    """Check a launch command given as arguments: rmlint check-args -- deepspeed --module openrlhf.cli.train_rm ..."""
    from .finding import UsageError
    from .lint import lint_argv
    select, ignore = _selection(select, ignore)
    try:
        result = lint_argv(list(argv), select, ignore)
    except UsageError as err:
        raise click.UsageError(str(err))
    _emit(result, fmt, strict)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_selection_options
def inspect(paths, fmt, select, ignore, strict):
    """Show what checkpoints hold (format, head, dtype, quantization, LoRA layout) and what is wrong with them."""
    from .lint import Result, inspect_checkpoints
    from .report import render_inspect
    select, ignore = _selection(select, ignore)
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise click.UsageError(f"{missing[0]}: no such file or directory")
    entries, result = inspect_checkpoints(paths, select, ignore)
    colour = fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    click.echo(render_inspect(entries, result, fmt, colour), nl=False)
    sys.exit(1 if result.errors or (strict and result.warnings) else 0)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(fmt):
    """List the rules."""
    from .report import rules_json, rules_table
    from .rules import builtin
    click.echo((rules_json if fmt == "json" else rules_table)(builtin()), nl=False)


@main.command()
@click.argument("rule")
def explain(rule):
    """Explain one rule (by id or name): what it checks, why, an example and the fix."""
    from .report import explain as page
    from .rules import builtin
    match = [r for r in builtin() if rule in (r.id, r.name)]
    if not match:
        raise click.UsageError(f"no rule {rule!r}; `rmlint rules` lists them")
    click.echo(page(match[0]), nl=False)

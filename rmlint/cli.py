"""The `rmlint` command with click: every command's flags, help and usage errors. A plain `rmlint
check` is read without click first (fast_cli.py); both run `check` in command.py.

Exit codes: 0 no error-level findings (no warnings either under --strict), 1 findings,
2 usage or configuration error. Heavy modules load only inside the command that needs them.
"""

import os
import sys
from contextlib import contextmanager

import click

from . import command as _command
from .about import __version__
from .command import FORMATS, KINDS, CommandError, exit_code as _exit_code, format_of as _format
from .command import colour as _colour, emit as _emit
from .finding import printable


class SettingsError(click.ClickException):
    exit_code = 2


@contextmanager
def _clicked():
    """command.py's errors as click reports them: a usage error with the usage line, else "Error: ..." (exit 2)."""
    try:
        yield
    except CommandError as err:
        raise (click.UsageError if err.usage else SettingsError)(str(err)) from None


def _settings(options: dict, start: str | None = None):
    with _clicked():
        return _command.resolve_settings(options, start)


def _policy(settings):
    with _clicked():
        return _command.policy_of(settings)


def _show_settings(settings, policy, start: str | None = None) -> None:
    _command.show_settings(settings, policy, start)


def _concise(context, _parameter, value):
    """`concise` and `full` are text output without and with the source lines (as ruff names them)."""
    if value in ("full", "concise"):
        context.params["concise"] = value == "concise"
        return "text"
    return value


def _lint_options(function):
    options = [
        click.option("--show-settings", is_flag=True, help="Print the resolved settings and exit."),
        click.option("--deepspeed-schema", type=click.Choice(["snapshot", "installed"]), default=None,
                     help="DeepSpeed's keys from rmlint's snapshot (default) or validation by the installed DeepSpeed."),
        click.option("--config", type=click.Path(dir_okay=False), help="Settings file to use instead of discovery."),
        click.option("--versions", type=click.Choice(["pinned", "installed"]), default=None,
                     help="Target versions from the settings and the repository's pins (default), or also from "
                          "the distributions installed here (before the pins)."),
        click.option("--hub", is_flag=True, help="Read config.json and safetensors headers of hub ids that are not "
                                                 "in the local cache from the Hub (HF_ENDPOINT, HF_TOKEN honoured)."),
        click.option("--statistics", is_flag=True, help="Print a count per rule instead of the findings."),
        click.option("--strict", is_flag=True, help="Exit 1 on warnings too."),
        click.option("--ignore", multiple=True, metavar="RULES", help="Rule ids, prefixes or names to skip."),
        click.option("--extend-select", multiple=True, metavar="RULES", help="Rules to add to the selection."),
        click.option("--select", multiple=True, metavar="RULES",
                     help="Only these rule ids, prefixes (RM2) or names; comma-separated or repeated."),
        click.option("--format", "--output-format", "fmt", type=click.Choice(FORMATS + ("full", "concise")), default=None,
                     callback=_concise,
                     help="text (default: each finding with its source line; github under GITHUB_ACTIONS), "
                          "concise (one line per finding), json, sarif or github."),
    ]
    for option in options:
        function = option(function)
    return function


def _prepare(options: dict, start: str | None = None):
    settings = _settings(options, start)
    policy = _policy(settings)
    if options.get("show_settings"):
        _show_settings(settings, policy, start)
    return settings, policy


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rmlint")
def main():
    """Pre-launch linter for reward-model and RLHF training: OpenRLHF launches, DeepSpeed configs, checkpoints."""


def _exclusion_options(function):
    options = [
        click.option("--respect-gitignore/--no-respect-gitignore", default=None,
                     help="Leave out what .gitignore files ignore in folder walks (default: on)."),
        click.option("--force-exclude", is_flag=True, help="Apply exclusion to paths given explicitly too (for hooks)."),
        click.option("--extend-exclude", multiple=True, metavar="PATTERNS", help="gitignore-style patterns to add to `exclude`."),
        click.option("--exclude", multiple=True, metavar="PATTERNS",
                     help="gitignore-style patterns of files and folders not to read (replaces the default)."),
    ]
    for option in options:
        function = option(function)
    return function


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--fix", is_flag=True, help="Apply the fixes that cannot change intent, then report what is left.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change the setup (ZeRO-3 -> 2 for QLoRA).")
@click.option("--diff", "show_diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--kind", type=click.Choice(KINDS),
              help="Read the named files as this, instead of recognising them by content.")
@_exclusion_options
@_lint_options
def check(paths, fix, unsafe_fixes, show_diff, kind, **options):
    """Check launch scripts, DeepSpeed configs and OpenRLHF argument files (directories recursively,
    `.` when none is given, - for stdin). Each file uses the nearest settings file above it."""
    with _clicked():
        _command.check(paths, fix, unsafe_fixes, show_diff, kind, **options)


@main.command("check-args", context_settings={"ignore_unknown_options": True})
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED)
@_lint_options
def check_args(argv, **options):
    """Check a launch command given as arguments: rmlint check-args -- deepspeed --module openrlhf.cli.train_rm ..."""
    from .finding import UsageError
    from .lint import lint_argv
    settings, policy = _prepare(options)
    try:
        result = lint_argv(list(argv), settings=settings)
    except UsageError as err:
        raise click.UsageError(printable(err))
    _emit(result, options, settings, policy.catalog)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@_lint_options
def inspect(paths, **options):
    """Show what checkpoints hold (format, head, dtype, quantization, LoRA layout) and what is wrong with them."""
    from .lint import inspect_checkpoints
    from .report import render_inspect
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise click.UsageError(printable(f"{missing[0]}: no such file or directory"))
    settings, policy = _prepare(options)
    from .finding import UsageError
    try:
        entries, result = inspect_checkpoints(paths, settings=settings)
    except UsageError as err:
        raise click.UsageError(printable(err))
    fmt = _format(options.get("fmt"))
    if fmt in ("text", "json") and not options.get("statistics"):
        click.echo(render_inspect(entries, result, fmt, _colour(fmt)), nl=False)
        sys.exit(_exit_code(result, settings))
    _emit(result, options, settings, policy.catalog)


@main.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--dry-run", is_flag=True, help="Check and print the command, but do not run it.")
@click.option("--config", type=click.Path(dir_okay=False), help="Settings file to use instead of discovery.")
@click.option("--strict", is_flag=True, help="Refuse to run on warnings too.")
@click.option("--ignore", multiple=True, metavar="RULES", help="Rule ids, prefixes or names to skip.")
@click.option("--extend-select", multiple=True, metavar="RULES", help="Rules to add to the selection.")
@click.option("--select", multiple=True, metavar="RULES", help="Only these rule ids, prefixes (RM2) or names.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command, dry_run, config, strict, select, extend_select, ignore):
    """Check a launch, then run it: rmlint run -- deepspeed --module openrlhf.cli.train_rm ...

    With no error the command replaces rmlint (exec), so its signals and exit code are its own;
    with errors the findings are printed and the command is not run (exit 1)."""
    from .launcher import check_command
    from .report import render
    if not command[0] or "\0" in "".join(command):
        raise click.UsageError("the command to run is empty (or holds a NUL byte)")
    settings = _settings({"config": config, "strict": strict, "versions": "installed", "select": select,
                          "extend_select": extend_select, "ignore": ignore})
    _policy(settings)       # a bad rule selection is a usage error before anything runs
    from .finding import UsageError
    try:
        result = check_command(list(command), settings)
    except UsageError as err:
        raise click.UsageError(printable(err))
    blocked = result.errors or (settings.strict and result.warnings)
    if result.findings or result.skipped or result.rule_errors:
        click.echo(render(result, "text", _colour("text")), nl=False, err=True)
    if blocked:
        click.echo("rmlint: not running the command (fix the errors above, or suppress them with a reason)", err=True)
        sys.exit(1)
    if dry_run:
        import shlex
        click.echo(f"would run: {shlex.join(command)}")
        sys.exit(0)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(command[0], list(command))
    except (OSError, ValueError) as err:
        click.echo(printable(f"rmlint: cannot run {command[0]}: {getattr(err, 'strerror', None) or err}"), err=True)
        sys.exit(127)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def rules(fmt):
    """List the rules (markdown: the full reference, as in docs/rules.md)."""
    from .rule_pages import rules_json, rules_markdown, rules_table
    from .rules import builtin
    click.echo({"text": rules_table, "json": rules_json, "markdown": rules_markdown}[fmt](builtin()), nl=False)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def facts(fmt):
    """List the facts rules read (markdown: the full reference, as in docs/facts.md)."""
    from . import fact_docs
    click.echo(fact_docs.markdown() if fmt == "markdown" else fact_docs.text(), nl=False)


@main.command()
@click.argument("rule")
@click.option("--config", type=click.Path(dir_okay=False), help="Settings file to use instead of discovery.")
def explain(rule, config):
    """Explain one rule (by id or name), built in or from a rule pack: what it checks, why, an example and the fix."""
    from .rule_pages import explain as page
    from .suggest import suggest
    catalog = _policy(_settings({"config": config})).catalog
    match = [r for r in catalog if rule in (r.id, r.name)]
    if not match:
        close = suggest(rule, [key for r in catalog for key in (r.name, r.id)])
        hint = f"; did you mean `{close}`?" if close else "; `rmlint rules` lists them"
        raise click.UsageError(f"no rule {rule!r}{hint}")
    click.echo(page(match[0]), nl=False)

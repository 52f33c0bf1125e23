"""The `rmlint` command: parse flags, call the library, print, and return an exit code.

Exit codes: 0 no error-level findings (no warnings either under --strict), 1 findings,
2 usage or configuration error. Heavy modules load only inside the command that needs them.
"""

import os
import sys

import click

from .about import __version__
from .finding import printable

FORMATS = ("text", "json", "sarif", "github")


class SettingsError(click.ClickException):
    exit_code = 2


def _split(values) -> list:
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]


def _settings(options: dict, start: str | None = None):
    """Settings file (--config, else the nearest one) with the command line on top, as ruff does:
    --select replaces, --extend-select and --ignore add, --strict turns strict on."""
    from .config import ConfigError, resolve
    try:
        settings = resolve(options.get("config"), start)
    except ConfigError as err:
        raise SettingsError(str(err)) from None
    return _overrides(settings, options)


def _overrides(settings, options: dict):
    from dataclasses import replace
    select, extend, ignore = (_split(options.get(k)) for k in ("select", "extend_select", "ignore"))
    exclude, extend_exclude = _split(options.get("exclude")), _split(options.get("extend_exclude"))
    gitignore = options.get("respect_gitignore")
    return replace(settings, select=select or settings.select, extend_select=settings.extend_select + extend,
                   ignore=settings.ignore + ignore, strict=settings.strict or bool(options.get("strict")),
                   deepspeed_schema=options.get("deepspeed_schema") or settings.deepspeed_schema or "snapshot",
                   exclude=exclude or settings.exclude, extend_exclude=settings.extend_exclude + extend_exclude,
                   force_exclude=settings.force_exclude or bool(options.get("force_exclude")),
                   respect_gitignore=settings.respect_gitignore if gitignore is None else gitignore,
                   installed_versions=options.get("versions") == "installed",
                   hub=settings.hub or bool(options.get("hub")))


def _settings_for(options: dict):
    """path -> settings: --config for every file, else the nearest settings file of each file's
    folder (hierarchical, as ruff), each loaded once, with the command line on top."""
    from .config import ConfigError, Settings, discover, load
    if options.get("config"):
        forced = _settings(options)
        return lambda path: forced
    sources, loaded = {}, {}

    def settings_of(path: str):
        folder = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
        if folder not in sources:
            sources[folder] = discover(folder)
        source = sources[folder]
        if source not in loaded:
            try:
                loaded[source] = _overrides(load(source) if source else Settings(), options)
                _policy(loaded[source])     # a bad selector in any settings file is exit 2
            except ConfigError as err:
                raise SettingsError(str(err)) from None
        return loaded[source]
    return settings_of


def _policy(settings):
    from .config import ConfigError
    from .policy import Policy
    try:
        return Policy(settings)
    except ConfigError as err:
        raise SettingsError(str(err)) from None


def _format(fmt: str | None) -> str:
    if fmt:
        return fmt
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def _colour(fmt: str) -> bool:
    return fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def _emit(result, options: dict, settings, rules, policy=None, unsafe: bool = False) -> None:
    from .report import render, statistics
    fmt = _format(options.get("fmt"))
    fixable = frozenset()
    if policy is not None and result.findings and fmt in ("text", "json"):
        from .fix import fixable as fixable_findings
        fixable = fixable_findings(result, policy)
    if options.get("statistics"):
        click.echo(statistics(result, fmt, fixable), nl=False)
    else:
        source = _source_lines() if fmt == "text" and not options.get("concise") else None
        click.echo(render(result, fmt, _colour(fmt), rules, source, fixable), nl=False)
    if fmt == "text" and policy is not None and result.findings and not options.get("statistics"):
        from .fix import counts
        safe, hidden = counts(result, policy)
        if unsafe:
            safe, hidden = safe + hidden, 0
        if safe:
            click.echo(f"[*] {safe} fixable with `rmlint check --fix`.")
        if hidden:
            click.echo(f"{hidden} more fixable with `--fix --unsafe-fixes`.")
    sys.exit(_exit_code(result, settings))


def _source_lines():
    """(path, line) -> that line of the file, or None (standard input, a file gone or unreadable)."""
    cache = {}

    def line_of(path: str, line: int):
        if path.startswith("<"):
            return None
        if path not in cache:
            from .sources.files import read_input
            try:   # the safe open: a finding about a FIFO must not block here either
                cache[path] = read_input(path, 8 * 1024 * 1024).decode("utf-8-sig", "replace").splitlines()
            except OSError:
                cache[path] = []
        lines = cache[path]
        return lines[line - 1] if 0 < line <= len(lines) else None
    return line_of


def _exit_code(result, settings) -> int:
    return 1 if result.errors or (settings.strict and result.warnings) else 0


def _show_settings(settings, policy, start: str | None = None) -> None:
    import json
    from .versions import resolve
    target = resolve(settings, start, use_installed=settings.installed_versions)
    shown = settings.to_dict() | {"target-versions": target.to_dict(), "rules": [r.id for r in policy.rules]}
    click.echo(json.dumps(shown, indent=2))
    sys.exit(0)


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
@click.option("--kind", type=click.Choice(["shell", "deepspeed", "openrlhf", "llamafactory", "trl", "axolotl", "accelerate"]),
              help="Read the named files as this, instead of recognising them by content.")
@_exclusion_options
@_lint_options
def check(paths, fix, unsafe_fixes, show_diff, kind, **options):
    """Check launch scripts, DeepSpeed configs and OpenRLHF argument files (directories recursively,
    `.` when none is given, - for stdin). Each file uses the nearest settings file above it."""
    from .finding import UsageError
    from .lint import lint_paths
    paths = paths or (".",)
    settings_for = _settings_for(options)
    settings = settings_for(next((p for p in paths if p != "-"), "."))
    if options.get("show_settings"):
        _show_settings(settings, _policy(settings))
    policy = _policy(settings)
    if (fix or show_diff) and "-" in paths:
        raise click.UsageError("--fix and --diff work on files, not on standard input")
    from .sources.files import reading_once
    from .sources.text import MAX_BYTES
    stdin = sys.stdin.buffer.read(MAX_BYTES + 1) if "-" in paths else None   # more is refused (unreadable input)
    with reading_once():   # the fixes, the source lines shown and the check after --fix read no file again
        try:
            result = lint_paths(paths, stdin=stdin, settings=settings, kind=kind, settings_for=settings_for)
            if fix or show_diff:
                result = _fix(paths, result, policy, settings, unsafe_fixes, show_diff, settings_for)
        except UsageError as err:
            raise click.UsageError(printable(err))
        _emit(result, options, settings, policy.catalog, policy, unsafe_fixes)


def _fix(paths, result, policy, settings, unsafe: bool, show_diff: bool, settings_for=None):
    from . import fix
    from .lint import lint_paths
    changes = fix.plan(result, policy, unsafe)
    if show_diff:
        for change in changes:
            click.echo(printable(fix.diff(change), keep_newlines=True), nl=False)
        if not changes:
            sys.exit(0)
        fixed = sum(len(c.edits) for c in changes)
        sys.stdout.flush()
        click.echo(f"Would fix {fixed} finding{'s' if fixed != 1 else ''} in {len(changes)} file"
                   f"{'s' if len(changes) != 1 else ''}.", err=True)
        sys.exit(1)
    written, refused = fix.write_all(changes, fix.checked_roots(paths))
    if not changes:
        return result
    fixed = sum(len(c.edits) for c in written)
    if written:
        click.echo(f"Fixed {fixed} finding{'s' if fixed != 1 else ''} in {len(written)} file"
                   f"{'s' if len(written) != 1 else ''}:", err=True)
    for change in written:
        for edit in change.edits:
            click.echo(printable(f"  {change.path}: {edit.rule} {edit.what}"), err=True)
    result = lint_paths(paths, settings=settings, settings_for=settings_for)
    result.findings = sorted(result.findings + [f for f in policy.complete(refused) if policy.enabled(f.rule)], key=lambda f: f.sort_key())
    return result


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

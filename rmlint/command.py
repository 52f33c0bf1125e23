"""What `rmlint check` does once its flags are read, and the parts other commands share (settings,
policy, output, exit code), without click: a plain `rmlint check` (fast_cli.py) never imports it.

Exit codes: 0 no error-level findings (no warnings either under --strict), 1 findings,
2 usage or configuration error. Heavy modules load only inside the command that needs them.
"""

import os
import sys

from .finding import printable

FORMATS = ("text", "json", "sarif", "github")
KINDS = ("shell", "deepspeed", "openrlhf", "llamafactory", "trl", "axolotl", "accelerate")


class CommandError(Exception):
    """A configuration error (`usage`: a usage error) the command line reports with exit code 2."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage


def echo(message: str = "", nl: bool = True, err: bool = False) -> None:
    """click.echo of text: written and flushed. Where click would change the text (ANSI codes, an
    ASCII-only stream it rewraps) click itself writes it."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    out = message + "\n" if nl else message
    if "\x1b" in out or (getattr(stream, "encoding", None) or "").lower().replace("-", "") in ("ascii", "usascii", "646"):
        import click
        click.echo(message, nl=nl, err=err)
        return
    if out:
        stream.write(out)
    stream.flush()


def split(values) -> list:
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]


def resolve_settings(options: dict, start: str | None = None):
    """Settings file (--config, else the nearest one) with the command line on top, as ruff does:
    --select replaces, --extend-select and --ignore add, --strict turns strict on."""
    from .config import ConfigError, resolve
    try:
        settings = resolve(options.get("config"), start)
    except ConfigError as err:
        raise CommandError(str(err)) from None
    return overrides(settings, options)


def overrides(settings, options: dict):
    from dataclasses import replace
    select, extend, ignore = (split(options.get(k)) for k in ("select", "extend_select", "ignore"))
    exclude, extend_exclude = split(options.get("exclude")), split(options.get("extend_exclude"))
    gitignore = options.get("respect_gitignore")
    return replace(settings, select=select or settings.select, extend_select=settings.extend_select + extend,
                   ignore=settings.ignore + ignore, strict=settings.strict or bool(options.get("strict")),
                   deepspeed_schema=options.get("deepspeed_schema") or settings.deepspeed_schema or "snapshot",
                   exclude=exclude or settings.exclude, extend_exclude=settings.extend_exclude + extend_exclude,
                   force_exclude=settings.force_exclude or bool(options.get("force_exclude")),
                   respect_gitignore=settings.respect_gitignore if gitignore is None else gitignore,
                   installed_versions=options.get("versions") == "installed",
                   hub=settings.hub or bool(options.get("hub")))


def settings_by_file(options: dict):
    """path -> settings: --config for every file, else the nearest settings file of each file's
    folder (hierarchical, as ruff), each loaded once, with the command line on top."""
    from .config import ConfigError, Settings, discover, load
    if options.get("config"):
        forced = resolve_settings(options)
        return lambda path: forced
    sources, loaded = {}, {}

    def settings_of(path: str):
        folder = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
        if folder not in sources:
            sources[folder] = discover(folder)
        source = sources[folder]
        if source not in loaded:
            try:
                loaded[source] = overrides(load(source) if source else Settings(), options)
                policy_of(loaded[source])     # a bad selector in any settings file is exit 2
            except ConfigError as err:
                raise CommandError(str(err)) from None
        return loaded[source]
    return settings_of


def policy_of(settings):
    from .config import ConfigError
    from .policy import Policy
    try:
        return Policy(settings)
    except ConfigError as err:
        raise CommandError(str(err)) from None


def format_of(fmt: str | None) -> str:
    if fmt:
        return fmt
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def colour(fmt: str) -> bool:
    return fmt == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def emit(result, options: dict, settings, rules, policy=None, unsafe: bool = False) -> None:
    from .report import render, statistics
    fmt = format_of(options.get("fmt"))
    fixable = frozenset()
    if policy is not None and result.findings and fmt in ("text", "json"):
        from .fix import fixable as fixable_findings
        fixable = fixable_findings(result, policy)
    if options.get("statistics"):
        echo(statistics(result, fmt, fixable), nl=False)
    else:
        source = source_lines() if fmt == "text" and not options.get("concise") else None
        echo(render(result, fmt, colour(fmt), rules, source, fixable), nl=False)
    if fmt == "text" and policy is not None and result.findings and not options.get("statistics"):
        from .fix import counts
        safe, hidden = counts(result, policy)
        if unsafe:
            safe, hidden = safe + hidden, 0
        if safe:
            echo(f"[*] {safe} fixable with `rmlint check --fix`.")
        if hidden:
            echo(f"{hidden} more fixable with `--fix --unsafe-fixes`.")
    sys.exit(exit_code(result, settings))


def source_lines():
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


def exit_code(result, settings) -> int:
    return 1 if result.errors or (settings.strict and result.warnings) else 0


def show_settings(settings, policy, start: str | None = None) -> None:
    import json
    from .versions import resolve
    target = resolve(settings, start, use_installed=settings.installed_versions)
    shown = settings.to_dict() | {"target-versions": target.to_dict(), "rules": [r.id for r in policy.rules]}
    echo(json.dumps(shown, indent=2))
    sys.exit(0)


def check(paths, fix, unsafe_fixes, show_diff, kind, **options):
    """`rmlint check` (cli.py: its flags)."""
    from .finding import UsageError
    from .lint import lint_paths
    paths = paths or (".",)
    settings_for = settings_by_file(options)
    settings = settings_for(next((p for p in paths if p != "-"), "."))
    if options.get("show_settings"):
        show_settings(settings, policy_of(settings))
    policy = policy_of(settings)
    if (fix or show_diff) and "-" in paths:
        raise CommandError("--fix and --diff work on files, not on standard input", usage=True)
    from .sources.files import reading_once
    from .sources.text import MAX_BYTES
    stdin = sys.stdin.buffer.read(MAX_BYTES + 1) if "-" in paths else None   # more is refused (unreadable input)
    with reading_once():   # the fixes, the source lines shown and the check after --fix read no file again
        try:
            result = lint_paths(paths, stdin=stdin, settings=settings, kind=kind, settings_for=settings_for)
            if fix or show_diff:
                result = fix_files(paths, result, policy, settings, unsafe_fixes, show_diff, settings_for)
        except UsageError as err:
            raise CommandError(printable(err), usage=True) from None
        emit(result, options, settings, policy.catalog, policy, unsafe_fixes)


def fix_files(paths, result, policy, settings, unsafe: bool, show_diff: bool, settings_for=None):
    from . import fix
    from .lint import lint_paths
    changes = fix.plan(result, policy, unsafe)
    if show_diff:
        for change in changes:
            echo(printable(fix.diff(change), keep_newlines=True), nl=False)
        if not changes:
            sys.exit(0)
        fixed = sum(len(c.edits) for c in changes)
        sys.stdout.flush()
        echo(f"Would fix {fixed} finding{'s' if fixed != 1 else ''} in {len(changes)} file"
             f"{'s' if len(changes) != 1 else ''}.", err=True)
        sys.exit(1)
    written, refused = fix.write_all(changes, fix.checked_roots(paths))
    if not changes:
        return result
    fixed = sum(len(c.edits) for c in written)
    if written:
        echo(f"Fixed {fixed} finding{'s' if fixed != 1 else ''} in {len(written)} file"
             f"{'s' if len(written) != 1 else ''}:", err=True)
    for change in written:
        for edit in change.edits:
            echo(printable(f"  {change.path}: {edit.rule} {edit.what}"), err=True)
    result = lint_paths(paths, settings=settings, settings_for=settings_for)
    result.findings = sorted(result.findings + [f for f in policy.complete(refused) if policy.enabled(f.rule)], key=lambda f: f.sort_key())
    return result



"""rmlint inside launchers: the `rmlint run` gate and the library calls a training script makes on
itself before it allocates anything.

    import rmlint
    args = parser.parse_args()
    rmlint.check(args)          # raises rmlint.LintError on errors; warnings go to `warnings` (or logging)
"""

import logging
import os
import sys
import warnings

from .finding import UsageError, printable
from .lint import Result, lint_argv, lint_config, lint_paths

log = logging.getLogger("rmlint")
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


class LintError(Exception):
    """Raised by `rmlint.check` when there are error-level findings; `.findings` holds all of them."""

    def __init__(self, result: Result):
        self.result, self.findings = result, result.findings
        errors = [f for f in result.findings if f.severity == "error"]
        lines = [printable(f"{f.path}:{f.line}:{f.column}: {f.rule} {f.message}") for f in errors]
        super().__init__(f"rmlint found {len(errors)} error(s):\n" + "\n".join(lines))


class RmlintWarning(UserWarning):
    """A warning-level finding, sent through the warnings module by `rmlint.check`."""


def check_command(argv: list, settings=None) -> Result:
    """A launch command line, read as the same line in a script is (sources/commands.py), and every other
    config file it names that is on this machine."""
    try:
        result = lint_argv(argv, settings=settings)
    except UsageError:   # no launch rmlint recognises: its config files may still be checked
        result = Result()
    named = [word.split("=", 1)[-1] for word in argv[1:]]
    files = [p for p in dict.fromkeys(named) if p.endswith(CONFIG_SUFFIXES) and os.path.isfile(p)]
    if files:
        from .problems import reported_by
        more = lint_paths(files, settings=settings)
        seen = set(result.findings)
        result.findings += [f for f in more.findings if not reported_by(f, "unrecognised") and f not in seen]   # a dataset .json is not our business
        result.files += more.files
    return result


def _flatten(namespace, prefix: str = "") -> dict:
    """OpenRLHF >= 0.10.2 nests its Namespace (`args.ds.zero_stage`, openrlhf/utils/config.py
    hierarchize); flatten it back to the dotted flag names."""
    flat = {}
    for key, value in vars(namespace).items():
        if hasattr(value, "__dict__") and not isinstance(value, type) and type(value).__name__ in (
                "Namespace", "SimpleNamespace"):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _entrypoint_of_main() -> str:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = getattr(spec, "name", "") or ""
    if name.startswith("openrlhf.cli."):
        return name.rsplit(".", 1)[1]
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    return script[:-3] if script.endswith(".py") else ""


def namespace_argv(args, entrypoint: str, release: int | None = None) -> tuple:
    """(the command line that yields `args`, attributes that are no flag of the release): read against
    the flags and defaults of OpenRLHF release `release` (an index into the flag table), else of any release."""
    from .frameworks.openrlhf.flags import table
    flags = table().entrypoints[entrypoint]
    argv, foreign = [], []
    for key, value in _flatten(args).items():
        spec = flags.get(f"--{key}")
        if spec is None or (release is not None and not spec.exists(release)):
            foreign.append(key)
            continue
        defaults = [spec.default_at(release)] if release is not None else [d for _, d in spec.defaults]
        if value is None or any(value == default for default in defaults):
            continue   # defaults say nothing (and argparse leaves a default's type as written: 1e8 for an int flag)
        if spec.kind == "bool":
            if value is True:
                argv.append(spec.name)
        elif isinstance(value, (list, tuple)):
            argv += [spec.name, *map(str, value)] if value else []
        elif value is not False:
            argv += [spec.name, str(value)]
    return argv, foreign


def check_namespace(args, entrypoint: str | None = None, settings=None, select=None, ignore=None,
                    version: str | None = None) -> Result:
    """Findings for an OpenRLHF argparse Namespace (flat or nested). The entrypoint (train_rm,
    train_ppo_ray, ...) is taken from the running module when not given; the release is `version`,
    else the target OpenRLHF version (settings, the installed distribution, pins)."""
    from dataclasses import replace
    from .config import Settings
    from .frameworks.openrlhf.flags import table
    from .versions import resolve
    name = (entrypoint or _entrypoint_of_main()).rsplit(".", 1)[-1]
    if name not in table().entrypoints:
        raise UsageError(f"cannot tell which OpenRLHF entrypoint {name or 'this'} is; pass entrypoint='train_rm' "
                         f"(one of {', '.join(sorted(table().entrypoints))})")
    settings = settings or Settings()
    if version:
        settings = replace(settings, versions={**settings.versions, "openrlhf": version})
    target = resolve(settings, None, use_installed=settings.installed_versions)["openrlhf"]
    release = table().versions.index(target.text) if target.text in table().versions else None
    flags, foreign = namespace_argv(args, name, release)
    result = lint_argv(["python3", "-m", f"openrlhf.cli.{name}", *flags], select, ignore, path="<namespace>",
                       settings=settings)
    from .finding import Location
    from .lint import _policy
    from .problems import finding as problem
    known = {"release": target.text, "source": target.source} if release is not None else {"release": "", "source": ""}
    policy = _policy(select, ignore, settings)
    for key in foreign:
        finding, = policy.complete([problem("namespace-attribute-not-a-flag", Location("<namespace>", 1, 1), key=key,
                                            entrypoint=name, **known)])
        if policy.enabled(finding.rule):
            result.findings.append(finding)
    return result


def check(target, *, entrypoint: str | None = None, settings=None, select=None, ignore=None,
          warn_with: str = "warnings", version: str | None = None) -> Result:
    """Check an argparse Namespace, an argv list, a DeepSpeed config mapping, or paths; raise
    LintError on error-level findings; report each warning once, through `warnings` (warn_with=
    "warnings") or the "rmlint" logger (warn_with="logging")."""
    if warn_with not in ("warnings", "logging"):
        raise UsageError(f"rmlint.check: warn_with must be 'warnings' or 'logging', not {warn_with!r}")
    if isinstance(target, (list, tuple)) and target and all(isinstance(w, str) for w in target) \
            and not all(os.path.exists(w) for w in target):
        result = lint_argv(list(target), select, ignore, settings=settings)
    elif isinstance(target, (list, tuple, str, os.PathLike)):
        result = lint_paths([target] if isinstance(target, (str, os.PathLike)) else list(target), select, ignore,
                            settings=settings)
    elif isinstance(target, dict):
        result = lint_config(target, "deepspeed", select, ignore, settings=settings)
    elif hasattr(target, "__dict__"):
        result = check_namespace(target, entrypoint, settings, select, ignore, version)
    else:
        raise UsageError(f"rmlint.check: cannot check a {type(target).__name__}")
    return report(result, stacklevel=3, warn_with=warn_with)


def report(result: Result, quiet: bool = False, stacklevel: int = 3, warn_with: str = "warnings") -> Result:
    """Each warning once, through `warnings` or the "rmlint" logger (none when `quiet`: another rank
    reports them); LintError on errors."""
    for finding in result.findings:
        if finding.severity == "warning" and not quiet:
            text = printable(f"{finding.path}:{finding.line}:{finding.column}: {finding.rule} {finding.message}")
            if warn_with == "logging":
                log.warning(text)
            else:
                warnings.warn(text, RmlintWarning, stacklevel=stacklevel)
    if result.errors:
        raise LintError(result)
    return result

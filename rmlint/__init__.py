"""rmlint: catch reward-model and RLHF training launches that would crash or silently train wrong.

Library use (never prints, never exits):

    import rmlint
    result = rmlint.lint_paths(["train_rm.sh", "ds_config.json"])
    for finding in result.findings: ...
"""

from .about import __version__

__all__ = ["lint_paths", "lint_argv", "lint_config", "inspect_checkpoints", "check", "check_namespace", "guard",
           "Finding", "Result", "UsageError", "LintError", "RmlintWarning"]


def __getattr__(name):  # lazy, so `import rmlint` stays cheap for the CLI and for launchers
    if name in ("lint_paths", "lint_argv", "lint_config", "inspect_checkpoints", "Result"):
        from . import lint
        return getattr(lint, name)
    if name in ("check", "check_namespace", "LintError", "RmlintWarning"):
        from . import launcher
        return getattr(launcher, name)
    if name == "guard":   # imports torch when called, not before
        from .live import guard
        return guard
    if name in ("Finding", "UsageError"):
        from . import finding
        return getattr(finding, name)
    raise AttributeError(name)

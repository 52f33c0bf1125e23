"""Run one `examples:` entry of a rule file as a user would meet it (a test helper, not part of rmlint)."""

import os

from conftest import FIXTURES
from rmlint.examples import checkout, example_subjects
from rmlint.lint import Result, _finish, _policy, inspect_checkpoints, lint_paths


def lint_example(example: dict, select=None, ignore=None) -> Result:
    """Run one `examples:` entry of a rule file: `argv` (a command line; `{fixtures}` is the checkpoint
    fixtures folder), `deepspeed` (a mapping, with an optional `consumer`), `checkpoint` (a fixture
    name), `file` ({name, text}), `guard` (a tiny live model for rmlint.guard, tests/guard_samples.py) or
    `namespace` ({entrypoint,
    version, args}: what rmlint.check(args) reads in a launcher); `versions` ({package: version}) are the
    target versions."""
    if "guard" in example:
        from guard_samples import run
        return run(example["guard"], select, ignore)
    if "walk" in example:
        return _walk_example(example["walk"], select, ignore)
    if "namespace" in example:
        import argparse
        from rmlint.launcher import check_namespace
        spec = example["namespace"]
        return check_namespace(argparse.Namespace(**spec["args"]), spec["entrypoint"], select=select, ignore=ignore,
                               version=str(spec["version"]))
    if "checkpoint" in example:
        return inspect_checkpoints([os.path.join(FIXTURES, example["checkpoint"])], select, ignore)
    if example.get("fix"):
        return _fix_example(example, select, ignore)
    found, problems, texts = example_subjects(example)
    policy = _policy(select, ignore)
    if example.get("exact"):   # the example shows what exact mode (the installed DeepSpeed) adds
        from dataclasses import replace
        policy.settings = replace(policy.settings, deepspeed_schema="installed")
    return _finish(Result(findings=problems, files=1), found, policy, texts)


def _walk_example(spec: dict, select=None, ignore=None) -> Result:
    """A `walk:` example: a folder `repo` holding `files` ({name: text}), `links` (symlinks to a folder
    `shared` beside it, holding `outside` {name: text}) and `fifos`, checked as `rmlint check repo`."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="rmlint-example-") as folder:
        tree, shared = os.path.join(folder, "repo"), os.path.join(folder, "shared")
        os.makedirs(tree)
        os.makedirs(shared)
        for base, files in ((tree, spec.get("files", {})), (shared, spec.get("outside", {}))):
            for name, text in files.items():
                with open(os.path.join(base, name), "w", encoding="utf-8") as handle:
                    handle.write(text)
        for name in spec.get("links", []):
            os.symlink(shared, os.path.join(tree, name))
        for name in spec.get("fifos", []):
            os.mkfifo(os.path.join(tree, name))
        return lint_paths([tree], select, ignore)


def _fix_example(example: dict, select=None, ignore=None) -> Result:
    """A `fix: true` example: its file written to a fresh folder, checked, and --fix applied there."""
    import tempfile
    from rmlint import fix
    policy = _policy(select, ignore)
    with tempfile.TemporaryDirectory(prefix="rmlint-example-") as folder:
        path = os.path.join(folder, example["file"]["name"])
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(example["file"]["text"].replace("{root}", checkout()))
        result = lint_paths([path], select, ignore)
        _, refused = fix.write_all(fix.plan(result, policy, False), fix.checked_roots([path]))
        result = lint_paths([path], select, ignore)
    result.findings += [f for f in policy.complete(refused) if policy.enabled(f.rule)]
    return result

"""The library interface: plain functions that return findings and never print or exit."""

import os
import sys
from dataclasses import dataclass, field

from . import engine, inputs
from .finding import Finding, UsageError
from .problems import reported_by
from .versions import target


WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")


@dataclass(eq=False)
class Result:
    findings: list = field(default_factory=list)
    files: int = 0
    rule_errors: list = field(default_factory=list)   # rule expressions that failed on some input
    skipped: list = field(default_factory=list)       # (model path, Location, reason): checkpoint checks not run
    unread: int = 0                                   # files given or found that rmlint does not read
    excluded: int = 0                                 # files and folders left out by exclude / .gitignore
    read_from: set = field(default_factory=set)       # the arguments that led to a file rmlint read
    versions: dict = field(default_factory=dict)      # package -> {version, source}: the target versions used
    launches: list = field(default_factory=list)      # one record per launch line found (launches.record)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")


def extra_flags(names):
    """A fork's OpenRLHF flags, accepted while the subjects are built (the flag table's module imported
    only when there are some: a DeepSpeed JSON needs none of it)."""
    if not names and "rmlint.frameworks.openrlhf.flags" not in sys.modules:   # then no outer context set any either
        from contextlib import nullcontext
        return nullcontext()
    from .frameworks.openrlhf.flags import extra_flags as accepted
    return accepted(names)


def _policy(select=None, ignore=None, settings=None):
    """The library's selection: explicit `select`/`ignore` on top of `settings` (no discovery here)."""
    from .config import ConfigError, Settings
    from .policy import Policy
    settings = settings or Settings()
    if select is not None or ignore:
        from dataclasses import replace
        settings = replace(settings, select=list(select) if select is not None else settings.select,
                           ignore=settings.ignore + list(ignore or []))
    try:
        return Policy(settings)
    except ConfigError as err:
        raise UsageError(str(err)) from None


def _superseded(subjects: list) -> list:
    """A recipe that a launch in the same run reads (`--config x.yaml`) is judged as that launch, with
    its flags and accelerate config, not a second time on its own."""
    read = {os.path.realpath(p) for s in subjects for p in s.settings_files}
    return [s for s in subjects if s.settings_files or s.kind != "trainer" or os.path.realpath(s.anchor.path) not in read]


def _finish(result: Result, subjects: list, policy, texts: dict | None = None, spelt: list = ()) -> Result:
    for entry in result.launches:   # each launch's reasons, worded as its launch-not-understood finding words them
        if isinstance(entry["reason"], list):
            entry["reason"] = policy.word(entry["reason"])
    subjects = _superseded(subjects)
    for subject in subjects:   # models of one launch share paths: reported once (deduplicated below)
        subject.facts["versions"] = subject.versions
        if not result.versions:
            result.versions = {p: {"version": v["text"] or None, "source": v["source"]} for p, v in subject.versions.items()}
        result.findings += subject.reader_findings
        result.skipped += _worded(subject.skipped)
    result.findings = policy.complete(result.findings)     # readers' problems: the exact-mode check below reads severities
    result.findings += engine.run(subjects, [r for r in policy.rules if r.emitted_by == "condition"],
                                  result.rule_errors)
    if policy.enabled(policy.rule_for("deepspeed-refuses").id) and _exact(policy.settings):
        result.findings += _exact_findings(subjects, result.findings)
    result.findings, texts, result.skipped = _one_name_per_file(result.findings, texts or {}, result.skipped, spelt)
    result.findings = policy.finish(list(dict.fromkeys(result.findings)), texts)
    result.findings.sort(key=Finding.sort_key)
    return result


def _worded(skipped: list) -> list:
    """Checkpoints not checked, each (model, place, why) with its reason worded as the output says it (repeats
    are dropped once, with the file names made one, by _one_name_per_file)."""
    if not skipped:
        return []
    from .formats import skip_reason
    return [(model, where, skip_reason(why)) for model, where, why in skipped]


def _one_name_per_file(findings: list, texts: dict, skipped: list, spelt=()) -> tuple:
    """Findings (suppression texts, skipped checkpoints) under one display name per real file, the run's own
    spelling first: a config reached from a walk and from the launch that names it, or a script reached from a
    walk and from a `source`, is reported once."""
    from dataclasses import replace
    from .sources.walk import display, identity
    names, memo = {identity(path): path for path in spelt}, {}

    def name(path: str) -> str:
        if path.startswith("<"):
            return path
        if path not in memo:
            memo[path] = names.setdefault(identity(path), display(path))
        return memo[path]
    texts = {name(path): text for path, text in texts.items()}
    skipped = list(dict.fromkeys((model, replace(where, path=name(where.path)), why) for model, where, why in skipped))
    return [f if name(f.path) == f.path else replace(f, path=name(f.path)) for f in findings], texts, skipped


def _exact(settings) -> bool:
    if settings.deepspeed_schema is None:
        from .frameworks.deepspeed.exact import in_use
        return in_use()
    return settings.deepspeed_schema == "installed"


def _exact_findings(subjects: list, found: list) -> list:
    """What DeepSpeed's own validation refuses, where no error finding already stands."""
    from .frameworks.deepspeed.exact import ExactUnavailable, validate
    from .problems import finding as problem
    taken = {(f.path, f.line) for f in found if f.severity == "error"}
    extra, seen = [], set()
    for subject in subjects:
        if not subject.deepspeed:
            continue
        try:
            problems = validate(subject.deepspeed, subject.world_size or None)
        except ExactUnavailable as err:
            from .config import EXACT_UNAVAILABLE
            raise UsageError(EXACT_UNAVAILABLE.format(error=err)) from None
        for path, facts in problems:
            where = subject.locate("ds." + ".".join(path)) if path else subject.anchor
            key = (where, tuple(sorted(facts.items())))
            if (where.path, where.line) not in taken and key not in seen:
                seen.add(key)
                extra.append(problem("deepspeed-refuses", where, **facts))
    return extra


def _versions(settings, near: str | None):
    """The target versions for files in `near` (None: the current folder)."""
    from .versions import resolve
    return resolve(settings, near, use_installed=settings.installed_versions)


def _hub(settings):
    """Hub ids read from the Hub while the subjects are built, when the settings ask for it."""
    from .frameworks.checkpoint.hub_cache import reading_hub
    return reading_hub(bool(getattr(settings, "hub", False)), getattr(settings, "hub_timeout", 10.0))


def lint_paths(paths, select=None, ignore=None, stdin: bytes | None = None, settings=None,
               kind: str | None = None, settings_for=None) -> Result:
    """Check files, directories (recursively; `.` when `paths` is empty) and `-` (stdin bytes passed
    in `stdin`); `kind` forces what the named files are read as (shell, deepspeed, openrlhf, llamafactory, trl,
    axolotl, accelerate: the readers of inputs.py), files found in
    directories excepted. `settings_for(path)` gives each file its settings (the nearest settings
    file, as the CLI does); without it every file uses `settings`. Each file is read once, however
    many spellings reach it; a file rmlint does not read is skipped and counted."""
    from .sources import walk as selecting
    from .config import Settings
    base = settings or Settings()
    settings_for = settings_for or (lambda path: base)
    paths = [str(p) for p in paths] or ["."]
    missing = next((p for p in paths if p != "-" and not os.path.exists(p)), None)
    if missing is not None:
        raise UsageError(f"{missing}: no such file or directory")
    selection = selecting.select(paths, settings_for)
    groups = {}                       # settings -> entries it governs
    for entry in selection.entries:
        governing = base if entry.path == "<stdin>" else settings_for(entry.path)
        groups.setdefault(id(governing), (governing, []))[1].append(entry)
    result = Result(excluded=selection.excluded)
    read_from = set()
    for governing, entries in groups.values():
        with extra_flags(governing.openrlhf_extra_flags):
            part = _lint_entries(entries, _policy(select, ignore, governing), stdin, kind, selection.entries)
        result.findings += part.findings
        result.rule_errors += part.rule_errors
        result.skipped += [skip for skip in part.skipped if skip not in result.skipped]
        result.files += part.files
        result.versions = result.versions or part.versions
        result.unread += part.unread
        result.launches += part.launches
        read_from |= part.read_from
    empty = [folder for folder in selection.folders if folder not in read_from]
    if empty:
        raise UsageError(f"{empty[0]}: no file rmlint reads here (launch scripts; DeepSpeed, accelerate, OpenRLHF, "
                         "LLaMA-Factory, TRL or axolotl configs; checkpoints)"
                         + (f"; {_count(result.unread, 'file')} skipped" if result.unread else ""))
    result.findings = list(dict.fromkeys(result.findings))
    result.findings.sort(key=Finding.sort_key)
    return result


def _count(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _read_entry(entry, stdin: bytes | None, kind: str | None, texts: dict, launches: list):
    if entry.path == "<stdin>":
        return inputs.subjects_of_bytes("<stdin>", stdin or b"", texts, kind, launches)
    if entry.path.endswith(WEIGHT_SUFFIXES):   # a weight file: what `inspect` reads
        from .frameworks.checkpoint.subjects import inspect_subject
        subject, _, problems = inspect_subject(entry.path)
        return [subject], problems
    return inputs.read_file(entry.path, entry.explicit, texts, kind if entry.explicit else None,
                            None if entry.explicit else entry.origins[0], launches)   # found by a walk: inside its folder


def _lint_entries(entries: list, policy, stdin: bytes | None, kind: str | None, named: list) -> Result:
    result, subjects, texts = Result(), [], {}
    with _hub(policy.settings):
        _read_entries(entries, policy, stdin, kind, result, subjects, texts)
    return _finish(result, subjects, policy, texts, [entry.path for entry in named])


def _read_entries(entries: list, policy, stdin: bytes | None, kind: str | None, result: Result, subjects: list,
                  texts: dict):
    for entry in entries:
        near = None if entry.path == "<stdin>" else os.path.dirname(os.path.abspath(entry.path))
        with target(_versions(policy.settings, near)):    # each file is judged for the releases it runs with
            read = _read_entry(entry, stdin, kind, texts, result.launches)
        if read is None:
            result.unread += 1
            continue
        found, problems = read
        if not found and len(problems) == 1 and reported_by(problems[0], "symlink-outside"):
            result.unread += 1     # a symlink out of the folder walked: a note, and not a file checked
        else:
            result.files += 1
        result.read_from.update(entry.origins)
        subjects += found
        result.findings += problems


def lint_argv(argv, select=None, ignore=None, path: str = "<argv>", settings=None) -> Result:
    """Check a command line given as a list of words (e.g. sys.argv of a launcher): any launch a script
    may hold, read as it would be there."""
    from .launches import read_commands
    from .sources.machine import on_this_machine
    from .sources.shell import Command, Word
    words, offset = [], 0
    for text in map(str, argv):  # a word's column is its place in the command line joined by spaces
        words.append(Word(text, offset))
        offset += len(text) + 1
    result = Result(files=1)
    policy = _policy(select, ignore, settings)
    # an argv is launched here: what the launch leaves to the machine is this one's
    with on_this_machine(), target(_versions(policy.settings, None)), _hub(policy.settings), \
            extra_flags(policy.settings.openrlhf_extra_flags):
        found, problems = read_commands([Command(words, 0)] if words else [], path, lambda at: (1, at + 1),
                                        result.launches, read_file=inputs.subjects_of_file)
    if not result.launches:
        raise UsageError("no launch in the arguments (rmlint reads deepspeed, torchrun, accelerate launch, python, "
                         "ray job submit, srun, mpirun, llamafactory-cli, trl and axolotl command lines, verl trainers "
                         "and DeepSpeed-Chat main.py)")
    result.findings += problems
    return _finish(result, found, policy)


def lint_config(mapping: dict, kind: str = "deepspeed", select=None, ignore=None, path: str = "<config>",
                settings=None) -> Result:
    """Check a DeepSpeed config (kind="deepspeed") or OpenRLHF arguments (kind="openrlhf") held in memory."""
    from .sources.document import Document
    document = Document(path, mapping)
    policy = _policy(select, ignore, settings)
    with target(_versions(policy.settings, None)), extra_flags(policy.settings.openrlhf_extra_flags):
        if kind == "deepspeed":
            from .frameworks.deepspeed.subjects import deepspeed_subject
            found = [deepspeed_subject(document, "unknown")]
        elif kind == "openrlhf":
            from .frameworks.openrlhf.argsfile import invocation_of
            from .frameworks.openrlhf.launch import subjects
            invocation = invocation_of(document)
            if invocation is None:
                raise UsageError("cannot tell which OpenRLHF entrypoint these arguments are for; add `entrypoint:`")
            found = subjects(invocation)
        else:
            raise UsageError(f"unknown kind {kind!r}; expected 'deepspeed' or 'openrlhf'")
    return _finish(Result(files=1), found, policy)


@dataclass(eq=False)
class CheckpointsResult(Result):
    """A Result with `checkpoints`: what each checkpoint holds (the facts `rmlint inspect` shows), one
    dict per path. `entries, result = inspect_checkpoints(...)` (the earlier return) still unpacks."""
    checkpoints: list = field(default_factory=list)

    def __iter__(self):
        return iter((self.checkpoints, self))


def inspect_checkpoints(paths, select=None, ignore=None, settings=None) -> CheckpointsResult:
    """What each checkpoint holds (`.checkpoints`) and the findings about it, as a Result."""
    from .frameworks.checkpoint.subjects import inspect_subject
    result, subjects = CheckpointsResult(), []
    for path in map(str, paths):
        if not os.path.exists(path):
            raise UsageError(f"{path}: no such file or directory")
        subject, _, problems = inspect_subject(path)
        subjects.append(subject)
        result.findings += problems
        result.files += 1
    result.checkpoints = [s.facts["ckpt"] for s in subjects]
    return _finish(result, subjects, _policy(select, ignore, settings))

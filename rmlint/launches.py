"""Read each recognised launch with its framework's reader, and say which launches were understood.

A launch is recognised once (sources/commands.py), its framework decided on evidence
(sources/frameworks.py); here it becomes subjects (OpenRLHF invocations, TRL/LLaMA-Factory trainer
facts, the config files it names), reader findings, and one record for the `launches` list of the
output. A launch that is not understood is a `launch-not-understood` note, never a silent pass.
"""

import os

from .finding import Location

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


def record(launch, where: Location) -> dict:
    return {"path": where.path, "line": where.line, "launcher": launch.launcher, "program": launch.program,
            "framework": launch.framework, "releases": launch.releases, "understood": launch.understood,
            "reason": [launch.reason] if launch.reason else []}    # reasons (problems.reason), worded by lint._finish


def folders_of(path: str):
    """Where a launch in `path` finds relative script paths: from here, or the script's own folder."""
    here = [os.getcwd()]
    if not path.startswith("<"):
        here.append(os.path.dirname(os.path.abspath(path)))
    return lambda launch: list(dict.fromkeys(here))


def read_commands(commands: list, path: str, position, records: list | None = None, locate=None,
                  unread: list = (), *, read_file) -> tuple:
    """(subjects, findings) of every launch in `commands`; each launch's record appended to `records`.
    verl and DeepSpeed-Chat read the launches they claim (rmlint/frameworks); the others are read here.
    `locate(offset)`: the Location of an offset that may lie in a file the script sources; `unread`: why
    a file it sources was not read (said with each launch not understood). `read_file(path)` ->
    (subjects, findings) reads a config file a launch names (inputs.subjects_of_file, passed down from
    the layer that reads files)."""
    from .frameworks import deepspeed_chat, verl
    from .sources.commands import is_launch, recognise
    from .sources.frameworks import decide
    subjects, findings, claimed = [], [], {}
    for name, framework in (("verl", verl), ("deepspeed-chat", deepspeed_chat)):
        more, trouble, taken = framework.launches(commands, path, position)
        subjects += more
        findings += trouble
        for index in taken:
            claimed.setdefault(index, name)
    here = locate or (lambda offset: Location(path, *position(offset)))
    folders = folders_of(path)
    for index, command in enumerate(commands):
        launch = recognise(command)
        if not is_launch(launch) and index not in claimed:
            continue
        entry = record(launch, here(command.offset))
        if index in claimed:
            entry.update(framework=claimed[index], understood=True, reason=[])
        else:
            decide(launch, folders, entrypoints)
            reasons = ([launch.reason] if launch.reason else []) + (list(unread) if not launch.understood else [])
            entry.update(framework=launch.framework, understood=launch.understood, reason=reasons,
                         releases=launch.releases)
            more, trouble = read(launch, path, here, entry, read_file)
            subjects += more
            findings += trouble
            if not entry["understood"]:
                from .problems import finding as problem
                anchor = here(launch.program_word.offset if launch.program_word is not None else command.offset)
                findings.append(problem("launch-not-understood", anchor, program=launch.program or launch.launcher,
                                        reason=entry["reason"]))
        if records is not None:
            records.append(entry)
    return subjects, findings


def never_run(commands: list, exit_place: Location, locate, records: list | None = None) -> list:
    """The launches after the `exit` that ends a script (shellflow.py): bash never runs them, so they are
    not checked; each is listed with `understood: false` and the place of the exit, and noted."""
    from .problems import finding as problem, reason
    from .sources.commands import is_launch, recognise
    findings = []
    where = f"{exit_place.path}:{exit_place.line}"
    for command in commands:
        launch = recognise(command)
        if not is_launch(launch):
            continue
        entry = record(launch, locate(command.offset))
        entry.update(understood=False, reason=[reason("never-runs", exit=where)])
        anchor = locate(launch.program_word.offset if launch.program_word is not None else command.offset)
        findings.append(problem("launch-never-runs", anchor, program=launch.program or launch.launcher,
                                exit=where))
        if records is not None:
            records.append(entry)
    return findings


def entrypoints(framework: str):
    """The entrypoints a framework's flag tables know (OpenRLHF's), for the recogniser; None: any."""
    if framework != "openrlhf":
        return None
    from .frameworks.openrlhf.flags import table
    return table().entrypoints


def read(launch, path: str, here, entry: dict, read_file) -> tuple:
    subjects, findings = [], []
    if launch.framework == "openrlhf" and launch.readable:
        subjects = _openrlhf(launch, path, here, entry)
    elif launch.framework == "trl" and launch.readable:
        from .frameworks.trl import launch_subjects
        subjects, findings = launch_subjects(launch, path, here)
    elif launch.framework == "llamafactory" and launch.readable:
        subjects, findings = _llamafactory(launch, path, here, read_file)
    elif launch.framework == "axolotl" and launch.readable:
        subjects, findings = _named_files(_positional_configs(launch), path, here(launch.command.offset), read_file)
    if launch.launcher == "accelerate" or any(name == "accelerate" for name, _ in launch.stack):
        name = launch.option("--config_file", "--config-file")
        if name and launch.framework != "trl":       # TRL's reader reads it with the trainer's settings
            more, trouble = _named_files([name], path, here(launch.command.offset), read_file)
            subjects += more
            findings += trouble
    return subjects, findings


def _openrlhf(launch, path: str, here, entry: dict) -> list:
    from .frameworks.openrlhf.argv import Arg
    from .frameworks.openrlhf.launch import Invocation, subjects
    from .problems import reason
    args = [Arg(w.text, here(w.offset), w.known, w.opaque) for w in launch.args]
    from .sources.machine import launch_world
    world = launch_world(launch)
    form = "script" if launch.kind == "script" and "openrlhf/cli/" not in launch.program.replace("\\", "/") \
        else "module"    # the examples/train_*.py scripts of <= 0.3.5, or the openrlhf.cli modules
    invocation = Invocation(launch.entrypoint, args, here(launch.program_word.offset), launch.launcher or "argv",
                            world.count, world.source, form, launch.program, world.default)
    found = subjects(invocation)
    if found:
        facts = found[0].facts["launch"]
        entry["releases"] = facts["releases"]
        if facts["opaque"] and entry["understood"]:
            entry["understood"] = False
            entry["reason"] = [reason("opaque-argument")]
    return found


def _positional_configs(launch) -> list:
    """`axolotl train x.yml`, `llamafactory-cli train x.yaml key=value`: the config file argument."""
    first = next((w for w in launch.args if w.known and not w.text.startswith("-") and "=" not in w.text), None)
    return [first.text] if first is not None and first.text.endswith(CONFIG_SUFFIXES) else []


def _llamafactory(launch, path: str, here, read_file) -> tuple:
    """`llamafactory-cli train` with flags or `x.yaml key=value`, `src/train_bash.py`/`src/train.py` flags:
    read with the launch form, which tells the releases (frameworks/llamafactory/cli.py)."""
    if launch.kind == "cli" and launch.program.split()[1:] != ["train"]:    # chat, export, ...
        more, trouble = _named_files(_positional_configs(launch), path, here(launch.command.offset), read_file)
        from .problems import reported_by    # an inference or merge YAML is no training config
        return more, [f for f in trouble if not reported_by(f, "unrecognised")]
    from .frameworks.llamafactory.cli import form_of, read_args
    anchor = here(launch.program_word.offset if launch.program_word is not None else launch.command.offset)
    return read_args(launch.args, form_of(launch.program), path, here, anchor)


def _named_files(names: list, path: str, where: Location, read_file) -> tuple:
    """Config files a launch names, found from here or beside the script; missing ones reported."""
    from .problems import finding as problem
    from .frameworks.trainer.common import find_file
    subjects, findings = [], []
    for name in names:
        found = find_file(name, path, walk_up=False)
        if found is None:
            findings.append(problem("launch-file-missing", where, name=name))
            continue
        more, trouble = read_file(found)
        subjects += more
        findings += trouble
    return subjects, findings

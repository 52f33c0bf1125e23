"""The one place where a shell command is recognised as a launch: through which launchers and
wrappers (srun, nohup, env A=B, timeout, deepspeed, torchrun, accelerate launch, ray job submit --,
mpirun, ...) it runs which program (a module, a script path or a framework's CLI), with which
arguments, and which framework that program is, on evidence only (see `frameworks.py`).

Launchers' own options and how many words each takes come from launcher_options.py, so an option's
value is never taken for the program; each launcher's options are kept (`Launch.stack`) for whoever
needs them (world size, hosts).
"""

import os
import re
from dataclasses import dataclass, field

from ..problems import reason
from .launcher_options import PYTHON, UV_RUN, WRAPPERS, launcher_table, read_options

CLIS = {"llamafactory-cli": "llamafactory", "lmf": "llamafactory", "trl": "trl", "axolotl": "axolotl"}
_PYTHON = re.compile(r"(python|pypy)[0-9.]*")
_OPENRLHF_MODULE = re.compile(r"openrlhf\.cli\.[a-z_]+")


@dataclass(eq=False)
class Launch:
    command: object                 # shell.Command (words, offset, outer, env)
    launcher: str = ""              # the launcher that starts the program: deepspeed | torchrun | accelerate |
    #                                 ray | python | llamafactory-cli | trl | axolotl | srun | mpirun | "" (run directly)
    stack: list = field(default_factory=list)   # [(launcher, {option: value text or None})], outermost first
    program: str = ""               # module, script path, or CLI with its subcommand ("llamafactory-cli train")
    kind: str = ""                  # module | script | cli | "" (no program found)
    program_word: object = None
    args: list = field(default_factory=list)    # the program's words
    framework: str = ""             # openrlhf | trl | llamafactory | axolotl | "" (not known)
    entrypoint: str = ""            # openrlhf: train_rm ...; trl: reward ...; llamafactory: train
    readable: bool = False          # its framework's reader can take it
    understood: bool = False        # ... and every word that may be a flag is known
    reason: dict = field(default_factory=dict)   # problems.reason: why it is not understood
    env: dict = field(default_factory=dict)
    releases: str = ""              # releases that have the program, when known without a flag table

    @property
    def options(self) -> dict:
        """The options of the launcher that starts the program (deepspeed --num_gpus 8 -> {"--num_gpus": "8"})."""
        return self.stack[-1][1] if self.stack else {}

    def launcher_words(self) -> list:
        """The words before the program: wrappers, launchers and their options."""
        words = list(self.command.outer) + list(self.command.words)
        k = next((i for i, w in enumerate(words) if w is self.program_word), len(words))
        return words[:k]

    def option(self, *names):
        """The value of the first of `names` any launcher in the stack was given (innermost first)."""
        for _, options in reversed(self.stack):
            for name in names:
                if name in options:
                    return options[name]
        return None


def _name(word) -> str:
    return os.path.basename(word.text) if word.known else ""


def recognise(command) -> Launch:
    """The launch a command runs (launcher, program, arguments); framework and understanding are
    decided by frameworks.decide."""
    words = list(command.outer) + list(command.words)
    launch = Launch(command, env=dict(command.env))
    i = 0
    while i < len(words):
        word = words[i]
        name = _name(word)
        if not word.known:
            launch.reason = reason("unread-word", what="program")
            return launch
        if "=" in word.text and not word.text.startswith("-") and launch.launcher in ("", "env"):
            key, _, value = word.text.partition("=")     # `env A=B cmd`, `srun ... A=B cmd`
            launch.env[key] = value
            i += 1
            continue
        if name == "env":
            i = read_options(words, i + 1, {"-u": 1, "-C": 1, "--chdir": 1, "-S": 1}, {})
            continue
        if name == "timeout":
            i = read_options(words, i + 1, {"-s": 1, "-k": 1, "--signal": 1, "--kill-after": 1}, {}) + 1
            continue
        if name in WRAPPERS:
            i = read_options(words, i + 1, WRAPPERS[name], {}, stop_at_unknown=name not in ("numactl", "taskset"))
            if name == "taskset" and i < len(words) and not words[i].text.startswith("-"):
                i += 1   # the CPU mask
            continue
        if name in ("srun", "mpirun", "mpiexec"):
            i = _launcher(launch, "srun" if name == "srun" else "mpirun", words, i + 1)
            continue
        if name == "deepspeed" or name == "torchrun" or (name == "accelerate" and _next(words, i) == "launch"):
            table = "accelerate" if name == "accelerate" else name
            return _program(launch, table, words, _launcher(launch, table, words, i + 1 + (name == "accelerate")))
        if name == "ray" and _next(words, i) == "job" and _next(words, i + 1) == "submit":
            i = _launcher(launch, "ray", words, i + 3)
            if i < len(words) and words[i].text == "--":
                i += 1
            continue
        if name == "uv" and _next(words, i) == "run":
            options = {}
            i = read_options(words, i + 2, UV_RUN, options)
            i += i < len(words) and words[i].text == "--"
            if options.get("--module") or options.get("-m"):     # `uv run -m pkg.mod`: python -m
                return _python_module(launch, words, i)
            continue
        if name in CLIS:
            return _cli(launch, name, words, i)
        if _is_python(name):
            return _python(launch, words, i)
        if name.endswith(".py"):
            launch.program, launch.kind, launch.program_word = word.text, "script", word
            launch.args = words[i + 1:]
            return launch
        # an argv that starts at the entrypoint, as a launcher may hand it over
        kind = "module" if _OPENRLHF_MODULE.fullmatch(word.text) and i == 0 else "command"
        launch.program, launch.kind, launch.program_word, launch.args = word.text, kind, word, words[i + 1:]
        return launch
    return launch


def _is_python(name: str) -> bool:
    return bool(_PYTHON.fullmatch(name))


def _next(words: list, i: int) -> str:
    return words[i + 1].text if i + 1 < len(words) and words[i + 1].known else ""


def _launcher(launch: Launch, name: str, words: list, i: int) -> int:
    options = {}
    i = read_options(words, i, launcher_table(name), options)
    launch.stack.append((name, options))
    launch.launcher = name
    return i


def _program(launch: Launch, table: str, words: list, i: int) -> Launch:
    """After deepspeed/torchrun/accelerate options: `-m`/`--module` makes the next word a module; a
    python interpreter (`--no_python python x.py`) is read as python."""
    options = launch.options
    if i < len(words) and _is_python(_name(words[i])):
        return _python(launch, words, i)
    if i >= len(words):
        launch.reason = reason("program-variable" if "$" in options else "no-program", launcher=launch.launcher)
        return launch
    word = words[i]
    if not word.known:
        launch.reason = reason("unread-word", what="program")
        return launch
    module = any(options.get(flag) for flag in ("--module", "-m"))
    launch.program, launch.kind, launch.program_word = word.text, "module" if module else "script", word
    launch.args = words[i + 1:]
    return launch


def _python(launch: Launch, words: list, i: int) -> Launch:
    options = {}
    k = read_options(words, i + 1, PYTHON, options, last=("-m", "-c"))
    launch.stack.append(("python", options))
    launch.launcher = launch.launcher or "python"
    module = options.get("-m")
    if options.get("-c") is not None or "-c" in options:
        launch.reason = reason("python-inline")
        return launch
    if module in ("torch.distributed.run", "torch.distributed.launch"):
        launch.stack[-1] = ("torchrun", {})
        launch.launcher = "torchrun"
        return _program(launch, "torchrun", words, read_options(words, k, launcher_table("torchrun"),
                                                                 launch.stack[-1][1]))
    if module == "accelerate.commands.launch":
        return _program(launch, "accelerate", words, _launcher(launch, "accelerate", words, k))
    if module == "deepspeed.launcher.runner":
        return _program(launch, "deepspeed", words, _launcher(launch, "deepspeed", words, k))
    if isinstance(module, str):
        where = next((w for w in words[i + 1:k] if w.known and w.text == module), words[k - 1])
        launch.program, launch.kind, launch.program_word, launch.args = module, "module", where, words[k:]
        return launch
    if "-m" in options:
        launch.reason = reason("python-module-unread")
        return launch
    if k >= len(words):
        launch.reason = reason("python-no-script")
        return launch
    word = words[k]
    if not word.known:
        launch.reason = reason("unread-word", what="script")
        return launch
    launch.program, launch.kind, launch.program_word, launch.args = word.text, "script", word, words[k + 1:]
    return launch


def _python_module(launch: Launch, words: list, i: int) -> Launch:
    """A module run by a wrapper's own `-m` (uv run -m): as `python -m` would run it."""
    launch.stack.append(("python", {}))
    launch.launcher = launch.launcher or "python"
    if i >= len(words) or not words[i].known:
        launch.reason = reason("python-module-unread")
        return launch
    launch.stack[-1][1]["-m"] = words[i].text
    launch.program, launch.kind, launch.program_word, launch.args = words[i].text, "module", words[i], words[i + 1:]
    return launch


def _cli(launch: Launch, name: str, words: list, i: int) -> Launch:
    """`llamafactory-cli train ...`, `trl reward ...`, `axolotl train ...`: the subcommand is the entrypoint."""
    launch.stack.append((name, {}))
    launch.launcher = name
    sub = _next(words, i)
    launch.program, launch.kind = f"{name} {sub}".strip(), "cli"
    launch.program_word = words[i]
    launch.entrypoint = sub
    launch.args = words[i + 2:] if sub else []
    launch.framework = CLIS[name]
    return launch


def is_launch(launch: Launch) -> bool:
    """A command that runs a program through a launcher or a python interpreter (not tee, pip, sleep, or
    srun ./build.sh)."""
    return launch.kind != "command" and bool(launch.stack or launch.kind)


def launches(commands: list, where, entrypoints) -> list:
    """Every launch among a script's commands, recognised and its framework decided;
    `where(launch)` -> the folders the script's relative paths are seen from; `entrypoints` as for
    frameworks.decide."""
    from .frameworks import decide
    found = []
    for command in commands:
        launch = recognise(command)
        if is_launch(launch):
            decide(launch, where, entrypoints)
            found.append(launch)
    return found

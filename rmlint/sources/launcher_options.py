"""The options of the launchers and wrappers a launch runs through, and how many words each takes, so an
option's value is never taken for the program. deepspeed's, torchrun's and accelerate's come from their own
parsers (rmlint/data/launcher_options.json, tools/extract_launcher_options.py); the others from their
manuals, below."""

import json
from functools import lru_cache

from ..data import TABLES

DATA = TABLES / "launcher_options.json"

# option -> words it takes, for launchers without a parser rmlint can read (man pages of slurm and Open MPI)
SRUN = {"-N": 1, "-n": 1, "-c": 1, "-w": 1, "-p": 1, "-A": 1, "-t": 1, "-J": 1, "-o": 1, "-e": 1, "-G": 1,
        "-x": 1, "-D": 1, "-C": 1, "-q": 1, "--nodes": 1, "--ntasks": 1, "--ntasks-per-node": 1, "--gres": 1,
        "--gpus": 1, "--gpus-per-node": 1, "--cpus-per-task": 1, "--partition": 1, "--account": 1, "--time": 1,
        "--job-name": 1, "--output": 1, "--error": 1, "--nodelist": 1, "--exclude": 1, "--chdir": 1,
        "--container-image": 1, "--container-mounts": 1, "--container-workdir": 1, "--container-name": 1,
        "--mpi": 1, "--mem": 1, "--qos": 1, "--constraint": 1, "--export": 1, "--kill-on-bad-exit": 1,
        "--cpu-bind": 1, "--distribution": 1, "--jobid": 1}
MPIRUN = {"-np": 1, "-n": 1, "-N": 1, "-H": 1, "--host": 1, "-host": 1, "-hostfile": 1, "--hostfile": 1,
          "-machinefile": 1, "--machinefile": 1, "-x": 1, "--bind-to": 1, "-bind-to": 1, "--map-by": 1,
          "-map-by": 1, "-mca": 2, "--mca": 2, "-wdir": 1, "--wdir": 1, "-ppn": 1, "--npernode": 1,
          "-npernode": 1, "--rankfile": 1, "-genv": 2, "-env": 2, "-f": 1}
PYTHON = {"-m": 1, "-W": 1, "-X": 1, "-c": 1, "-Q": 1}
RAY = {"--address": 1, "--runtime-env": 1, "--runtime-env-json": 1, "--working-dir": 1, "--submission-id": 1,
       "--job-id": 1, "--entrypoint-num-cpus": 1, "--entrypoint-num-gpus": 1, "--entrypoint-memory": 1,
       "--entrypoint-resources": 1, "--metadata-json": 1, "--log-style": 1, "--log-color": 1, "--headers": 1,
       "--verify": 1}
# `uv run [OPTIONS] COMMAND`: options that take a value (uv's `uv run --help`; RunArgs in the uv-cli crate)
UV_RUN = {name: 1 for name in (
    "--extra", "--no-extra", "--group", "--no-group", "--only-group", "--env-file", "--with", "--with-editable",
    "--with-requirements", "--package", "--python", "-p", "--python-platform", "--max-recursion-depth", "--index",
    "--default-index", "--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--upgrade-package", "-P",
    "--reinstall-package", "--index-strategy", "--keyring-provider", "--resolution", "--prerelease",
    "--fork-strategy", "--exclude-newer", "--exclude-newer-package", "--link-mode", "--config-setting", "-C",
    "--config-settings-package", "--no-build-isolation-package", "--no-build-package", "--no-binary-package",
    "--refresh-package", "--allow-insecure-host", "--directory", "--project", "--config-file", "--cache-dir",
    "--color", "--python-preference")}
WRAPPERS = {"nohup": {}, "exec": {}, "time": {"-p": 0}, "command": {}, "builtin": {}, "setsid": {},
            "stdbuf": {"-i": 1, "-o": 1, "-e": 1}, "nice": {"-n": 1}, "sudo": {"-u": 1, "-g": 1},
            "numactl": {}, "taskset": {}, "xvfb-run": {}, "unbuffer": {}, "singularity": {}, "apptainer": {}}


@lru_cache(maxsize=1)
def _parsed_tables() -> dict:
    data = json.loads(DATA.read_text())
    data["torchrun"].update({"--use_env": 0, "--use-env": 0})   # torch.distributed.launch
    return data


def launcher_table(name: str) -> dict:
    if name in ("deepspeed", "torchrun", "accelerate"):
        return _parsed_tables()[name]
    return {"srun": SRUN, "mpirun": MPIRUN, "python": PYTHON, "ray": RAY}.get(name) or WRAPPERS.get(name, {})


def read_options(words: list, i: int, table: dict, options: dict, stop_at_unknown: bool = False,
                 last: tuple = ()) -> int:
    """Options from words[i] on, into `options`; returns the index of the first word after them.
    An option the table does not know takes no value (`--x=y` keeps its own); an option in `last`
    (python's -m and -c) ends them."""
    while i < len(words):
        word = words[i]
        if not word.known and word.opaque:
            options.setdefault("$", None)   # an unknown word where options are: any option may be set
            i += 1
            continue
        if not word.known and not word.text.startswith("-"):
            return i
        text = word.text
        if text == "--" or not text.startswith("-") or len(text) == 1:
            return i
        name, eq, inline = text.partition("=")
        if eq and name.startswith("--"):
            options[name] = inline if word.known else None
            i += 1
            continue
        takes = table.get(text)
        if takes is None and len(text) > 2 and text[1] != "-" and text[:2] in table:   # -N2, -np4
            options[text[:2]] = text[2:]
            i += 1
            continue
        if takes is None and stop_at_unknown:
            return i
        takes = takes or 0
        values = words[i + 1:i + 1 + takes]
        options[text] = " ".join(v.text for v in values) if values and all(v.known for v in values) else (
            None if takes else True)
        if not word.known:
            options[name] = None
        i += 1 + takes
        if text in last:
            return i
    return i

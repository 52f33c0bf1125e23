"""The machine a launch runs on: its world size from the launcher's own options, and, where the
launch leaves that to the machine, from the environment rmlint runs in (`rmlint run`, check-args,
the library): CUDA_VISIBLE_DEVICES, NVIDIA_VISIBLE_DEVICES, SLURM_*, `nvidia-smi -L`. Never imports torch.

Every count comes with where it came from, which findings quote.
"""

import contextlib
import contextvars
import os
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Gpus:
    """How many GPUs a launch gets, and what says so."""
    count: int = 0           # 0: not known
    source: str = ""         # "--num_gpus 8", "CUDA_VISIBLE_DEVICES=0,1,2", "nvidia-smi -L", ...
    default: bool = False    # `source` is the launcher's default, not written (torchrun's --nproc_per_node 1)


def _device_list(text: str) -> int | None:
    """How many devices a CUDA_VISIBLE_DEVICES-style list names (None: not a list, e.g. "all")."""
    text = text.strip()
    if text in ("", "-1", "none", "void", "NoDevFiles"):
        return 0
    items = [item.strip() for item in text.split(",")]
    if all(re.fullmatch(r"\d+|(GPU|MIG)-[0-9A-Za-z/-]+", item) for item in items):
        return len(items)
    return None


def _slurm_count(text: str) -> int | None:
    """SLURM_GPUS_ON_NODE=4, SLURM_GPUS_PER_NODE=a100:4 (or 4(x2))."""
    match = re.fullmatch(r"(?:[\w-]+:)?(\d+)(?:\(x\d+\))?", text.strip())
    return int(match.group(1)) if match else None


def _nvidia_smi() -> int | None:
    import shutil      # only for launches on this machine: subprocess and shutil cost ~6 ms of every cold start
    import subprocess
    program = shutil.which("nvidia-smi")
    if not program:
        return None
    try:
        out = subprocess.run([program, "-L"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def local_gpus(env=None, probe: bool = True) -> Gpus:
    """GPUs a process started here would see, and where that is known from."""
    env = os.environ if env is None else env
    for name in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"):
        if name in env:
            count = _device_list(env[name])
            if count is not None:
                return Gpus(count, f"{name}={env[name]}")
    for name in ("SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE"):
        if name in env and _slurm_count(env[name]) is not None:
            return Gpus(_slurm_count(env[name]), f"{name}={env[name]}")
    for name in ("SLURM_STEP_GPUS", "SLURM_JOB_GPUS"):
        if name in env and _device_list(env[name]):
            return Gpus(_device_list(env[name]), f"{name}={env[name]}")
    if probe:
        count = _nvidia_smi()
        if count is not None:
            return Gpus(count, "nvidia-smi -L")
    return Gpus()


def _option(words: list, *names) -> str | None:
    """The value of the last `--name value` / `--name=value` among plain words (None: not given)."""
    found = None
    for k, word in enumerate(words):
        for name in names:
            if word == name and k + 1 < len(words):
                found = words[k + 1]
            elif word.startswith(name + "="):
                found = word.split("=", 1)[1]
    return found


def _int(text) -> int | None:
    return int(text) if isinstance(text, str) and text.isdigit() else None


def _hosts(spec: str) -> dict | None:
    """DeepSpeed's --include/--exclude "host1:0,1@host2:2" -> {host: [slots] or None for all}."""
    hosts = {}
    for part in spec.split("@"):
        host, _, slots = part.partition(":")
        if not host:
            return None
        hosts[host] = [s for s in slots.split(",") if s] if slots else None
    return hosts


def _hostfile(path: str) -> dict | None:
    """A DeepSpeed hostfile (`worker-1 slots=4` per line) -> {host: slots}; None when unreadable."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > 1_000_000:
            return None
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    hosts = {}
    for line in text.splitlines():
        match = re.match(r"\s*([^\s#]+)\s+slots\s*=\s*(\d+)", line)
        if match:
            hosts[match.group(1)] = int(match.group(2))
    return hosts or None


def deepspeed_world(words: list, local: Gpus) -> Gpus:
    """The `deepspeed` launcher (deepspeed/launcher/runner.py): a hostfile's slots, narrowed by
    --include/--exclude, --num_nodes and --num_gpus; with neither, the local GPUs."""
    num_gpus = _int(_option(words, "--num_gpus", "--num-gpus"))
    num_nodes = _int(_option(words, "--num_nodes", "--num-nodes"))
    include, exclude = _option(words, "--include", "-i"), _option(words, "--exclude", "-e")
    hostfile = _option(words, "--hostfile", "-H")
    if include:
        hosts = _hosts(include)
        if hosts and all(slots is not None for slots in hosts.values()):
            return Gpus(sum(len(s) for s in hosts.values()), f"--include {include}")
        return Gpus()
    pool = _hostfile(hostfile) if hostfile else None
    if hostfile and pool is None:
        return Gpus()          # a hostfile rmlint cannot read here
    if pool is None:
        if local.count == 0 and num_gpus is None:
            return Gpus()
        pool, base = {"localhost": local.count}, local.source
    else:
        base = f"--hostfile {hostfile}"
    if exclude:
        hosts = _hosts(exclude) or {}
        for host, slots in hosts.items():
            if host in pool:
                pool[host] = 0 if slots is None else max(pool[host] - len(slots), 0)
        base += f", --exclude {exclude}"
    counts = [n for n in pool.values() if n > 0]
    if num_nodes is not None:
        counts = counts[:num_nodes] if len(counts) >= num_nodes else counts + [counts[-1] if counts else 0] * (
            num_nodes - len(counts))
    if num_gpus is not None:
        counts = [num_gpus for _ in counts] or [num_gpus]
        flags = f"--num_gpus {num_gpus}" + (f" x --num_nodes {num_nodes}" if num_nodes else "")
        return Gpus(sum(counts), flags if hostfile is None else f"{flags} ({base})")
    total = sum(counts)
    source = base + (f", --num_nodes {num_nodes}" if num_nodes else "")
    return Gpus(total, source) if total else Gpus()


def torchrun_world(words: list, local: Gpus) -> Gpus:
    per_node = _option(words, "--nproc_per_node", "--nproc-per-node")
    nnodes = _option(words, "--nnodes") or "1"
    nodes = _int(nnodes)
    if nodes is None:
        low, _, high = nnodes.partition(":")
        nodes = _int(low) if low == high or not high else None     # an elastic range: not one size
    if nodes is None:
        return Gpus()
    if per_node is None:
        per, source = 1, "--nproc_per_node 1"
    elif _int(per_node) is not None:
        per, source = _int(per_node), f"--nproc_per_node {per_node}"
    elif per_node in ("gpu", "auto") and local.count:
        per, source = local.count, f"--nproc_per_node {per_node} ({local.source})"
    else:
        return Gpus()
    return Gpus(per * nodes, source + (f" x --nnodes {nodes}" if nodes != 1 else ""), default=per_node is None)


def accelerate_world(words: list, local: Gpus) -> Gpus:
    total = _int(_option(words, "--num_processes", "--num-processes"))
    return Gpus(total, f"--num_processes {total}") if total else Gpus()


def world_size(launcher: str, words: list, local: Gpus | None = None) -> Gpus:
    """The world size of a launch from its launcher's words (the words before the training module or
    script, as plain strings), with `local` standing for the GPUs of the machine when the launch
    leaves the count to it."""
    local = local or Gpus()
    if launcher == "deepspeed":
        return deepspeed_world(words, local)
    if launcher == "torchrun":
        return torchrun_world(words, local)
    if launcher == "accelerate":
        return accelerate_world(words, local)
    return Gpus()


_LOCAL = contextvars.ContextVar("rmlint_local_gpus", default=None)


def current() -> Gpus:
    """The local GPUs when rmlint runs where the launch will (None outside that: a file being checked)."""
    return _LOCAL.get() or Gpus()


@contextlib.contextmanager
def on_this_machine(gpus: Gpus | None = None):
    token = _LOCAL.set(gpus if gpus is not None else local_gpus())
    try:
        yield
    finally:
        _LOCAL.reset(token)


WORLD_OPTIONS = {"--num_gpus", "--num-gpus", "--num_nodes", "--num-nodes", "--include", "-i", "--exclude", "-e",
                 "--hostfile", "-H", "--nproc_per_node", "--nproc-per-node", "--nnodes", "--num_processes",
                 "--num-processes"}


def launch_world(launch) -> "Gpus":
    """The Gpus a recognised launch (sources/commands.py) starts, from its launcher's own options (and the
    machine, when the launch leaves the count to it and runs here); unknown when an option that sets it is
    a word rmlint cannot read."""
    names = [name for name, _ in launch.stack]
    launcher = next((name for name in ("deepspeed", "torchrun", "accelerate") if name in names), "")
    if not launcher:
        return Gpus()
    words = launch.launcher_words()
    if any(option in WORLD_OPTIONS and value is None for _, options in launch.stack for option, value in options.items()):
        return Gpus()
    return world_size(launcher, [w.text for w in words], current())

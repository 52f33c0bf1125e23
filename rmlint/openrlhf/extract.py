"""Find OpenRLHF invocations in shell commands: `deepspeed --module openrlhf.cli.train_rm ...`,
`python -m ...`, `torchrun ... -m ...`, `ray job submit ... -- python3 -m ...`, and script paths
such as `openrlhf/cli/train_rm.py`; read the launcher's own flags for the number of GPUs."""

import re

from ..finding import Location
from .argv import Arg
from .flags import table
from .launch import Invocation

_ENTRY = re.compile(r"(?:^|[/.])openrlhf[./]cli[./]([a-z_]+?)(?:\.py)?$")


def _entry(words: list, k: int) -> str | None:
    word = words[k]
    if not word.known:
        return None
    match = _ENTRY.search(word.text)
    if not match or match.group(1) not in table().entrypoints:
        return None
    module_form = k > 0 and words[k - 1].text in ("-m", "--module")
    first_word = k == 0  # an argv that starts at the entrypoint, as a launcher may hand it over
    return match.group(1) if module_form or first_word or word.text.endswith(".py") else None


def _option(words: list, *names) -> str | None:
    for k, word in enumerate(words):
        for name in names:
            if word.text == name and k + 1 < len(words) and words[k + 1].known:
                return words[k + 1].text
            if word.text.startswith(name + "="):
                return word.text.split("=", 1)[1]
    return None


def _int(text) -> int:
    return int(text) if text and text.isdigit() else 0


def launcher_of(words: list) -> tuple:
    """(launcher name, world size or 0) from the words before the entrypoint."""
    names = [w.text.rsplit("/", 1)[-1] for w in words]
    if "deepspeed" in names:
        gpus = _int(_option(words, "--num_gpus", "--num-gpus"))
        include = _option(words, "--include", "-i")
        if include and ":" in include and "@" not in include:
            gpus = len(include.split(":", 1)[1].split(","))
        nodes = _option(words, "--num_nodes", "--num-nodes")
        hostfile = _option(words, "--hostfile", "-H")
        nodes_count = _int(nodes) if nodes else (0 if hostfile else 1)
        return "deepspeed", gpus * nodes_count
    if "torchrun" in names or "torch.distributed.run" in names or "torch.distributed.launch" in names:
        per_node = _int(_option(words, "--nproc_per_node", "--nproc-per-node"))
        nnodes = _option(words, "--nnodes")
        return "torchrun", per_node * (_int(nnodes) if nnodes else 1)
    if "ray" in names:
        return "ray", 0
    return ("python" if any(n.startswith("python") for n in names) else (names[0] if names else "")), 0


def invocations(commands: list, path: str, position) -> list:
    """`position(offset) -> (line, column)` maps word offsets to places in the file."""
    found = []
    for command in commands:
        words = command.words
        for k in range(len(words)):
            entrypoint = _entry(words, k)
            if entrypoint is None:
                continue
            launcher, world = launcher_of(words[:k])
            args = [Arg(w.text, Location(path, *position(w.offset)), w.known, w.opaque) for w in words[k + 1:]]
            found.append(Invocation(entrypoint, args, Location(path, *position(words[k].offset)), launcher, world))
            break
    return found

"""Find OpenRLHF invocations in shell commands: `deepspeed --module openrlhf.cli.train_rm ...`,
`python -m ...`, `torchrun ... -m ...`, `ray job submit ... -- python3 -m ...`, and script paths
such as `openrlhf/cli/train_rm.py`; read the launcher's own flags for the number of GPUs."""

import re

from ..finding import Location
from ..machine import Gpus, current, world_size
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


WORLD_OPTIONS = {"--num_gpus", "--num-gpus", "--num_nodes", "--num-nodes", "--include", "-i", "--exclude", "-e",
                 "--hostfile", "-H", "--nproc_per_node", "--nproc-per-node", "--nnodes", "--num_processes",
                 "--num-processes"}


def launcher_of(words: list) -> tuple:
    """(launcher name, machine.Gpus) from the words before the entrypoint."""
    names = [w.text.rsplit("/", 1)[-1] for w in words]
    if "deepspeed" in names:
        launcher = "deepspeed"
    elif "torchrun" in names or "torch.distributed.run" in names or "torch.distributed.launch" in names:
        launcher = "torchrun"
    elif "accelerate" in names:
        launcher = "accelerate"
    elif "ray" in names:
        return "ray", Gpus()
    else:
        return ("python" if any(n.startswith("python") for n in names) else (names[0] if names else "")), Gpus()
    texts = [w.text for w in words]
    unknown = any(not w.known and k and texts[k - 1] in WORLD_OPTIONS for k, w in enumerate(words)) or any(
        not w.known and w.text.split("=", 1)[0] in WORLD_OPTIONS for w in words)
    return launcher, (Gpus() if unknown else world_size(launcher, texts, current()))


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
            found.append(Invocation(entrypoint, args, Location(path, *position(words[k].offset)), launcher,
                                    world.count, world.source))
            break
    return found

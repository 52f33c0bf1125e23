"""Which framework a recognised launch runs, on evidence only: the framework's own module or CLI,
its own script paths, or the script's source on disk importing it (read with `ast`, never run).
A file name that many projects reuse (`train.py`, `main.py`, `reward_modeling.py`) is no evidence,
and a launch whose framework is not known gets no framework's rules: it is listed as not understood.
"""

import ast
import os
import re
from functools import lru_cache
from ..problems import reason

OPENRLHF_MODULE = re.compile(r"openrlhf\.cli\.([A-Za-z_]+)$")
OPENRLHF_PATH = re.compile(r"(?:^|/)openrlhf/cli/([A-Za-z_]+)\.py$")
# the examples/train_*.py era (v0.1.0 - v0.3.5): the scripts' names, with --pretrain in the arguments
OPENRLHF_EXAMPLES = {"train_rm", "train_sft", "train_ppo", "train_ppo_ray", "train_dpo", "train_kto", "train_kd",
                     "train_pt", "train_prm", "batch_inference", "interactive_chat", "train_knowledge_distillation"}
TRL_PATH = re.compile(r"(?:^|/)(?:examples/scripts|trl/scripts)/(?:[A-Za-z0-9_]+/)*([A-Za-z0-9_]+)\.py$")
TRL_MODULE = re.compile(r"trl\.scripts\.([A-Za-z_]+)$")
LLAMAFACTORY_PATH = re.compile(r"(?:^|/)src/(train_bash|train|train_web|cli_demo|api_demo|web_demo|export_model|evaluate)\.py$")
AXOLOTL_MODULE = re.compile(r"axolotl\.cli\.([A-Za-z_]+)$")
AXOLOTL_PATH = re.compile(r"(?:^|/)scripts/finetune\.py$")
PACKAGES = {"openrlhf": "openrlhf", "trl": "trl", "llmtuner": "llamafactory", "llamafactory": "llamafactory",
            "axolotl": "axolotl"}
MAX_SOURCE = 2_000_000
# Tools a launch script runs besides training, which rmlint has no rules for: understood as what they are.
# module -> (framework, entrypoint, releases that have it, written as OpenRLHF spans are): ds_to_universal.py
# is in the deepspeed 0.11.2 sdist and not in 0.11.1's (OpenRLHF's
# examples/scripts/ckpt_ds_zero_to_universal.sh runs it).
TOOLS = {"deepspeed.checkpoint.ds_to_universal": ("deepspeed", "ds_to_universal", ">= 0.11.2")}


def decide(launch, where, entrypoints) -> None:
    """Set launch.framework, .entrypoint, .understood and .reason. `entrypoints(framework)` -> the
    entrypoints its flag tables know, or None when any goes (passed down by the framework readers'
    layer: the tables belong to them, not to the recogniser)."""
    if launch.framework:          # a framework's own CLI
        return _cli(launch, entrypoints)
    if launch.reason:             # the program could not be read
        return
    program = launch.program
    if launch.kind == "module" and program in TOOLS:
        launch.framework, launch.entrypoint, launch.releases = TOOLS[program]
        launch.understood = True      # no rule reads its arguments, so none can hide a problem
        return
    if launch.kind == "module":
        found = _by_module(program)
    elif launch.kind == "script":
        found = _by_path(program, launch.args)
        if found is None:
            found = _by_source(program, where(launch))
    elif not program:           # `srun $EMPTY`: the words after the launcher's options expand to nothing
        launch.reason = reason("no-program", launcher=launch.launcher)
        return
    else:
        launch.reason = reason("unknown-program", program=program)
        return
    if found is None:
        what = "module" if launch.kind == "module" else "script"
        launch.reason = reason("unknown-source", what=what, program=program)
        return
    launch.framework, launch.entrypoint = found
    _readable(launch, entrypoints)


def _by_module(module: str):
    for pattern, framework in ((OPENRLHF_MODULE, "openrlhf"), (TRL_MODULE, "trl"), (AXOLOTL_MODULE, "axolotl")):
        match = pattern.match(module)
        if match:
            return framework, match.group(1)
    if module.startswith(("llamafactory", "llmtuner")):
        return "llamafactory", "train"
    return None


def _by_path(path: str, args: list):
    clean = path.replace("\\", "/")
    match = OPENRLHF_PATH.search(clean)
    if match:
        return "openrlhf", match.group(1)
    stem = os.path.basename(clean)[:-3] if clean.endswith(".py") else ""
    if stem in OPENRLHF_EXAMPLES and any(w.known and w.text.split("=", 1)[0] == "--pretrain" for w in args):
        return "openrlhf", stem
    match = TRL_PATH.search(clean)
    if match:
        return "trl", match.group(1)
    match = LLAMAFACTORY_PATH.search(clean)
    if match and (match.group(1) != "train" or _has_flag(args, "--stage") or _yaml_first(args)):
        return "llamafactory", "train"
    if AXOLOTL_PATH.search(clean):
        return "axolotl", "train"
    return None


def _yaml_first(args: list) -> bool:
    """LLaMA-Factory >= 0.7 reads its arguments from a YAML given as the only argument (`src/train.py x.yaml`)."""
    return len(args) == 1 and args[0].known and args[0].text.endswith((".yaml", ".yml"))


def _has_flag(args: list, flag: str) -> bool:
    return any(w.known and w.text.split("=", 1)[0] == flag for w in args)


def _by_source(path: str, folders: list):
    """The script's source beside the launch (from where it runs, or the script's folder) importing a
    framework; a source importing none of them, or several, is no evidence."""
    for folder in folders:
        candidate = path if os.path.isabs(path) else os.path.join(folder, path)
        if os.path.isfile(candidate):
            frameworks = {PACKAGES[name] for name in imports(os.path.realpath(candidate)) if name in PACKAGES}
            if len(frameworks) == 1:
                framework = frameworks.pop()
                stem = os.path.basename(path)[:-3]
                return framework, stem if framework in ("openrlhf", "trl") else "train"
            return None
    return None


@lru_cache(maxsize=64)
def imports(path: str) -> frozenset:
    """Top-level packages a Python file imports, read with ast (never run); empty when unreadable."""
    from .files import read_input
    try:   # the safe open: a script path that is a FIFO must not block the launch check
        tree = ast.parse(read_input(path, MAX_SOURCE))
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return frozenset(names)


def _cli(launch, entrypoints) -> None:
    sub = launch.entrypoint
    known = {"llamafactory": {"train", "export", "chat", "eval", "webchat", "webui", "api"},
             "trl": {"sft", "dpo", "reward", "grpo", "rloo", "kto", "env", "vllm-serve"},
             "axolotl": {"train", "preprocess", "inference", "merge-lora", "merge-sharded-fsdp-weights", "evaluate",
                         "quantize", "fetch", "lm-eval", "delinearize-llama4"}}[launch.framework]
    if sub not in known:
        launch.reason = reason("unknown-command", program=launch.program, cli=launch.program.split()[0])
        return
    _readable(launch, entrypoints)


def _readable(launch, entrypoints) -> None:
    """Readable: the framework's reader can take the launch (what it cannot see stays unknown there);
    understood: besides, no unknown word stands where flags may be."""
    known = entrypoints(launch.framework)
    if known is not None and launch.entrypoint not in known:
        launch.reason = reason("unknown-entrypoint", framework=launch.framework, entrypoint=launch.entrypoint)
        return
    if launch.framework == "trl" and launch.kind == "cli" and launch.entrypoint not in ("sft", "dpo", "reward",
                                                                                          "grpo", "rloo", "kto"):
        launch.reason = reason("trains-nothing", program=launch.program)
        return
    launch.readable = True
    loose = next((w for k, w in enumerate(launch.args) if w.opaque and not _after_flag(launch.args, k)), None)
    if loose is not None:
        launch.reason = reason("opaque-argument")
        return
    launch.understood, launch.reason = True, {}


def _after_flag(args: list, k: int) -> bool:
    """An unknown word right after `--flag` is most likely that flag's value."""
    before = args[k - 1] if k else None
    return bool(before is not None and before.known and before.text.startswith("-") and "=" not in before.text)

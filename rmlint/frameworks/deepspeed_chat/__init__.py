"""DeepSpeed-Chat (DeepSpeedExamples/applications/DeepSpeed-Chat): `deepspeed main.py --flags` run from
training/step1_supervised_finetuning, step2_reward_model_finetuning, step2_dpo_finetuning or
step3_rlhf_finetuning. A `main.py` is DeepSpeed-Chat's only on evidence: its path or the launch script's
path names a step folder, or its source on disk is a step's (read with ast-free markers below)."""

import os

STEP_FOLDERS = {"step1_supervised_finetuning": "sft", "step2_reward_model_finetuning": "rm",
                "step2_dpo_finetuning": "dpo", "step3_rlhf_finetuning": "ppo"}
MARKERS = (("ppo", "DeepSpeedRLHFEngine"), ("rm", "create_critic_model"), ("dpo", "get_batch_logps"),
           ("sft", "create_hf_model"))
LAUNCHERS = ("deepspeed", "python", "python3", "torchrun", "accelerate")


def _step_of_path(path: str) -> str:
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    return next((STEP_FOLDERS[p] for p in reversed(parts) if p in STEP_FOLDERS), "")


def _main_py(word: str, script: str) -> str | None:
    """main.py as the launch runs it: from the current folder, beside the script, or in a folder above the
    script (DeepSpeed-Chat's scripts sit in training_scripts/<model>/ under the step folder)."""
    from ..trainer.common import find_file
    return find_file(word, script, walk_up=True)


def _step_of_source(path: str | None) -> str:
    if not path:
        return ""
    from ...finding import SourceError
    from ...sources.text import read_text
    try:
        text = read_text(path)
    except SourceError:
        return ""
    if "deepspeed" not in text or "dschat" not in text and "utils.model" not in text:
        return ""
    return next((step for step, marker in MARKERS if marker in text), "")


def launches(commands: list, path: str, position) -> tuple:
    """(subjects, findings, claimed command indexes) of the DeepSpeed-Chat launches among a script's commands."""
    from ...finding import Location
    from ..openrlhf.argv import Arg
    from ...sources.machine import launch_world
    from ...sources.commands import recognise
    result, findings, claimed = [], [], set()
    for index, command in enumerate(commands):
        words = command.words
        if not words or not words[0].known or os.path.basename(words[0].text) not in LAUNCHERS:
            continue
        k = next((i for i, w in enumerate(words) if w.known and os.path.basename(w.text) == "main.py"), None)
        if k is None:
            continue
        main_py = _main_py(words[k].text, path)
        step = _step_of_path(words[k].text) if "/" in words[k].text else ""
        step = step or _step_of_path(path) or _step_of_source(main_py)
        if not step:
            continue
        world = launch_world(recognise(command)).count     # the launcher's own options (sources/commands.py)
        here = lambda offset: Location(path, *position(offset))   # noqa: E731
        args = [Arg(w.text, here(w.offset), w.known, w.opaque) for w in words[k + 1:]]
        from .launch import subjects     # only for a DeepSpeed-Chat launch: it costs every other script's cold start
        more, problems = subjects(step, args, here(words[k].offset), world, main_py)
        result += more
        findings += problems
        claimed.add(index)
    return result, findings, claimed

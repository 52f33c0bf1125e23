"""verl: Hydra launches of its trainers (`python3 -m verl.trainer.main_ppo key=value ...`, under torchrun or
`ray job submit ... --`), and scripts of one's own that run a `@hydra.main` over verl's configs."""

import ast
import os
import re

_MODULE = re.compile(r"^verl\.trainer\.([a-z_]+)$")
_PATH = re.compile(r"(?:^|/)verl/trainer/([a-z_]+)\.py$")


def entry(words: list, k: int) -> str | None:
    """The verl entrypoint word `k` names (`-m verl.trainer.main_ppo`, `.../verl/trainer/main_ppo.py`)."""
    word = words[k]
    if not word.known:
        return None
    match = _MODULE.match(word.text) if k > 0 and words[k - 1].text in ("-m", "--module") else _PATH.search(word.text)
    if not match:
        return None
    from .launch import ENTRYPOINTS     # only once a word looks like verl's: it costs every other script's cold start
    return match.group(1) if match.group(1) in ENTRYPOINTS else None


def hydra_script(name: str, script: str) -> tuple | None:
    """(config folder, config name) of a Python script on disk (beside the launch script or from here)
    that imports verl and runs `@hydra.main(config_path=..., config_name=...)`."""
    from ...finding import SourceError
    from ...sources.text import read_text
    from ..trainer.common import find_file
    path = find_file(name, script, walk_up=False)
    if path is None:
        return None
    try:
        tree = ast.parse(read_text(path))
    except (SourceError, SyntaxError, ValueError, RecursionError):
        return None
    imports_verl = any(isinstance(n, (ast.Import, ast.ImportFrom)) and any(
        (a.name if isinstance(n, ast.Import) else n.module or "").split(".")[0] == "verl" for a in n.names)
        for n in ast.walk(tree))
    for node in ast.walk(tree):
        if imports_verl and isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "main":
            options = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
            if "config_name" in options:
                return os.path.join(os.path.dirname(path), options.get("config_path") or "."), options["config_name"]
    return None


def launches(commands: list, path: str, position) -> tuple:
    """(subjects, findings, claimed command indexes) of the verl launches in a script's commands."""
    from ...finding import Location
    from ..openrlhf.argv import Arg
    result, findings, claimed = [], [], set()
    here = lambda offset: Location(path, *position(offset))   # noqa: E731
    for index, command in enumerate(commands):
        words = command.words
        for k in range(len(words)):
            name, options = entry(words, k), []
            if name is None and words[k].known and words[k].text.endswith(".py") and k > 0 \
                    and os.path.basename(words[k - 1].text).startswith("python"):
                found = hydra_script(words[k].text, path)
                if found is None:
                    break
                name = "script"
                options = [Arg("--config-path", here(words[k].offset)), Arg(found[0], here(words[k].offset)),
                           Arg("--config-name", here(words[k].offset)), Arg(found[1], here(words[k].offset))]
            if name is None:
                continue
            args = options + [Arg(w.text, here(w.offset), w.known, w.opaque) for w in words[k + 1:]]
            from .launch import subjects
            more, problems = subjects(name, args, path, here(words[k].offset))
            result += more
            findings += problems
            claimed.add(index)
            break
    return result, findings, claimed

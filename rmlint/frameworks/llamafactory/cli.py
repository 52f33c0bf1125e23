"""LLaMA-Factory command lines, read as LLaMA-Factory reads them:

- `llamafactory-cli train --stage rm --model_name_or_path m ...` (HfArgumentParser flags),
- `llamafactory-cli train x.yaml key=value ...` (the YAML, then OmegaConf overrides, from 0.9.3),
- `python src/train_bash.py --flags` (up to 0.7.0), `python src/train.py --flags` or `src/train.py x.yaml`
  (from 0.7.1), also under `accelerate launch`, `deepspeed`, `torchrun`.

The command recogniser (sources/commands.py, frameworks.py) finds them; here their settings become the
same `trainer` subject a LLaMA-Factory YAML gives, with the launch forms that tell its releases."""

from ...finding import Location
from ..trainer.common import TrainerSettings
from . import PROVENANCE

PROGRAMS = ("llamafactory-cli", "lmf")


def _flags(words: list, here) -> tuple:
    """HfArgumentParser's reading: `--key value`, `--key=value`, a bare `--flag` is True."""
    values, where, opaque = {}, {}, False
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word.opaque or not word.known:
            opaque = True
            continue
        if not word.text.startswith("--"):
            continue
        name, eq, value = word.text[2:].partition("=")
        if not eq:
            nxt = words[i] if i < len(words) else None
            if nxt is not None and not (nxt.known and nxt.text.startswith("--")):
                value, i = (nxt.text if nxt.known and not nxt.opaque else None), i + 1
                opaque = opaque or value is None
            else:
                value = True
        values[name], where[name] = value, here(word.offset)
    return values, where, opaque


def form_of(program: str) -> str:
    """The launch form of a program the command recogniser found (`llamafactory-cli train`, a path)."""
    if program.split()[0] in PROGRAMS:
        return "llamafactory-cli"
    return "src/train_bash.py" if program.endswith("train_bash.py") else "src/train.py"


def read_args(args: list, form: str, path: str, here, anchor: Location) -> tuple:
    """(subjects, findings) of one launch: its arguments (shell words) run as `form`."""
    from . import settings_subjects
    forms = [form]
    values, where, settings_files = {}, {}, []
    if args and args[0].known and args[0].text.endswith((".yaml", ".yml", ".json")):
        document, findings = _config(args[0].text, path, here(args[0].offset))
        if document is None and not findings:
            from ...problems import finding as problem
            return [], [problem("launch-file-missing", anchor, name=args[0].text)]
        if document is not None and isinstance(document.data, dict):
            values.update(document.data)
            where.update({key: document.locate((key,)) for key in document.data})
            settings_files.append(document.path)
        overrides = [w for w in args[1:] if w.known and "=" in w.text and not w.text.startswith("-")]
        for word in overrides:
            key, _, value = word.text.partition("=")
            values[key], where[key] = value, here(word.offset)
        if overrides:
            forms.append("overrides")
        opaque = any(w.opaque or not w.known for w in args[1:])
    else:
        findings = []
        values, where, opaque = _flags(args, here)
    found, trouble = settings_subjects(TrainerSettings(values, where, anchor), tuple(forms))
    for subject in found:
        subject.settings_files = settings_files
        if opaque and subject.kind == "trainer":   # a word rmlint cannot read may set any key
            given = {key for key, value in values.items() if value is not None}
            subject.unknown |= {f"trainer.{fact}" for fact, key in PROVENANCE.items() if key not in given}
            subject.unknown.add("trainer.batch")
    return found, findings + trouble


def _config(name: str, script: str, at: Location) -> tuple:
    from ...finding import SourceError
    from ...problems import unreadable
    from ...sources.document import load_json, load_yaml
    from ...sources.text import read_text
    from ..trainer.common import find_file
    found = find_file(name, script, walk_up=False)
    if found is None:
        return None, []
    try:
        text = read_text(found)
        return (load_json if found.endswith(".json") else load_yaml)(text, found), []
    except SourceError as err:
        return None, [unreadable(err)]

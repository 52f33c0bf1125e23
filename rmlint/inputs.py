"""Recognise what a file is and turn it into subjects (or an `unreadable` problem when it cannot be read)."""

import os
import re
from functools import lru_cache

from .finding import Location, SourceError
from .problems import finding as problem, unreadable
from .sources.document import Document, _LineIndex, load_json, load_yaml
from .sources.text import decode, read_raw, read_text

SHELL_SUFFIXES = (".sh", ".bash", ".zsh", ".slurm", ".sbatch")
DATA_SUFFIXES = (".json", ".yaml", ".yml")
DEEPSPEED_KEYS = {"zero_optimization", "train_micro_batch_size_per_gpu", "train_batch_size",
                  "gradient_accumulation_steps", "fp16", "bf16", "bfloat16", "zero_allow_untested_optimizer",
                  "gradient_clipping", "steps_per_print", "wall_clock_breakdown"}


def is_deepspeed_config(data) -> bool:
    """A DeepSpeed config, not a trainer YAML that shares a few of its key names (axolotl and
    LLaMA-Factory write `bf16`, `gradient_accumulation_steps`, `deepspeed: <path>` next to dozens
    of their own keys): a ZeRO block or a per-GPU micro batch says DeepSpeed; otherwise most
    top-level keys must be DeepSpeed's."""
    if not isinstance(data, dict) or not data or "entrypoint" in data or not DEEPSPEED_KEYS & set(map(str, data)):
        return False
    if isinstance(data.get("zero_optimization"), dict) or "train_micro_batch_size_per_gpu" in data:
        return True
    from .frameworks.deepspeed.schema import schema
    known = schema().top_level
    return sum(1 for key in data if key in known) * 2 >= len(data)


def kind_of(path: str, text: str) -> str:
    lower = path.lower()
    if lower.endswith(SHELL_SUFFIXES):
        return "shell"
    if lower.endswith(".json"):
        return "json"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    head = text.lstrip()[:200]
    if head.startswith("#!") or re.search(r"^\s*(deepspeed|torchrun|python3?|ray)\s", text, re.M):
        return "shell"
    if head.startswith(("{", "[")):
        return "json"
    return "yaml"


def subjects_of_text(path: str, text: str, explicit: bool = True, texts: dict | None = None,
                     forced: str | None = None, skip_unread: bool = False, launches: list | None = None) -> tuple | None:
    """(subjects, findings) for one file's text; shell and YAML texts are kept in `texts` for
    inline suppressions, and a script's launches are recorded in `launches`. `forced` (--kind) skips
    recognition. With `skip_unread`, a data file that is no config rmlint reads (or does not parse and
    names none of their keys) gives None."""
    kind = "shell" if forced == "shell" else kind_of(path, text) if not forced or kind_of(path, text) != "shell" \
        else ("json" if text.lstrip().startswith("{") else "yaml")
    if texts is not None and kind in ("shell", "yaml"):
        texts[path] = text
    try:
        if kind == "shell":
            return _shell_subjects(path, text, launches)
        document = load_json(text, path) if kind == "json" else load_yaml(text, path)
    except SourceError as err:   # a template's placeholders (FP16_ENABLE) are filled by a script before launch
        if skip_unread and not forced and (not names_config_keys(text[:PEEK]) or _TEMPLATE.search(path)):
            return None
        return [], [unreadable(err)]
    found = _document_subjects(document, explicit and not skip_unread, forced)
    return None if skip_unread and not forced and found == ([], []) and not _recognised(document.data) else found


def _recognised(data) -> bool:
    return any(recognise(data) for name, (recognise, _) in _readers().items() if name != "openrlhf")


# Files no framework rmlint reads takes its settings from, though they are JSON or YAML; never opened.
NOT_CONFIGS = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
               "vocab.json", "generation_config.json", "preprocessor_config.json", "trainer_state.json",
               "model.safetensors.index.json", "pytorch_model.bin.index.json", "dataset_info.json",
               "package.json", "package-lock.json", "tsconfig.json", "composer.json", ".pre-commit-config.yaml",
               ".pre-commit-hooks.yaml", "mkdocs.yml", "mkdocs.yaml", "environment.yml", "environment.yaml",
               "docker-compose.yml", "docker-compose.yaml", "codecov.yml", ".readthedocs.yaml", ".readthedocs.yml"}
PEEK = 65536
# top-level keys of the configs rmlint reads: a file that does not parse is reported (unreadable) only when
# it names one of them, so a broken dataset or template is skipped and a broken DeepSpeed config is not
_CONFIG_KEYS = re.compile(
    r"""(?:^|[{,])\s*["']?(zero_optimization|train_micro_batch_size_per_gpu|train_batch_size|"""
    r"""gradient_accumulation_steps|fp16|bf16|bfloat16|entrypoint|deepspeed|deepspeed_config|distributed_type|"""
    r"""compute_environment|base_model|model_name_or_path|finetuning_type|stage|pretrain|zero_stage|"""
    r"""per_device_train_batch_size|load_in_4bit|lora_r|lora_rank|peft_type|target_modules)["']?\s*:""", re.M)


_TEMPLATE = re.compile(r"(?:^|[._-])template(?:[._-][^/]*)?$", re.I)   # ds_config_TEMPLATE.json, x.template.yaml


def names_config_keys(head: str) -> bool:
    return bool(_CONFIG_KEYS.search(head))


def read_file(path: str, explicit: bool = True, texts: dict | None = None, forced: str | None = None,
              within: str | None = None, launches: list | None = None) -> tuple | None:
    """(subjects, findings) of a file a run was given or found, or None when it is no file rmlint reads
    (skipped silently and counted, whatever its size): size and parse limits apply only to files
    that name a config's keys, or that --kind forces. A FIFO, device or socket is not read; (found in
    the folder `within`) a symlink to outside it is not followed (a note); neither is opened."""
    from .sources.files import file_kind, inside, refusal
    if refusal(path, within):   # no line: nothing of it is shown
        where = Location(path, 0, 0)
        if within is not None and not inside(path, within):
            return [], [problem("symlink-outside", where, target=os.path.realpath(path), folder=within)]
        return [], [problem("not-a-regular-file", where, file_kind=file_kind(path))]
    if forced:
        return subjects_of_file(path, texts=texts, forced=forced, launches=launches)
    name = os.path.basename(path).lower()
    if name in NOT_CONFIGS:
        return None
    if not name.endswith(SHELL_SUFFIXES + DATA_SUFFIXES):     # read when given by name and it looks like one
        if explicit and _looks_like_script(path):
            return subjects_of_file(path, texts=texts, within=within, launches=launches)
        if not explicit or not _head_names_keys(path):
            return None
    if not name.endswith(SHELL_SUFFIXES):
        data = None
        try:
            if os.path.getsize(path) > PEEK and not _head_names_keys(path):
                return None
            data = read_raw(path, within)   # a file that cannot be read is an error (root too: EACCES, EIO)
            text = decode(data, path)
        except SourceError as err:
            if data is not None and not _head_names_keys(path):   # readable garbage is not ours
                return None
            return [], [unreadable(err)]
        except OSError:
            return subjects_of_file(path, texts=texts, within=within, launches=launches)
        return subjects_of_text(path, text, texts=texts, skip_unread=True, launches=launches)
    return subjects_of_file(path, texts=texts, within=within, launches=launches)


def _head(path: str) -> str:
    from .sources.files import open_input
    from .sources.text import peek_text
    try:
        with open_input(path) as (handle, _):
            return peek_text(handle.read(PEEK))
    except OSError:
        return ""


def _head_names_keys(path: str) -> bool:
    return names_config_keys(_head(path))


def _looks_like_script(path: str) -> bool:
    """An extensionless file given by name: read when it is a shell script."""
    head = _head(path)[:4096]
    return "\x00" not in head and (head.startswith("#!") and ("sh" in head.split("\n", 1)[0]) or
                                   bool(re.search(r"^\s*(deepspeed|torchrun|python3?|ray|accelerate)\s", head, re.M)))


def subjects_of_file(path: str, explicit: bool = True, texts: dict | None = None, forced: str | None = None,
                     within: str | None = None, launches: list | None = None) -> tuple:
    """`within`: the folder being walked; a symlink to outside it is not read."""
    try:
        text = read_text(path, within)
    except SourceError as err:
        return [], [unreadable(err)]
    return subjects_of_text(path, text, explicit, texts, forced, launches=launches)


def subjects_of_bytes(path: str, data: bytes, texts: dict | None = None, forced: str | None = None,
                      launches: list | None = None) -> tuple:
    from .sources.text import MAX_BYTES
    if len(data) > MAX_BYTES:
        return [], [problem("stdin-too-big", Location(path), limit_mb=MAX_BYTES // (1024 * 1024))]
    try:
        text = decode(data, path)
    except SourceError as err:
        return [], [unreadable(err)]
    return subjects_of_text(path, text, texts=texts, forced=forced, launches=launches)


def _shell_subjects(path: str, text: str, launches: list | None = None) -> tuple:
    from .sources import shell
    from .versions import current, target
    with target(current().with_script(text, path)):
        return _script_subjects(path, text, shell.parse(text, path), launches)


def _script_subjects(path: str, text: str, script, launches: list | None = None) -> tuple:
    from .launches import read_commands
    from .sources.shellsource import locator
    index = _LineIndex(text)
    locate = locator(path, index.position, script)
    findings = [problem(kind, locate(offset), **facts)     # a sourced file's line, when it is there
                for kind, facts, offset in script.problems + script.failures]
    result, trouble = read_commands(script.commands, path, index.position, launches, locate, script.unread,
                                    read_file=subjects_of_file)
    if script.exited_at is not None:
        from .launches import never_run
        trouble += never_run(script.unreachable, locate(script.exited_at), locate, launches)
    source = Document(path, None, text=text)
    for subject in result:
        if subject.source is None:   # a launch's own subjects: a fix edits the script
            subject.source = source
    return result, findings + trouble


@lru_cache(maxsize=1)
def _readers() -> dict:
    """kind -> (recogniser, reader returning (subjects, findings)), in the order content is tried."""
    from .frameworks.accelerate import is_accelerate_config, subjects as accelerate
    from .frameworks.deepspeed.subjects import deepspeed_subject
    from .frameworks.axolotl import is_axolotl, subjects as axolotl
    from .frameworks.llamafactory import is_llamafactory, subjects as llamafactory
    from .frameworks.trl import is_trl, subjects as trl

    def openrlhf(document):
        from .frameworks.openrlhf.argsfile import invocation_of
        from .frameworks.openrlhf.launch import subjects
        invocation = invocation_of(document) if isinstance(document.data, dict) else None
        return (subjects(invocation), []) if invocation is not None else ([], [])
    def adapter(document):
        """adapter_config.json beside its weights: the adapter folder, inspected."""
        folder = os.path.dirname(document.path) or "."
        if not any(os.path.isfile(os.path.join(folder, n)) for n in ("adapter_model.safetensors", "adapter_model.bin")):
            from .frameworks.peft import subjects as lora_config    # a LoraConfig dump: what PEFT will save
            return lora_config(document)
        from .frameworks.checkpoint.subjects import inspect_subject
        subject, _, problems = inspect_subject(folder)
        return [subject], problems
    return {"adapter": (lambda data: isinstance(data, dict) and "peft_type" in data and "target_modules" in data,
                        adapter),
            "llamafactory": (is_llamafactory, llamafactory),
            "axolotl": (is_axolotl, axolotl),
            "trl": (is_trl, trl),
            "accelerate": (is_accelerate_config, accelerate),
            "deepspeed": (is_deepspeed_config, lambda d: ([deepspeed_subject(d, "unknown")], [])),
            "openrlhf": (lambda data: isinstance(data, dict) and bool(data), openrlhf)}


def _document_subjects(document: Document, explicit: bool, forced: str | None = None) -> tuple:
    readers = _readers()
    if forced:
        if not isinstance(document.data, dict):
            return [], [problem("forced-not-a-mapping", Location(document.path, 1, 1), forced=forced)]
        recognise, read = readers[forced]
        found, problems = read(document)
        if not recognise(document.data):
            problems = problems + [problem("forced-unlike", Location(document.path, 1, 1), forced=forced)]
        if found or problems:
            return found, problems
        return [], [problem("forced-nothing-read", Location(document.path, 1, 1), forced=forced)]
    for name, (recognise, read) in readers.items():
        if recognise(document.data):
            found, problems = read(document)
            if found or problems or name != "openrlhf":   # recognised, even with nothing to check
                return found, problems
    if explicit and document.path.lower().endswith(DATA_SUFFIXES + ("<stdin>",)):
        return [], [problem("unrecognised", Location(document.path, 1, 1))]
    return [], []

"""No rule wording in the library's Python (issue 15): the readers, the engine and the guard give facts as
data (numbers, names, lists, enums) and each rule's YAML template words them. Three scans keep it so: no fact
of the schema is a sentence (`*_text`, `*_note`, `note`, `hint`, `message`); none of the phrases that moved
into rule files is back in a string of the library; and no string of three or more words is left outside the
layers whose job is words for the user (the report's renderers, rmlint's own usage errors) but the frameworks'
own texts, each named with where it comes from."""

import ast
import re
from pathlib import Path


LIBRARY = Path(__file__).resolve().parent.parent / "rmlint"
# the layers whose job is words for the user: the report's renderers (`rmlint inspect`'s summary, rule pages, the
# facts' meanings for docs/facts.md, output formats) and rmlint's own usage errors, which say how rmlint was called,
# not what a rule found (an unknown setting, rule, selector or fact in a rule pack, a path that does not exist, a
# wrong argument to the library's or the guard's API: "did you mean" there is no rule's)
WORDS_FOR_THE_USER = {"report.py", "rule_pages.py", "fact_docs.py", "fact_schema.py", "formats.py", "cli.py",
                      "config.py", "policy.py", "rules.py", "rule_schema.py", "command.py", "fast_cli.py", "lint.py",
                      "launcher.py", "live/__init__.py"}
# phrases that moved from Python into rules/*.yaml (issue 15): each was in a reader before
MOVED = ["did you mean", "NaN/Inf", "OpenRLHF's init", "is a placeholder left", "line endings on",
         "ZeRO-3 partition saved", "never initialised", "is in both", "not in the index's weight_map",
         "no shard holds it", "exists only in", "is not a flag of", "can run it as a", "takes no value",
         "invalid choice", "set the same field", "are both set", "greater than", "version is not known",
         "en dash", "not written", "the file is unchanged", "double quant", "PEFT adapter (LoRA",
         "DeepSpeed checkpoint folder", "shards present", "rejects unknown key", " raises ", "expects a value",
         "release rmlint knows", "the model's constructor", "the head ", "ignored explicit argument", "an integer",
         "default (>= 0.5.4)", "the model class",
         # RM006's reasons a launch is not understood (and RM013's "never runs"), worded in the rule files now
         "rmlint cannot read", "rmlint cannot see", "given inline", "is given no", "no framework's module",
         "knows how to read", "not a command of", "has this entrypoint", "trains nothing", "which the script sources",
         "nest deeper than", "expansion budget is spent", "sourced files not read", "the script exits first",
         "only in scripts up to", "the rest are not read",
         # the checkpoint readers' refusals (frameworks/checkpoint/), worded in RM001's YAML
         'is not allowed', 'nothing was run', 'nests too deeply', 'not a state dict', 'not a torch storage',
         'float8 or float4', 'torch.save writes neither', 'is not a count', 'is not a list of sizes',
         'negative shape', 'does not match shape', 'is too large', 'reach element', 'a byte holds two values',
         'is encrypted', 'compression method', 'stores members uncompressed', 'more than the', 'no local header',
         'run past the end', 'zip members', 'not a torch checkpoint', 'refused (cap', "zip's checksum",
         'cannot read the zip', 'storage record', 'but data.pkl says', 'unexpected persistent id', 'untyped storage',
         'legacy torch.save', 'not where the keys say', 'missing or holds another size',
         'too small for a safetensors', '100 MB cap', 'runs past the end', 'ended inside its', 'header is not',
         'header refused', 'duplicate key', 'must map strings', 'entry is not an object', 'unknown dtype',
         'are not [begin, end]', 'does not fit data_offsets', 'data begins at', 'leaving a hole', 'tensor before it',
         'tensors cover', 'not fully covered', 'adapter_config.json without', 'no weight_map', 'checkpoint `',
         # the shell reader's own problems, standard input over the limit and SourceError's/Refused's English
         # fallbacks (sources/), worded in RM001's and RM014's YAML and, for settings and rule files, config.py
         'unterminated single quote', 'unterminated double quote', 'is not terminated (wanted',
         'more text than rmlint follows', 'copies of itself', 'MB on standard input', 'reads settings files',
         'reads rule files', 'reads sourced scripts', 'configs and scripts up to', 'a character device',
         'while it was read', '; not followed', 'byte order mark', 'NUL bytes', 'cannot be decoded', 'invalid JSON',
         'invalid YAML', 'several YAML documents', 'alias bomb', 'levels deep',
         # why checkpoint checks are skipped and the Hub's refusals (formats.SKIPPED), the fix edits' titles (each
         # rule's fix_title), exact mode's usage error (config.py)
         'no such file or folder', 'beside the script', 'not in the Hugging Face cache', 'holds only part of it',
         'not read from the Hub', 'not allowed (a gated', 'ignores Range requests', 'holds no copy of it',
         'needs huggingface_hub', 'cannot keep what was read', 'did not answer in time', 'cannot connect to the Hub',
         'has no config.json or adapter_config.json', '-byte cap', 'shards, over', 'reads safetensors headers only',
         'too few for a safetensors header', 'reads from one weight file', 'inside the header',
         "did not say the file's size", 'QLoRA needs ZeRO-2', 'add `zero_optimization.',
         'exact DeepSpeed validation needs',
         # labels that are data now (role, framework, release, GPU source, head kind), worded by the rules
         'reward model (', 'model (train', 'model (serve', 'policy (', 'LoRA adapter given to', 'reference model',
         'num_nodes x num_gpus_per_node', "torchrun's default", 'reward model in training',
         'the live DeepSpeed config', 'value head (value_head file)', 'TRL value head', 'DeepSpeed-Chat head',
         'HF classifier', 'sequence-classification head', 'OpenRLHF value head', 'every nn.Linear',
         'the Linear4bit layers', 'in the adapter, [', "the flags' release", 'main between releases',
         'what LLaMA-Factory', 'its name', 'compute dtype', 'target_modules {', "trl's "]


def _docstrings(tree) -> set:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _readers(root: Path) -> list:
    """The library's modules outside the layers that word for the user."""
    return [path for path in sorted(root.rglob("*.py"))
            if path.relative_to(root).as_posix() not in WORDS_FOR_THE_USER]


def worded_strings(root: Path, phrases: list = MOVED) -> list:
    """(file:line, phrase) of every one of `phrases` in a string (f-string parts too; docstrings and comments are
    not messages) of the library outside the layers that word for the user."""
    found = []
    for path in _readers(root):
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                found += [(f"{path.relative_to(root.parent)}:{node.lineno}", phrase) for phrase in phrases
                          if phrase.lower() in node.value.lower()]
    return found


def test_no_moved_rule_wording_in_the_library():
    assert worded_strings(LIBRARY) == []


def test_the_scan_finds_a_phrase_put_back(tmp_path):
    (tmp_path / "rmlint" / "frameworks").mkdir(parents=True)
    (tmp_path / "rmlint" / "report.py").write_text('TEXT = "did you mean"\n')             # the renderer may word
    (tmp_path / "rmlint" / "frameworks" / "reader.py").write_text(
        '"""A reader: its docstring may say did you mean."""\n\ndef hint(close):\n'
        '    return f"; did you mean `{close}`?" if close else ""\n')
    assert worded_strings(tmp_path / "rmlint") == [("rmlint/frameworks/reader.py:4", "did you mean")]


def _fields(model, path: str):
    from pydantic import BaseModel
    for name, field in model.model_fields.items():
        yield f"{path}.{field.alias or name}".lstrip("."), name
        for inner in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                yield from _fields(inner, f"{path}.{field.alias or name}")


def sentence_facts() -> list:
    from rmlint import fact_schema
    return [path for path, name in _fields(fact_schema.Subject, "")
            if name.endswith(("_text", "_note")) or name in ("note", "hint", "message")]


def test_no_fact_is_a_sentence():
    assert sentence_facts() == []


# every string of three or more words the library keeps outside the wording layers is somebody else's words or no
# words at all: the frameworks' own error texts (matched in their output, or shown as data the way they print them)
# and patterns; anything else in a reader is rule wording, which belongs in the rule's YAML
THEIR_WORDS = {
    ("engine.py", r"\{if ([^{}]+)\}((?:(?!\{if ).)*?)\{end\}"),                  # the templates' {if} syntax
    ("frameworks/checkpoint/family.py", r"reward|(^|[-_./ ])\w*rm([-_./ ]|v?\d|$)|(^|[-_./ ])(rm|prm|orm)"),
    ("frameworks/deepspeed/exact.py", "bfloat16 and fp16"),      # DeepSpeed's assertion text, matched (config.py)
    ("frameworks/deepspeed_chat/flags.py", "the following arguments are required: "),   # argparse's own errors
    ("frameworks/deepspeed_chat/flags.py", ": expected one argument"),
    ("frameworks/verl/launch.py", "Key '{leaf}' is not in struct"),                   # OmegaConf/Hydra's own errors
    ("frameworks/verl/launch.py", "Could not append to config. An item is already at '{key}'"),
    ("frameworks/verl/launch.py", "Could not delete from config. '{key}' does not exist"),
    ("sources/machine.py", "--nproc_per_node 1"),                 # the flag torchrun defaults to, as it is written
    ("sources/shellarith.py", "exponent less than 0"),            # bash 5.2 expr.c's own error
}


def sentences(root: Path) -> list:
    """(module, text) of every string constant of three or more words (f-string parts too; not docstrings) in the
    library outside the layers that word for the user."""
    found = []
    for path in _readers(root):
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        found += [(path.relative_to(root).as_posix(), node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                  and " " in node.value.strip() and len(re.findall(r"[A-Za-z]{2,}", node.value)) >= 3]
    return sorted(set(found))


def test_no_sentence_of_rmlints_own_outside_the_wording_layers():
    assert [found for found in sentences(LIBRARY) if found not in THEIR_WORDS] == []


def test_every_quoted_text_is_still_there():
    """A text that left the library leaves THEIR_WORDS too, so the list never excuses more than it names."""
    assert THEIR_WORDS - set(sentences(LIBRARY)) == set()


def test_the_sentence_scan_finds_a_new_message(tmp_path):
    (tmp_path / "rmlint" / "sources").mkdir(parents=True)
    (tmp_path / "rmlint" / "lint.py").write_text('raise UsageError("no such file or directory")\n')   # a usage error
    (tmp_path / "rmlint" / "sources" / "shell.py").write_text(
        '"""A docstring is no message at all."""\nA = "--zero_stage"\nB = f"{x} is never read here"\n')
    assert sentences(tmp_path / "rmlint") == [("sources/shell.py", " is never read here")]

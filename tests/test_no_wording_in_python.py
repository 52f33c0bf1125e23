"""No rule wording in the library's Python (issue 15): the readers, the engine and the guard give facts as
data (numbers, names, lists, enums) and each rule's YAML template words them. Two scans keep it so: no fact
of the schema is a sentence (`*_text`, `*_note`, `note`, `hint`, `message`), and none of the phrases that
moved into rule files is back in a string of the library, outside the layers whose job is words for the
user (the report's renderers, and the command line's own usage errors)."""

import ast
from pathlib import Path


LIBRARY = Path(__file__).resolve().parent.parent / "rmlint"
# rendering for the user (`rmlint inspect`'s summary, rule pages, the facts' meanings for docs/facts.md, output
# formats) and rmlint's own usage errors (an unknown setting, rule, selector or fact in a rule pack: "did you
# mean" there is no rule's)
WORDS_FOR_THE_USER = {"report.py", "rule_pages.py", "fact_docs.py", "fact_schema.py", "formats.py", "cli.py",
                      "config.py", "policy.py", "rules.py"}
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
         "only in scripts up to", "the rest are not read"]


def _docstrings(tree) -> set:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def worded_strings(root: Path, phrases: list = MOVED) -> list:
    """(file:line, phrase) of every one of `phrases` in a string (f-string parts too; docstrings and comments are
    not messages) of the library outside the layers that word for the user."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.parent == root and path.name in WORDS_FOR_THE_USER:
            continue
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

"""Snapshot the keys a trainer accepts in its training YAML into rmlint/data/<framework>_args.json.

Usage: python tools/extract_trainer_args.py {llamafactory,trl,axolotl} CHECKOUT [--commit SHA] > rmlint/data/<framework>_args.json

- LLaMA-Factory parses the YAML with HfArgumentParser over its dataclasses (src/llamafactory/hparams/*.py)
  plus transformers' Seq2SeqTrainingArguments and refuses unused keys (parser.py, unless ALLOW_EXTRA_ARGS=1).
- TRL scripts and `trl <command> --config x.yaml` parse with HfArgumentParser/TrlParser over ScriptArguments,
  a *Config (TrainingArguments subclass) and ModelConfig; per config class the keys are kept too, so a
  recipe's own keys tell which trainer it is for.
- axolotl validates with pydantic (AxolotlInputConfig and its mixins, src/axolotl/utils/schemas/ and the
  integrations' args.py) and drops keys it does not know.
Fields are read from the source with ast (no import of the framework); TrainingArguments' fields come from
the installed transformers.
"""

import argparse
import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

SOURCES = {
    "llamafactory": lambda name: name.startswith("src/llamafactory/hparams/") and name.endswith("_args.py"),
    "trl": lambda name: name == "trl/trainer/model_config.py" or name == "trl/scripts/utils.py" or (
        name.startswith(("trl/trainer/", "trl/experimental/")) and name.endswith("_config.py")),
    "axolotl": lambda name: (name.startswith("src/axolotl/utils/schemas/") and name.endswith(".py")) or (
        name.startswith("src/axolotl/integrations/") and name.endswith("/args.py")),
}


def fields_by_class(source: str) -> dict:
    """class name -> field names (annotated class attributes and pydantic aliases)."""
    found = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        names = found.setdefault(node.name, set())
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                names.add(item.target.id)
                for call in ast.walk(item):
                    if isinstance(call, ast.keyword) and call.arg == "alias" and isinstance(call.value, ast.Constant):
                        names.add(call.value.value)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("framework", choices=sorted(SOURCES))
    parser.add_argument("checkout", type=Path, help="a git checkout (or bare repository) of the framework")
    parser.add_argument("--commit", default="HEAD")
    args = parser.parse_args()
    git = ["git", "-C", str(args.checkout)]
    commit = subprocess.run(git + ["rev-parse", args.commit], capture_output=True, text=True, check=True).stdout.strip()
    files = subprocess.run(git + ["ls-tree", "-r", "--name-only", commit], capture_output=True, text=True,
                           check=True).stdout.split()
    classes = {}
    for name in sorted(f for f in files if SOURCES[args.framework](f)):
        source = subprocess.run(git + ["show", f"{commit}:{name}"], capture_output=True, text=True, check=True).stdout
        for cls, names in fields_by_class(source).items():
            classes.setdefault(cls, set()).update(names)
    own = set().union(*classes.values())
    snapshot = {f"{args.framework}_commit": commit, "generated_by": "tools/extract_trainer_args.py"}
    hf = set()
    if args.framework in ("llamafactory", "trl"):
        import transformers
        from transformers import Seq2SeqTrainingArguments
        snapshot["transformers_version"] = transformers.__version__
        hf = {f.name for f in dataclasses.fields(Seq2SeqTrainingArguments) if f.init}
        own |= hf
    if args.framework == "trl":
        own |= {"config", "env"}     # TrlParser's own: the config path and environment variables
        # each config class's own keys beyond TrainingArguments: what tells a recipe's trainer apart
        snapshot["config_classes"] = {cls: sorted(names - hf) for cls, names in sorted(classes.items())
                                      if cls.endswith("Config") and names - hf}
    snapshot["keys"] = sorted(own)
    json.dump(snapshot, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Snapshot the argument names LLaMA-Factory accepts in a training YAML into
rmlint/data/llamafactory_args.json.

Usage: python tools/extract_llamafactory_args.py LLAMA_FACTORY_CHECKOUT [--commit SHA] > rmlint/data/llamafactory_args.json

LLaMA-Factory parses the YAML with HfArgumentParser over its dataclasses (hparams/*.py: model,
data, training, finetuning, generating arguments) and refuses unused keys (parser.py, unless
ALLOW_EXTRA_ARGS=1). Its own fields are read from the source with ast; TrainingArguments also
inherits transformers' Seq2SeqTrainingArguments, whose fields come from the installed transformers.
"""

import argparse
import ast
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

FILES = ("model_args.py", "data_args.py", "training_args.py", "finetuning_args.py", "generating_args.py",
         "evaluation_args.py", "megatron_bridge_args.py")


def fields_of(source: str) -> set:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout", type=Path, help="a LLaMA-Factory git checkout (or bare repository)")
    parser.add_argument("--commit", default="HEAD")
    args = parser.parse_args()
    git = ["git", "-C", str(args.checkout)]
    commit = subprocess.run(git + ["rev-parse", args.commit], capture_output=True, text=True, check=True).stdout.strip()
    own = set()
    for name in FILES:
        source = subprocess.run(git + ["show", f"{commit}:src/llamafactory/hparams/{name}"], capture_output=True,
                                text=True, check=True).stdout
        own |= fields_of(source)
    import transformers
    from transformers import Seq2SeqTrainingArguments
    hf = {f.name for f in dataclasses.fields(Seq2SeqTrainingArguments) if f.init}
    json.dump({"llamafactory_commit": commit, "transformers_version": transformers.__version__,
               "generated_by": "tools/extract_llamafactory_args.py",
               "keys": sorted(own | hf)}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

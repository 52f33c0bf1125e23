"""Snapshot the keys a trainer accepts in its training YAML into rmlint/data/<framework>_args.json.

Usage: python tools/extract_trainer_args.py {llamafactory,trl,axolotl} CHECKOUT [--commit SHA] > rmlint/data/<framework>_args.json
       python tools/extract_trainer_args.py llamafactory CHECKOUT --releases > rmlint/data/llamafactory_history.json

--releases: LLaMA-Factory's own keys at every release tag from 0.5.0 (src/llmtuner/hparams/ up to
0.7.x, src/llamafactory/hparams/ after) and the newest commit, each with the releases that accept it,
and the releases of each way to launch it (src/train_bash.py, src/train.py, llamafactory-cli, and
`llamafactory-cli train x.yaml key=value` overrides): a key a release removed is known as removed.

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
    "llamafactory": lambda name: name.startswith(("src/llamafactory/hparams/", "src/llmtuner/hparams/"))
    and name.endswith("_args.py"),
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


def classes_at(git: list, commit: str, framework: str) -> dict:
    files = subprocess.run(git + ["ls-tree", "-r", "--name-only", commit], capture_output=True, text=True,
                           check=True).stdout.split()
    classes = {}
    for name in sorted(f for f in files if SOURCES[framework](f)):
        source = subprocess.run(git + ["show", f"{commit}:{name}"], capture_output=True, text=True, check=True).stdout
        for cls, names in fields_by_class(source).items():
            classes.setdefault(cls, set()).update(names)
    return classes


def _files(git: list, commit: str) -> set:
    return set(subprocess.run(git + ["ls-tree", "-r", "--name-only", commit], capture_output=True, text=True,
                              check=True).stdout.split())


def _show(git: list, commit: str, name: str) -> str:
    return subprocess.run(git + ["show", f"{commit}:{name}"], capture_output=True, text=True).stdout


def llamafactory_releases(git: list) -> dict:
    """Keys and launch forms of every LLaMA-Factory release from 0.5.0, and of the newest commit."""
    import re
    tags = subprocess.run(git + ["tag"], capture_output=True, text=True, check=True).stdout.split()
    key = lambda t: tuple(int(n) for n in re.findall(r"\d+", t))   # noqa: E731
    tags = sorted((t for t in tags if re.fullmatch(r"v\d+\.\d+\.\d+", t) and key(t) >= (0, 5, 0)), key=key)
    head = subprocess.run(git + ["rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    described = subprocess.run(git + ["describe", "--tags", head], capture_output=True, text=True).stdout.strip()
    points = [(t[1:], t) for t in tags] + ([(described.lstrip("v"), head)] if described not in tags else [])
    versions, keys, forms = [], {}, {}
    for index, (version, commit) in enumerate(points):
        versions.append(version)
        for name in set().union(*classes_at(git, commit, "llamafactory").values()):
            _span(keys.setdefault(name, []), index)
        files = _files(git, commit)
        cli = next((_show(git, commit, f) for f in ("src/llamafactory/cli.py", "src/llmtuner/cli.py") if f in files), "")
        parser = next((_show(git, commit, f) for f in ("src/llamafactory/hparams/parser.py",
                                                       "src/llmtuner/hparams/parser.py") if f in files), "")
        present = {"src/train_bash.py": "src/train_bash.py" in files, "src/train.py": "src/train.py" in files,
                   "llamafactory-cli": bool(cli), "overrides": "from_cli" in parser}
        for form, here in present.items():
            if here:
                _span(forms.setdefault(form, []), index)
    return {"llamafactory_commit": head, "generated_by": "tools/extract_trainer_args.py --releases",
            "versions": versions,
            "programs": {f: [[versions[a], versions[b]] for a, b in spans] for f, spans in sorted(forms.items())},
            "keys": {k: [[versions[a], versions[b]] for a, b in spans] for k, spans in sorted(keys.items())}}


def _span(spans: list, index: int):
    if spans and spans[-1][1] == index - 1:
        spans[-1][1] = index
    else:
        spans.append([index, index])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("framework", choices=sorted(SOURCES))
    parser.add_argument("checkout", type=Path, help="a git checkout (or bare repository) of the framework")
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("--releases", action="store_true", help="LLaMA-Factory only: keys per release from 0.5.0")
    args = parser.parse_args()
    git = ["git", "-C", str(args.checkout)]
    if args.releases:
        table = llamafactory_releases(git)
        sys.stdout.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in table.items()
                                             if k != "keys"))
        sys.stdout.write(',\n "keys": {\n' + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}"
                                                         for k, v in table["keys"].items()) + "\n }\n}\n")
        return 0
    commit = subprocess.run(git + ["rev-parse", args.commit], capture_output=True, text=True, check=True).stdout.strip()
    classes = classes_at(git, commit, args.framework)
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

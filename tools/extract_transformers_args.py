"""Snapshot the keys of transformers' Seq2SeqTrainingArguments at every minor release into
rmlint/data/transformers_args.json, with the transformers releases each LLaMA-Factory release allows.

Usage: python tools/extract_transformers_args.py LLAMAFACTORY_CHECKOUT [--wheels DIR] > rmlint/data/transformers_args.json

- The newest patch of every transformers minor release, from the oldest any LLaMA-Factory >= 0.5.0 allows
  to the registry's newest, is fetched with `pip download transformers==X --no-deps` into --wheels (kept
  there for the next run); transformers/training_args.py and training_args_seq2seq.py are read from each
  wheel with ast (never imported): the dataclass fields HfArgumentParser turns into keys (init=False ones
  are not keys), TrainingArguments' plus Seq2SeqTrainingArguments'.
- LLaMA-Factory's `transformers` requirement at each release of rmlint/data/llamafactory_history.json
  (requirements.txt up to 0.9.3, pyproject.toml after; every environment marker's variant, joined) gives the
  minors it allows: those with a release the requirement admits.
Table: versions (newest patch per minor, oldest first), keys -> [[first, last], ...] spans of versions, and
llamafactory -> {LLaMA-Factory version: spans of the transformers versions it allows}.
"""

import argparse
import ast
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "rmlint" / "data" / "llamafactory_history.json"
SOURCES = ("transformers/training_args.py", "transformers/training_args_seq2seq.py")
CLASSES = {"TrainingArguments", "Seq2SeqTrainingArguments"}


def registry_releases() -> list:
    """Every final transformers release on the registry, oldest first (`pip index versions`)."""
    out = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "transformers"], capture_output=True,
                         text=True, check=True).stdout
    found = [Version(v) for v in re.search(r"Available versions: (.*)", out).group(1).split(", ")]
    return sorted(v for v in found if not v.is_prerelease and not v.is_devrelease)


def fields(source: str) -> set:
    """Keys HfArgumentParser makes of the argument dataclasses in one module: annotated class attributes,
    except `field(init=False)` and ClassVar."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.ClassDef) and node.name in CLASSES):
            continue
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            if "ClassVar" in ast.unparse(item.annotation):
                continue
            init = [k.value for call in ast.walk(item) if isinstance(call, ast.Call)
                    for k in call.keywords if k.arg == "init"]
            if any(isinstance(v, ast.Constant) and v.value is False for v in init):
                continue
            found.add(item.target.id)
    return found


def wheel_keys(wheel: Path) -> set:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        return set().union(*(fields(archive.read(n).decode()) for n in SOURCES if n in names))


def wheel_of(version: Version, wheels: Path) -> Path:
    found = list(wheels.glob(f"transformers-{version}-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", f"transformers=={version}", "--no-deps",
                        "--only-binary", ":all:", "-d", str(wheels)], check=True, stdout=sys.stderr)
        found = list(wheels.glob(f"transformers-{version}-*.whl"))
    return found[0]


def requirement_at(git: list, commit: str) -> list:
    """The `transformers` requirements (one per environment marker) of a LLaMA-Factory commit."""
    found = []
    for name in ("requirements.txt", "pyproject.toml"):
        text = subprocess.run(git + ["show", f"{commit}:{name}"], capture_output=True, text=True).stdout
        for line in re.findall(r"""^\s*["']?(transformers\s*[<>=!~][^;"'#\n]*)""", text, re.M):
            found.append(Requirement(line.strip().rstrip(",")))   # markers dropped: every variant counts
        if found:
            return found
    return found


def allowed(requirements: list, releases: list, minors: list) -> list:
    """Indices of `minors` with a release some requirement variant admits (no requirement: every one)."""
    ok = {(v.major, v.minor) for v in releases
          if not requirements or any(r.specifier.contains(v, prereleases=False) for r in requirements)}
    return [i for i, m in enumerate(minors) if (m.major, m.minor) in ok]


def spans(indices: list, names: list) -> list:
    found = []
    for i in indices:
        if found and found[-1][1] == i - 1:
            found[-1][1] = i
        else:
            found.append([i, i])
    return [[names[a], names[b]] for a, b in found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("llamafactory", type=Path, help="a git checkout (or bare repository) of LLaMA-Factory")
    parser.add_argument("--wheels", type=Path, default=Path.home() / ".cache" / "rmlint-tools" / "transformers")
    args = parser.parse_args()
    git = ["git", "-C", str(args.llamafactory)]
    history = json.loads(HISTORY.read_text())
    releases = registry_releases()
    commits = {v: ("v" + v if "-g" not in v else history["llamafactory_commit"]) for v in history["versions"]}
    requirements = {v: requirement_at(git, c) for v, c in commits.items()}
    oldest = min((Version(str(s.version)) for reqs in requirements.values() for r in reqs for s in r.specifier
                  if s.operator in (">=", "==", "~=")), default=releases[0])
    newest = {}
    for v in releases:
        if (v.major, v.minor) >= (oldest.major, oldest.minor):
            newest[(v.major, v.minor)] = max(v, newest.get((v.major, v.minor), v))
    minors = [newest[k] for k in sorted(newest)]
    names = [str(v) for v in minors]
    args.wheels.mkdir(parents=True, exist_ok=True)
    keys = {}
    for index, version in enumerate(minors):
        for key in wheel_keys(wheel_of(version, args.wheels)):
            keys.setdefault(key, []).append(index)
    table = {"generated_by": "tools/extract_transformers_args.py", "llamafactory_commit": history["llamafactory_commit"],
             "versions": names,
             "llamafactory": {v: spans(allowed(requirements[v], releases, minors), names) for v in history["versions"]},
             "keys": {k: spans(ix, names) for k, ix in sorted(keys.items())}}
    head = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in table.items() if k not in ("keys", "llamafactory"))
    lf = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in table["llamafactory"].items())
    ks = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in table["keys"].items())
    sys.stdout.write("{\n" + head + ',\n "llamafactory": {\n' + lf + '\n },\n "keys": {\n' + ks + "\n }\n}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

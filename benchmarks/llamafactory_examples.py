"""Run rmlint over LLaMA-Factory's own command lines at every release tag from 0.5.0: the example shell
scripts (examples/**/*.sh) and the ```bash blocks of README.md that launch training.

Usage: python benchmarks/llamafactory_examples.py /path/to/LLaMA-Factory(.git) [--details]

Printed: distinct files, the LLaMA-Factory launch lines (`launches` records) and how many were
understood, the launches whose settings rmlint read (`trainer` subjects of LLaMA-Factory), TRL findings (a LLaMA-Factory command taken for a TRL script: always false) and the
other error findings. Each distinct text is judged once, under the first tag that has it, from a temporary extract of that
tag's examples/ (the YAML files it names), as its README runs it: from the checkout's root. The distributions
installed beside rmlint are not read: an example runs with a transformers its release allows, not this machine's.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_BLOCK = re.compile(r"```(?:bash|shell|sh)\n(.*?)```", re.S)
_LAUNCH = re.compile(r"train_bash\.py|src/train\.py|llamafactory-cli train")


def git(repo: str, *args) -> str:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout


def texts(repo: str) -> list:
    """[(tag, name, text)] of distinct launch texts, oldest tag first."""
    key = lambda t: tuple(int(n) for n in re.findall(r"\d+", t))   # noqa: E731
    tags = sorted((t for t in git(repo, "tag").split() if re.fullmatch(r"v\d+\.\d+\.\d+", t) and key(t) >= (0, 5, 0)),
                  key=key)
    seen, found = set(), []
    for tag in tags:
        names = [n for n in git(repo, "ls-tree", "-r", "--name-only", tag).split()
                 if (n.startswith("examples/") and n.endswith(".sh")) or n == "README.md"]
        for name in names:
            body = git(repo, "show", f"{tag}:{name}")
            parts = [b for b in _BLOCK.findall(body)] if name == "README.md" else [body]
            for number, part in enumerate(parts):
                if _LAUNCH.search(part) and part not in seen:
                    seen.add(part)
                    found.append((tag, f"{name}#{number}" if name == "README.md" else name, part))
    return found


def tree(repo: str, tag: str, tmp: str) -> str:
    """The tag's examples/ (the YAMLs and DeepSpeed configs its command lines name), extracted once."""
    root = os.path.join(tmp, tag)
    if not os.path.isdir(root):
        os.makedirs(root)
        if not git(repo, "ls-tree", tag, "examples").strip():
            return root
        archive = subprocess.run(["git", "-C", repo, "archive", tag, "examples"], capture_output=True, check=True)
        subprocess.run(["tar", "x", "-C", root], input=archive.stdout, check=True)
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout")
    parser.add_argument("--details", action="store_true")
    args = parser.parse_args()
    from rmlint import inputs, lint
    from rmlint.config import Settings
    settings = Settings(installed_versions=False)   # an example runs with its release's transformers, not this machine's
    read = trl = errors = launches = understood = 0
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        found_texts = texts(args.checkout)
        for number, (tag, name, text) in enumerate(found_texts):
            os.chdir(tree(args.checkout, tag, tmp))    # the command lines run from the checkout's root
            try:
                path = name if not name.startswith("README") else f"launch{number}.sh"   # scripts where they ship
                Path(path).write_text(text)
                records = []
                found, _ = inputs.subjects_of_text(path, text, launches=records)
                result = lint.lint_paths([path], settings=settings)
            finally:
                os.chdir(here)
            lf = sum(1 for s in found if s.kind == "trainer" and s.facts["trainer"]["framework"] == "llamafactory")
            ours = [r for r in records if r["framework"] == "llamafactory"]
            launches, understood = launches + len(ours), understood + sum(r["understood"] for r in ours)
            trl_findings = [f for f in result.findings if "TRL" in f.message and f.rule != "RM002"]
            errs = [f for f in result.findings if f.severity == "error"]
            read, trl, errors = read + lf, trl + len(trl_findings), errors + len(errs)
            if args.details:
                for f in trl_findings + errs + [f for f in result.findings if f.rule in ("RM006", "RM011")]:
                    print(f"{tag} {name}:{f.line} {f.rule} {f.message}")
                if not lf:
                    print(f"{tag} {name}: no LLaMA-Factory launch read")
        print(f"distinct launch texts {len(found_texts)}, LLaMA-Factory launch lines {launches} (understood "
              f"{understood}), trainer settings read {read}, TRL findings {trl}, error findings {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run rmlint over LLaMA-Factory's own command lines at every release tag from 0.5.0: the example shell
scripts (examples/**/*.sh) and the ```bash blocks of README.md that launch training.

Usage: python benchmarks/llamafactory_examples.py /path/to/LLaMA-Factory(.git) [--details]

Printed: distinct files, the LLaMA-Factory launches rmlint read in them (`trainer` subjects of
LLaMA-Factory), TRL findings (a LLaMA-Factory command taken for a TRL script: always false) and the
other error findings. Each distinct text is judged once, under the first tag that has it.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout")
    parser.add_argument("--details", action="store_true")
    args = parser.parse_args()
    from rmlint import inputs, lint
    read = trl = errors = 0
    with tempfile.TemporaryDirectory() as tmp:
        for tag, name, text in texts(args.checkout):
            path = os.path.join(tmp, "launch.sh")
            Path(path).write_text(text)
            found, _ = inputs.subjects_of_text(path, text)
            lf = sum(1 for s in found if s.kind == "trainer" and s.facts["trainer"]["framework"] == "llamafactory")
            result = lint.lint_paths([path])
            trl_findings = [f for f in result.findings if "TRL" in f.message]
            errs = [f for f in result.findings if f.severity == "error"]
            read, trl, errors = read + lf, trl + len(trl_findings), errors + len(errs)
            if args.details and (trl_findings or errs or not lf):
                for f in trl_findings + errs:
                    print(f"{tag} {name}:{f.line} {f.rule} {f.message}")
                if not lf:
                    print(f"{tag} {name}: no LLaMA-Factory launch read")
        print(f"distinct launch texts {len(texts(args.checkout))}, LLaMA-Factory launches read {read}, "
              f"TRL findings {trl}, error findings {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

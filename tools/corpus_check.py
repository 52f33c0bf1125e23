"""Run rmlint over every training script of a framework's repository at one commit, as checked out.

Usage: python tools/corpus_check.py {verl,deepspeed_chat} GIT_DIR [--commit SHA] [-v]

The scripts (verl: examples/**/*.sh; DeepSpeed-Chat: applications/DeepSpeed-Chat/training/**/*.sh) are
extracted with their folders into a temporary directory and checked from the repository root, as
their READMEs run them. Prints, per script, the launches rmlint read and its findings, then the counts:
scripts, launches understood, scripts with no launch understood, findings by rule and severity.
"""

import argparse
import collections
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO

CORPORA = {"verl": ("examples", ["examples", "verl/trainer/config"]),
           "deepspeed_chat": ("applications/DeepSpeed-Chat/training", ["applications/DeepSpeed-Chat/training",
                                                                      "applications/DeepSpeed-Chat/dschat"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("framework", choices=sorted(CORPORA))
    parser.add_argument("git_dir")
    parser.add_argument("--commit", default="HEAD")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from rmlint import inputs
    from rmlint.lint import Result, _finish, _policy
    scripts_root, folders = CORPORA[args.framework]
    archive = subprocess.run(["git", "-C", args.git_dir, "archive", args.commit, *folders], capture_output=True,
                             check=True).stdout
    counts, launches, silent, total = collections.Counter(), 0, [], 0
    with tempfile.TemporaryDirectory() as temp:
        tarfile.open(fileobj=BytesIO(archive)).extractall(temp, filter="data")
        here = os.getcwd()
        os.chdir(temp)
        try:
            scripts = sorted(os.path.join(d, f) for d, _, files in os.walk(scripts_root) for f in files if f.endswith(".sh"))
            for script in scripts:
                total += 1
                found, problems = inputs.subjects_of_file(script)
                read = [s for s in found if s.kind in ("trainer", "openrlhf")]
                launches += len(read)
                result = _finish(Result(findings=problems, files=1), found, _policy())
                if not read:
                    silent.append(script)
                for f in result.findings:
                    counts[(f.severity, f.rule)] += 1
                if args.verbose or result.errors:
                    labels = sorted({s.facts["trainer"]["framework"] or s.kind for s in read})
                    print(f"{script}: {len(read)} launch(es) {labels}")
                    for f in result.findings:
                        if args.verbose or f.severity == "error":
                            print(f"  {f.line}:{f.column} {f.severity} {f.rule} {f.message}")
        finally:
            os.chdir(here)
    print(f"\n{args.framework} at {args.commit}: {total} scripts, {launches} launches understood, "
          f"{len(silent)} scripts with no launch understood")
    for script in silent:
        print(f"  no launch: {script}")
    for (severity, rule), n in sorted(counts.items()):
        print(f"  {severity:8} {rule}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

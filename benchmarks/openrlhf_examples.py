"""Run rmlint over every launch script OpenRLHF shipped in examples/, at every release tag.

Usage: python benchmarks/openrlhf_examples.py /path/to/OpenRLHF(.git) [--details] [--json OUT]

Each distinct script (one git blob; the same file unchanged across tags counts once) is judged under
the first release tag that shipped it, that release pinned (tests/openrlhf_examples_known.py). Printed:
- scripts: distinct examples/**/*.sh blobs, and how many hold an OpenRLHF launch (an `openrlhf.cli.*`
  module or an examples-era `train_*.py` script on a line that is not a comment or an echo);
- not understood: launch lines of an OpenRLHF program rmlint did not read (no invocation for them);
- wrong release: invocations whose inferred releases exclude the tag that shipped the script;
- errors: error findings, split into known real problems (KNOWN, with the reason) and false errors;
  known problems missed: a KNOWN problem of the script rmlint did not report.
Nothing of the checkout is copied anywhere but a temporary folder.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
# the known real problems and the judgement, shared with tests/test_openrlhf_examples_corpus.py
from openrlhf_examples_known import expected_errors, judge as judge_as_release, launch_lines  # noqa: E402


def git(repo: str, *args) -> str:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True, check=True).stdout


_SOURCES = re.compile(r"^\s*(?:source|\.)\s", re.M)


def siblings(repo: str, tag: str, path: str) -> list:
    """[(name, text)] of the other scripts in `path`'s folder at `tag`."""
    folder = os.path.dirname(path)
    found = []
    for line in git(repo, "ls-tree", tag, folder + "/").splitlines():
        meta, other = line.split("\t", 1)
        if other != path and other.endswith((".sh", ".slurm")) and meta.split()[1] == "blob":
            found.append((os.path.basename(other), git(repo, "cat-file", "-p", meta.split()[2])))
    return found


def version_key(tag: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", tag))


def corpus(repo: str) -> list:
    """[(blob, first tag, path)] of every distinct examples/**/*.sh, oldest tag first."""
    seen, found = set(), []
    tags = sorted((t for t in git(repo, "tag").split() if re.fullmatch(r"v[\d.]+(post\d+)?", t)), key=version_key)
    for tag in tags:
        for line in git(repo, "ls-tree", "-r", tag, "examples/").splitlines():
            meta, path = line.split("\t", 1)
            blob = meta.split()[2]
            if path.endswith((".sh", ".slurm")) and blob not in seen:
                seen.add(blob)
                found.append((blob, tag, path))
    return found


def judge(name: str, path: str, text: str, tag: str) -> dict:
    """rmlint's `launches` records and error findings for one script, with the release of `tag` pinned."""
    from rmlint.frameworks.openrlhf.flags import table
    verdict = judge_as_release(name, text, tag)
    records = verdict["records"]
    ours = [r for r in records if r["framework"] == "openrlhf" and r["understood"]]
    wrong_release = [(r["line"], r["program"], r["releases"]) for r in ours
                     if tag[1:] not in table().releases_in(r["releases"])]
    known = set(expected_errors(path, tag, text))
    errors = [(rule, line, verdict["messages"][rule, line], (rule, line) in known) for rule, line in verdict["errors"]]
    return {"launches": len(records), "understood": len(ours), "expected": launch_lines(text),
            "not_understood": [(r["line"], r["program"], r["reason"]) for r in records if not r["understood"]],
            "wrong_release": wrong_release, "errors": errors, "known": sorted(known),
            "warnings": verdict["warnings"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkout")
    parser.add_argument("--details", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for blob, tag, path in corpus(args.checkout):
            text = git(args.checkout, "cat-file", "-p", blob)
            place = Path(tmp, blob, path)
            place.parent.mkdir(parents=True, exist_ok=True)
            place.write_text(text)
            if _SOURCES.search(text):   # the slurm wrappers source a sibling script of the same tag
                for sibling, content in siblings(args.checkout, tag, path):
                    Path(place.parent, sibling).write_text(content)
            here = os.getcwd()
            os.chdir(place.parent)   # the examples are run from their own folder
            try:
                verdict = judge(place.name, path, text, tag)
            finally:
                os.chdir(here)
            rows.append({"blob": blob, "tag": tag, "path": path, **verdict})
    launching = [r for r in rows if r["expected"]]
    # a script with an OpenRLHF launch line (by the reading above) that rmlint did not understand
    not_understood = [r for r in launching if r["not_understood"] or r["understood"] == 0]
    print(f"distinct scripts {len(rows)}, with an OpenRLHF launch {len(launching)}")
    print(f"launches rmlint recorded {sum(r['launches'] for r in rows)}, understood as OpenRLHF "
          f"{sum(r['understood'] for r in rows)}, not understood {sum(len(r['not_understood']) for r in rows)} "
          f"(scripts with an OpenRLHF launch line and a launch not understood: {len(not_understood)})")
    wrong = [r for r in rows if r["wrong_release"]]
    known_found = [(row, *error) for row in rows for error in row["errors"] if error[3]]
    false = [(row, *error) for row in rows for error in row["errors"] if not error[3]]
    missed = [(row, rule, line) for row in rows for rule, line in row["known"]
              if (rule, line) not in {(e[0], e[1]) for e in row["errors"]}]
    print(f"invocations whose releases exclude the shipping tag {sum(len(r['wrong_release']) for r in wrong)}")
    print(f"error findings: known real {len(known_found)}, false {len(false)}")
    print(f"known problems missed: {len(missed)}")
    tally = Counter(rule for r in rows for rule, _, _ in r["warnings"])
    print("warnings by rule: " + (", ".join(f"{rule} {n}" for rule, n in sorted(tally.items())) or "none"))
    if args.details:
        for row in not_understood:
            print(f"NOT UNDERSTOOD {row['tag']} {row['path']} {row['not_understood']}")
        for row in wrong:
            print(f"WRONG RELEASE {row['tag']} {row['path']} {row['wrong_release']}")
        for row, rule, line, message, real in known_found + false:
            print(f"{'KNOWN' if real else 'FALSE'} {row['tag']} {row['path']}:{line} {rule} {message}")
        for row, rule, line in missed:
            print(f"MISSED {row['tag']} {row['path']}:{line} {rule}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

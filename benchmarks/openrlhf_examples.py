"""Run rmlint over every launch script OpenRLHF shipped in examples/, at every release tag.

Usage: python benchmarks/openrlhf_examples.py /path/to/OpenRLHF(.git) [--details] [--json OUT]

Each distinct script (one git blob; the same file unchanged across tags counts once) is judged under
the first release tag that shipped it. Printed:
- scripts: distinct examples/**/*.sh blobs, and how many hold an OpenRLHF launch (an `openrlhf.cli.*`
  module or an examples-era `train_*.py` script on a line that is not a comment or an echo);
- not understood: launch lines of an OpenRLHF program rmlint did not read (no invocation for them);
- wrong release: invocations whose inferred releases exclude the tag that shipped the script;
- errors: error findings, split into known real problems (KNOWN, with the reason) and false errors.
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

# Real problems of the shipped examples, checked against each release's own code:
# (rule, path, first tags that shipped the blob or None for every blob of the path) -> why it is real
KNOWN = {
    ("RM623", "examples/scripts/train_ppo_ray_hybrid_engine.sh", None):
        "normalize_reward on a release that pins transformers 5 (>= 0.9.5): mean/std buffers left uninitialised",
    ("RM623", "examples/scripts/serve_remote_rm.sh", None): "the same, for the served reward model",
    ("RM623", "examples/scripts/train_ppo_with_reward_fn.sh", None): "the same, for the critic",
    ("RM623", "examples/scripts/train_ppo_ray_slurm.sh", None): "the same, in the slurm + ray example",
    ("RM001", "examples/scripts/train_ppo_llama_ray_slurm.sh", ("v0.0.2", "v0.1.0", "v0.1.1", "v0.1.3", "v0.1.5")):
        "the script is cut inside a double quote: `bash -n` refuses it too",
    ("RM503", "examples/scripts/train_sft_mixtral_lora.sh", None):
        "LoRA + ZeRO-3 before 0.5.6: save_model writes adapter_model.safetensors from ZeRO-3 partitions",
    ("RM503", "examples/scripts/train_sft_jamba_lora.sh", None): "the same",
    ("RM304", "examples/scripts/train_grpo_llama_ray.sh", ("v0.6.0", "v0.6.0.post1")):
        "--n_samples_per_prompt 1 with group_norm: 0.6.0's train_ppo_ray asserts n_samples_per_prompt > 1",
    ("RM304", "examples/scripts/train_grpo_ray_hybrid_engine.sh", ("v0.6.0", "v0.6.0.post1")): "the same",
    ("RM401", "examples/scripts/train_dapo_ray_hybrid_engine.sh", ("v0.9.1.post1", "v0.9.2", "v0.9.8")):
        "--vllm_enable_is_correction: the release's flag is --enable_vllm_is_correction (argparse exits)",
    ("RM632", "examples/scripts/train_ppo_llama_ray_70b.sh", None):
        "the policy checkpoint given as --reward_pretrain: a fresh, random value head scores the rollouts",
    ("RM632", "examples/scripts/train_ppo_llama_ray_34b.sh", None): "the same",
}
# Real problems rmlint cannot see without the version: flags of an older release than the one shipping them
KNOWN_WRONG_RELEASE = {
    ("examples/scripts/train_conditional_llama.sh", "v0.1.1"): "--save_hf_model was removed from train_sft in 0.1.1",
    ("examples/scripts/train_conditional_llama.sh", "v0.1.9"): "the same",
    ("examples/scripts/train_ppo_llama_ray_slurm.sh", "v0.1.1"):
        "--reward_model_path and --sft_model_path were removed from train_ppo_ray in 0.1.1",
}


def known(rule: str, row: dict) -> str | None:
    for (k_rule, path, tags), why in KNOWN.items():
        if k_rule == rule and path == row["path"] and (tags is None or row["tag"] in tags):
            return why
    return None


_PROGRAM = re.compile(r"openrlhf[./]cli[./]([a-z_0-9]+)|(?:^|[\s/])((?:train|batch|interactive|serve)_[a-z_0-9]+)\.py\b")

_INDIRECT = re.compile(r"(?:-m|torchrun|deepspeed)\s+\$\{?training_commands|\$\{training_commands\}\"")


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


def launch_lines(text: str) -> list:
    """Line numbers that run an OpenRLHF program, by a reading independent of rmlint's."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "echo")):
            continue
        if _PROGRAM.search(stripped.split(" #", 1)[0]):
            lines.append(number)
    if not lines:   # the slurm wrappers: `source ./train_x.sh slurm`, then `torchrun ... -m ${training_commands}`
        lines = [n for n, line in enumerate(text.splitlines(), 1)
                 if _INDIRECT.search(line) and not line.lstrip().startswith(("#", "echo"))]
    return lines


def judge(path: str, text: str, tag: str) -> dict:
    """rmlint's `launches` records and error findings for one script, as `rmlint check` makes them."""
    from rmlint import inputs, lint
    from rmlint.openrlhf.flags import table
    records = []
    inputs.subjects_of_text(path, text, launches=records)
    result = lint.lint_paths([path])
    ours = [r for r in records if r["framework"] == "openrlhf" and r["understood"]]
    wrong_release = [(r["line"], r["program"], r["releases"]) for r in ours
                     if tag[1:] not in table().releases_in(r["releases"])]
    errors = [(f.rule, f.line, f.message) for f in result.findings if f.severity == "error"]
    warnings = [(f.rule, f.line, f.message) for f in result.findings if f.severity == "warning"]
    return {"launches": len(records), "understood": len(ours), "expected": launch_lines(text),
            "not_understood": [(r["line"], r["program"], r["reason"]) for r in records if not r["understood"]],
            "wrong_release": wrong_release, "errors": errors, "warnings": warnings}


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
                verdict = judge(place.name, text, tag)
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
    known_found, false = [], []
    for row in rows:
        for rule, line, message in row["errors"]:
            (known_found if known(rule, row) else false).append((row, rule, line, message))
    missed = [(r["path"], r["tag"]) for r in wrong if (r["path"], r["tag"]) in KNOWN_WRONG_RELEASE]
    print(f"invocations whose releases exclude the shipping tag {sum(len(r['wrong_release']) for r in wrong)}")
    print(f"error findings: known real {len(known_found)}, false {len(false)}")
    print(f"known problems missed: {len(missed)} (a flag its release had removed; needs the pinned version)")
    tally = Counter(rule for r in rows for rule, _, _ in r["warnings"])
    print("warnings by rule: " + (", ".join(f"{rule} {n}" for rule, n in sorted(tally.items())) or "none"))
    if args.details:
        for row in not_understood:
            print(f"NOT UNDERSTOOD {row['tag']} {row['path']} {row['not_understood']}")
        for row in wrong:
            print(f"WRONG RELEASE {row['tag']} {row['path']} {row['wrong_release']}")
        for row, rule, line, message in known_found + false:
            label = "KNOWN" if known(rule, row) else "FALSE"
            print(f"{label} {row['tag']} {row['path']}:{line} {rule} {message}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

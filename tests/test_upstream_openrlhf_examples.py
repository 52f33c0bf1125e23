"""OpenRLHF's own example launch scripts, one per launch shape across its history (examples-era
heredocs with `../train_*.py`, `examples/train_ppo_ray.py` under `ray job submit`, `deepspeed --module
$training_commands`, the three flag generations, slurm wrappers), fetched with the search tool's
read_file and listed in tests/fixtures/upstream/MANIFEST.tsv (repo, commit, path), each in a folder
named for the release that shipped it (its blob is that release's; for a commit between releases that no
tag shipped, `<first release containing it>@<commit>`, beside the tag's own blob).

Each script must be read (every OpenRLHF launch in it understood, in the `launches` records, with the
release that shipped it among the releases its flags fit) and give no error finding under that release but the real problems named
here. benchmarks/openrlhf_examples.py runs the same judgement over every tag of a local checkout.
"""

import os
from pathlib import Path

import pytest

from openrlhf_examples_known import release_of_folder
from rmlint import inputs, lint
from rmlint.policy import Policy
from rmlint.frameworks.openrlhf.flags import table

ROOT = Path(__file__).resolve().parent / "fixtures" / "upstream"

# fixture -> its launches as (program, line of the command), read by hand; all of OpenRLHF
LAUNCHES = {
    "openrlhf/v0.0.1/examples/scripts/interactive_chat_llama.sh": [("../interactive_chat.py", 5)],
    "openrlhf/v0.0.1/examples/scripts/train_ppo_llama_ray_34b.sh": [("examples/train_ppo_ray.py", 6)],
    "openrlhf/v0.1.1/examples/scripts/train_rm_llama.sh": [("../train_rm.py", 27)],
    "openrlhf/v0.1.5/examples/scripts/train_ppo_llama.sh": [("../train_ppo.py", 36)],
    "openrlhf/v0.1.9/examples/scripts/train_kto_llama.sh": [("../train_kto.py", 35)],
    "openrlhf/v0.1.9/examples/scripts/train_dpo_llama_34b.sh": [("../train_dpo.py", 31)],
    "openrlhf/v0.2.5/examples/scripts/train_knowledge_distillation.sh": [("../train_kd.py", 29)],
    "openrlhf/v0.3.1/examples/scripts/train_iterative_dpo_llama.sh": [
        ("../batch_inference.py", 52), ("../batch_inference.py", 69), ("../train_dpo.py", 89)],
    "openrlhf/v0.3.3@05ba000/examples/scripts/train_conditional_llama.sh": [("../batch_inference.py", 49),
                                                                      ("../train_sft.py", 52)],
    "openrlhf/v0.3.3/examples/scripts/train_rejection_sampling_llama.sh": [
        ("../batch_inference.py", 53), ("../batch_inference.py", 70), ("../train_sft.py", 90)],
    "openrlhf/v0.4.6@0840b98/examples/scripts/train_ppo_llama_ray.sh": [("openrlhf.cli.train_ppo_ray", 3)],
    "openrlhf/v0.6.0@00ef17c/examples/scripts/train_grpo_ray_hybrid_engine.sh": [("openrlhf.cli.train_ppo_ray", 3)],
    "openrlhf/v0.9.2/examples/scripts/train_ppo_ray_hybrid_engine.sh": [("openrlhf.cli.train_ppo_ray", 3)],
    "openrlhf/v0.9.2/examples/scripts/train_rm.sh": [("openrlhf.cli.train_rm", 31)],
    "openrlhf/v0.10.2/examples/scripts/train_ppo_ray_hybrid_engine.sh": [("openrlhf.cli.train_ppo_ray", 3)],
    "openrlhf/v0.10.2/examples/scripts/serve_remote_rm.sh": [("openrlhf.cli.serve_rm", 3)],
    "openrlhf/v0.10.2/examples/scripts/train_ppo_with_reward_fn.sh": [("openrlhf.cli.train_ppo_ray", 12)],
    "openrlhf/unreleased/examples/scripts/serve_remote_rm.sh": [("openrlhf.cli.serve_rm", 3)],
    "openrlhf/unreleased/examples/scripts/train_ppo_ray_slurm.sh": [("openrlhf.cli.train_ppo_ray", 56)],
    # the slurm wrapper of <= 0.9.x `source ./train_ppo_llama.sh slurm`s its sibling and runs
    # `torchrun ... -m ${training_commands}` from the sibling's heredoc
    "openrlhf/v0.4.1/examples/scripts/train_llama_slurm.sh": [("openrlhf.cli.train_ppo", 38)],
    "openrlhf/v0.4.1/examples/scripts/train_ppo_llama.sh": [("openrlhf.cli.train_ppo", 37)],
}
# the same wrapper without the sibling it sources: listed as not understood (RM006), naming the file
NOT_UNDERSTOOD = {"openrlhf/v0.3.0/examples/scripts/train_llama_slurm.sh": (
    39, "torchrun's program comes from a variable rmlint cannot see; ./train_ppo_llama.sh, which "
        "the script sources, is not found beside it or in the working directory")}

# Real problems of the shipped scripts, each checked against the release's own code
KNOWN = {
    # normalize_reward on releases that pin transformers 5 (RM623's story; OpenRLHF PR #1343)
    "openrlhf/v0.10.2/examples/scripts/train_ppo_ray_hybrid_engine.sh": [("RM623", 35)],
    "openrlhf/v0.10.2/examples/scripts/serve_remote_rm.sh": [("RM623", 8)],
    "openrlhf/v0.10.2/examples/scripts/train_ppo_with_reward_fn.sh": [("RM623", 42)],
    "openrlhf/unreleased/examples/scripts/serve_remote_rm.sh": [("RM623", 8)],
    # --n_samples_per_prompt 1 with group_norm: 0.6.0's train_ppo_ray asserts n_samples_per_prompt > 1
    "openrlhf/v0.6.0@00ef17c/examples/scripts/train_grpo_ray_hybrid_engine.sh": [("RM304", 20)],
}


def manifest() -> list:
    """(fixture relative to tests/fixtures/upstream, release that shipped it) of the OpenRLHF rows read by
    hand here; the release is the fixture's folder (`unreleased`: newer than every release tag).
    tests/test_openrlhf_examples_corpus.py judges every OpenRLHF fixture of the manifest."""
    rows = [line.split("\t") for line in (ROOT / "MANIFEST.tsv").read_text().splitlines()[1:] if line.strip()]
    prefix = "tests/fixtures/upstream/"
    here = set(LAUNCHES) | set(NOT_UNDERSTOOD)
    return [(row[3][len(prefix):], release_of_folder(row[3][len(prefix):].split("/")[1])) for row in rows
            if row[0] == "OpenRLHF/OpenRLHF" and row[3][len(prefix):] in here]


def records(fixture: str) -> list:
    found = []
    inputs.subjects_of_text(str(ROOT / fixture), (ROOT / fixture).read_text(), launches=found)
    for record in found:     # a launch's reasons are worded by their rule files, as `rmlint check` words them
        record["reason"] = Policy().word(record["reason"])
    return found


def test_every_fixture_read_by_hand_is_in_the_manifest_and_on_disk():
    listed = {fixture for fixture, _ in manifest()}
    assert listed == set(LAUNCHES) | set(NOT_UNDERSTOOD)
    assert all((ROOT / fixture).is_file() for fixture in listed)


@pytest.mark.parametrize("fixture,release", manifest())
def test_the_example_is_read_under_its_release(fixture, release):
    found = records(fixture)
    if fixture in NOT_UNDERSTOOD:
        assert [(r["line"], r["understood"], r["reason"]) for r in found] == [(*NOT_UNDERSTOOD[fixture][:1], False,
                                                                               NOT_UNDERSTOOD[fixture][1])]
        return
    assert [(r["program"], r["line"]) for r in found] == LAUNCHES[fixture]
    assert all(r["framework"] == "openrlhf" and r["understood"] for r in found)
    if release != "unreleased":
        for record in found:
            assert release[1:] in table().releases_in(record["releases"]), (record["program"], record["releases"])


@pytest.mark.parametrize("fixture", [fixture for fixture, _ in manifest()])
def test_no_false_errors_on_the_shipped_example(fixture, monkeypatch):
    monkeypatch.chdir(os.path.dirname(ROOT / fixture))   # the examples are run from their own folder
    result = lint.lint_paths([os.path.basename(fixture)])
    errors = [(f.rule, f.line) for f in result.findings if f.severity == "error"]
    assert errors == KNOWN.get(fixture, [])

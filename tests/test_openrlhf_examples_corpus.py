"""Every OpenRLHF example launch script committed as a fixture (tests/fixtures/upstream/openrlhf/<tag>/...
or <tag>@<commit>/... for a blob no tag shipped,
fetched with the search tool's read_file; MANIFEST.tsv gives repo, commit and path: OpenRLHF's, or a fork's
where only the fork held the tag's blob, checked byte for byte against OpenRLHF's blob id), judged as the release
of the first tag that shipped it (tests/openrlhf_examples_known.py):
- every launch line of an OpenRLHF program is understood as that program; a slurm wrapper that `source`s a
  sibling is read through it when the sibling its release shipped sits beside it, else listed as not
  understood naming the file;
- the error findings are exactly the known real problems, at the line of the flag or program they name.
benchmarks/openrlhf_examples.py runs the same judgement over every tag of a local checkout.
"""

import hashlib
from pathlib import Path

import pytest

from openrlhf_examples_known import (SOURCED, expected_errors, judge, launch_lines, launcher_line, program_of,
                                     programs_named, release_of_folder, sourced_script)

ROOT = Path(__file__).resolve().parent / "fixtures" / "upstream"
PREFIX = "tests/fixtures/upstream/openrlhf/"

# Tag blobs whose text was not read at OpenRLHF/OpenRLHF's own commit: fixture -> the OpenRLHF blob id the
# fixture must hash to (git hash-object), i.e. the file OpenRLHF shipped at that path in the folder's tag
# (blob ids from OpenRLHF's own history). A fork's MANIFEST row names the fork, its commit and path.
FROM_FORKS = {
    "v0.7.4/examples/scripts/train_sft_llama.sh": "4bf001f531a54d564716fa8a5a29b3013ae6c3a7",
    "v0.9.8/examples/scripts/train_reinforce_baseline_ray_agent_async.sh": "001e81d08a1879e9a4d71d7ad5ce15460f768b07",
    "v0.10.2/examples/scripts/train_dpo_llama.sh": "05c6c1c84e41f4b24bdde19977024fc2396e2691",
    # below: read by the index's file id (found by a string of its text; the tool names no repository);
    # the row names the commit of OpenRLHF's tag, whose blob it is
    "v0.10.2/examples/scripts/train_vlm_math_hybrid_engine.sh": "4d64c7e02f5225d47aea68a0715736426f1e34d2",
    "v0.4.1/examples/scripts/train_dpo_llama_34b.sh": "dba05def819d367296e47e38f0faad2bb26870aa",
    "v0.8.4/examples/scripts/train_llama_slurm.sh": "81d57a944b03f6eb2958c4928e29378fce3ed06a",
    "v0.8.10/examples/scripts/train_ppo_llama_ray_slurm.sh": "fbe39c492679e13c464c0c0711fb4321a6056d03",
    "v0.3.7/examples/scripts/train_conditional_llama.sh": "71a53637b0cda45546395b40c3756a41ab703a9f",
    "v0.1.1/examples/scripts/train_continue_pretrain_llama.sh": "e781f1686a1a48bf0eeb2ed960a8944033e9c4cb",
    "v0.1.7/examples/scripts/train_sft_mixtral_lora.sh": "b18c87b3f8eaed3b9b3e36a670d9fc3795460d58",
    "v0.4.1/examples/scripts/train_knowledge_distillation.sh": "687913c70c6da7a9f8fc5db424307b111ff2800b",
    "v0.8.10/examples/scripts/train_prm_mistral.sh": "00e59621258cf81ce53749a971a6f99ec73732c1",
    "v0.6.0.post1/examples/scripts/train_grpo_llama_ray.sh": "b7f96034aeb18e456bd112a603f85528dcba5d76",
}


def manifest() -> list:
    """(fixture path under tests/fixtures/upstream/openrlhf/, upstream path, tag) of the OpenRLHF rows."""
    rows = [line.split("\t") for line in (ROOT / "MANIFEST.tsv").read_text().splitlines()[1:] if line.strip()]
    found = []
    for repo, _commit, path, fixture in rows:
        relative = fixture[len(PREFIX):]
        if fixture.startswith(PREFIX) and (repo == "OpenRLHF/OpenRLHF" or relative in FROM_FORKS):
            found.append((relative, path, release_of_folder(relative.split("/", 1)[0])))
    return found


ROWS = manifest()


def test_every_fixture_is_in_the_manifest_once_at_its_upstream_path():
    listed = [relative for relative, _, _ in ROWS]
    on_disk = {str(p.relative_to(ROOT / "openrlhf")) for p in (ROOT / "openrlhf").rglob("*.sh")}
    assert len(listed) == len(set(listed))
    assert set(listed) == on_disk
    assert all(relative.split("/", 1)[1] == path for relative, path, _ in ROWS)
    assert len(ROWS) >= 20


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_a_fixture_read_from_a_fork_is_byte_for_byte_the_blob_openrlhf_shipped():
    rows = [line.split("\t") for line in (ROOT / "MANIFEST.tsv").read_text().splitlines()[1:] if line.strip()]
    forks = {fixture[len(PREFIX):]: repo for repo, _, _, fixture in rows
             if fixture.startswith(PREFIX) and repo != "OpenRLHF/OpenRLHF"}
    assert set(forks) <= set(FROM_FORKS)   # every fork row is vouched for by a blob id
    assert len(forks) >= 3
    assert {relative: git_blob_id((ROOT / "openrlhf" / relative).read_bytes()) for relative in FROM_FORKS} == FROM_FORKS
    assert {relative for relative, _, _ in ROWS} >= set(FROM_FORKS)


@pytest.mark.parametrize("relative,path,tag", ROWS, ids=[relative for relative, _, _ in ROWS])
def test_the_example_is_read_as_its_release_with_only_its_known_errors(relative, path, tag, monkeypatch):
    fixture = ROOT / "openrlhf" / relative
    text = fixture.read_text()
    monkeypatch.chdir(fixture.parent)   # the examples are run from their own folder
    verdict = judge(fixture.name, text, tag)
    records = verdict["records"]
    if path in SOURCED:
        sibling = fixture.parent / sourced_script(text)
        if sibling.is_file():   # the script it sources, as the same release shipped it, is beside it
            assert records and all(r["framework"] == "openrlhf" and r["understood"] for r in records), records
            assert sorted(program_of(r) for r in records) == programs_named(sibling.read_text())
        else:
            assert [(r["line"], r["understood"], sibling.name in r["reason"]) for r in records] == \
                [(launcher_line(text, launch_lines(text)[0]), False, True)]
    else:
        assert programs_named(text), "a fixture without an OpenRLHF launch line"
        assert all(r["framework"] == "openrlhf" and r["understood"] for r in records), records
        assert sorted(program_of(r) for r in records) == programs_named(text)
    assert verdict["errors"] == expected_errors(path, tag, text), verdict["messages"]
    assert verdict["rule_errors"] == []   # every rule's check ran on it (none failed on an odd fact)

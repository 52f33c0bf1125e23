"""One file, one identity: a file reached by two spellings, or from a walk and from the config that
names it, is read and reported once; results do not depend on the current folder or the order of
the arguments; settings are the nearest settings file of each file (as ruff); exclusion as ruff."""

import json
import os
import shutil
import subprocess

from conftest import ROOT, cli

BROKEN_DS = '{\n  "train_batch_size": 8,\n  "fp16": {"enabled": true},\n  "bf16": {"enabled": true}\n}\n'


def findings(*args) -> list:
    result = cli("check", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)["findings"]


def where(found: list) -> list:
    """Findings with their files as real paths: what is found, whatever the folder it is run from."""
    return sorted((os.path.realpath(f["path"]), f["line"], f["column"], f["rule"], f["message"]) for f in found)


def test_one_file_by_two_spellings_is_reported_once(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "ds.json").write_text(BROKEN_DS)
    monkeypatch.chdir(tmp_path)
    found = findings("./configs/ds.json", "configs/ds.json")
    assert [(f["path"], f["line"], f["column"], f["rule"]) for f in found] == [("configs/ds.json", 4, 12, "RM101")]
    assert json.loads(cli("check", "--format", "json", "./configs/ds.json", "configs", ".").output)["summary"]["files"] == 1
    text = cli("check", "./configs/ds.json", "configs/ds.json").output
    assert text.count("RM101") == 1 and "in 1 file checked" in text


def _case(tmp_path):
    """A repository whose accelerate config names its DeepSpeed file relative to the repository root
    (where `accelerate launch` runs), with settings of its own in legacy/."""
    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    (repo / "legacy").mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy(ROOT / "sample_configs" / "accelerate-broken" / "ds_z3.json", repo / "configs" / "ds_z3.json")
    text = (ROOT / "sample_configs" / "accelerate-broken" / "accelerate_zero3.yaml").read_text()
    (repo / "configs" / "accelerate.yaml").write_text(text.replace("ds_z3.json", "configs/ds_z3.json"))
    (repo / "legacy" / "ds.json").write_text(BROKEN_DS)
    (repo / "legacy" / ".rmlint.yaml").write_text("ignore: [RM101]\n")
    (repo / "train_rm.sh").write_text("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 "
                                      "--load_in_4bit --lora_rank 8\n")
    return repo


def test_results_do_not_depend_on_the_folder_or_the_argument_order(tmp_path, monkeypatch):
    repo = _case(tmp_path)
    expected = [(str(repo / "configs" / "accelerate.yaml"), 6, 3, "RM232"),
                (str(repo / "configs" / "accelerate.yaml"), 13, 1, "RM230"),
                (str(repo / "configs" / "ds_z3.json"), 5, 5, "RM207"),
                (str(repo / "train_rm.sh"), 1, 62, "RM201"),
                (str(repo / "train_rm.sh"), 1, 92, "RM601")]
    runs = []
    for folder in (repo, repo / "configs", repo / "legacy", tmp_path, "/"):
        monkeypatch.chdir(folder)
        for order in ([repo / "train_rm.sh", repo / "legacy" / "ds.json", repo / "configs" / "accelerate.yaml"],
                      [repo / "configs" / "accelerate.yaml", repo / "legacy" / "ds.json", repo / "train_rm.sh"]):
            names = [os.path.relpath(p) for p in order]
            runs.append(where(findings(*names)))
            if folder == repo:    # the DeepSpeed file is named by the accelerate config and found by the walk
                runs.append(where(findings(".")))
    assert [f[:4] for f in runs[0]] == expected      # legacy/ds.json's RM101 is ignored by legacy/.rmlint.yaml
    assert all(run == runs[0] for run in runs)


def test_nearest_settings_apply_to_each_file(tmp_path, monkeypatch):
    repo = _case(tmp_path)
    monkeypatch.chdir(repo)
    assert [f["rule"] for f in findings("legacy/ds.json")] == []
    assert cli("check", "--config", str(tmp_path / "none.yaml"), "legacy/ds.json").exit_code == 2
    (tmp_path / "strict.yaml").write_text("select: [RM1]\n")
    assert [f["rule"] for f in findings("--config", str(tmp_path / "strict.yaml"), "legacy/ds.json", "train_rm.sh")] \
        == ["RM101"]                         # --config forces one settings file for every file


def test_check_without_a_path_checks_the_current_folder(tmp_path, monkeypatch):
    repo = _case(tmp_path)
    monkeypatch.chdir(repo)
    assert cli("check").output == cli("check", ".").output
    assert "Found 5 errors" in cli("check").output


def test_show_settings_alone_and_for_a_path(tmp_path, monkeypatch):
    repo = _case(tmp_path)
    monkeypatch.chdir(repo)
    alone = cli("check", "--show-settings")
    assert alone.exit_code == 0 and json.loads(alone.output)["source"] is None
    legacy = json.loads(cli("check", "--show-settings", "legacy/ds.json").output)
    assert legacy["source"] == str(repo / "legacy" / ".rmlint.yaml") and legacy["ignore"] == ["RM101"]
    assert "RM101" not in legacy["rules"] and "RM101" in json.loads(alone.output)["rules"]


def test_walks_leave_out_excluded_and_git_ignored_files(tmp_path, monkeypatch):
    repo = _case(tmp_path)
    (repo / ".gitignore").write_text("saves/\n*.local.json\n!keep.local.json\n")
    for name in ("saves/ds.json", "node_modules/pkg/ds.json", "a.local.json", "keep.local.json", "old/x/ds.json"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(BROKEN_DS)
    monkeypatch.chdir(repo)
    paths = {f["path"] for f in findings(".")}
    assert paths == {"configs/accelerate.yaml", "configs/ds_z3.json", "train_rm.sh", "keep.local.json", "old/x/ds.json"}
    paths = {f["path"] for f in findings("--extend-exclude", "old/", "--no-respect-gitignore", ".")}
    assert paths == {"configs/accelerate.yaml", "configs/ds_z3.json", "train_rm.sh", "keep.local.json",
                     "a.local.json", "saves/ds.json"}
    (repo / "pyproject.toml").write_text('[tool.rmlint]\nextend-exclude = ["configs/*.yaml"]\n')
    assert "configs/accelerate.yaml" not in {f["path"] for f in findings(".")}
    # a path given explicitly is read unless --force-exclude (what the pre-commit hook passes)
    assert [f["rule"] for f in findings("saves/ds.json")] == ["RM101"]
    assert [f["rule"] for f in findings("--force-exclude", "saves/ds.json")] == ["RM101"]   # exclude, not .gitignore
    assert [f["rule"] for f in findings("--force-exclude", "configs/accelerate.yaml")] == []
    assert [f["rule"] for f in findings("--force-exclude", "node_modules/pkg/ds.json")] == []


def test_fix_edits_a_file_named_twice_once(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    config = tmp_path / "configs" / "ds.json"
    config.write_text('{\n  "train_batch_size": 8,\n  "zero_optimization": {"stage": 2, "overlap_com": true}\n}\n')
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--fix", "./configs/ds.json", "configs/ds.json")
    assert "Fixed 1 finding in 1 file:" in result.output
    assert result.output.count("RM207") == 1 and "configs/ds.json: RM207" in result.output
    assert '"overlap_comm": true' in config.read_text()


def test_a_model_named_relative_to_the_repository_is_inspected_from_any_folder(tmp_path, monkeypatch):
    from conftest import FIXTURES
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "ckpt").symlink_to(FIXTURES / "zero_head")
    script = repo / "scripts" / "serve.sh"
    script.write_text("deepspeed --module openrlhf.cli.serve_rm --reward_pretrain ./ckpt --bf16\n")
    for folder in (repo, repo / "scripts", "/"):
        monkeypatch.chdir(folder)
        found = findings(str(script))
        assert [(f["rule"], f["line"], f["column"]) for f in found] == [("RM615", 1, 42)], folder

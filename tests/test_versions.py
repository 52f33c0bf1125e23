"""Target versions as facts: where each comes from (settings, installed, pins), and the verdicts that
depend on them (DeepSpeed keys per release, the OpenRLHF release a launch's flags fit)."""

import json

import pytest

from conftest import ROOT, run_rmlint

HERE = {"PYTHONPATH": str(ROOT)}   # run outside the checkout: still this checkout's rmlint
from rmlint.config import ConfigError, Settings, load
from rmlint.lint import lint_argv, lint_paths
from rmlint.versions import Version, pins_in_text, repository_pins, resolve

ZERO3_BUCKET_0 = '{"train_micro_batch_size_per_gpu": 1,\n "zero_optimization": {"stage": 3, "reduce_bucket_size": 0}}\n'


def pinned(text: str, kind: str) -> dict:
    return {package: (v.text, v.source) for package, v in pins_in_text(text, "f", kind).items()}


def test_pins_are_read_from_each_kind_of_file():
    assert pinned("# training\ntorch>=2.4\ndeepspeed==0.16.4  # z3\nopenrlhf[vllm]==0.11.0 ; python_version>'3'\n"
                  "peft~=0.13\n", "requirements") == {"deepspeed": ("0.16.4", "f:3"), "openrlhf": ("0.11.0", "f:4")}
    assert pinned('[project]\nname = "x"\ndependencies = ["transformers==4.57.1", "trl>=0.20"]\n'
                  '[project.optional-dependencies]\ntest = ["deepspeed==0.19.8"]\n', "pyproject") == {
        "transformers": ("4.57.1", "f:3")}     # extras are not the training environment
    assert pinned('[tool.poetry.dependencies]\npython = "^3.10"\ntorch = "2.4.0"\npeft = {version = "0.13.2", '
                  'optional = true}\ntrl = "^0.20"\n', "pyproject") == {"torch": ("2.4.0", "f:3"), "peft": ("0.13.2", "f:4")}
    assert pinned('[[package]]\nname = "deepspeed"\nversion = "0.15.4"\nsource = { registry = "x" }\n\n'
                  '[[package]]\nname = "bitsandbytes"\nversion = "0.42.0"\n', "lock") == {
        "deepspeed": ("0.15.4", "f:2"), "bitsandbytes": ("0.42.0", "f:7")}
    assert pinned("dependencies:\n  - python=3.11\n  - pytorch=2.4.0\n  - pip:\n    - deepspeed==0.14.4\n",
                  "conda") == {"deepspeed": ("0.14.4", "f:5")}
    assert pinned("FROM nvcr.io/pytorch:24.05\nRUN pip install --no-cache-dir \\\n    deepspeed==0.17.1 "
                  "flash-attn\nRUN echo deepspeed==9.9.9\n", "pip-install") == {"deepspeed": ("0.17.1", "f:3")}


def test_order_is_settings_installed_script_then_repository(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("deepspeed==0.16.4\ntransformers==4.57.1\npeft==0.13.0\n")
    (tmp_path / "uv.lock").write_text('[[package]]\nname = "peft"\nversion = "0.14.0"\n')
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "requirements-train.txt").write_text("bitsandbytes==0.42.0\n")
    settings = Settings(versions={"transformers": "5.1.0"}, source=str(tmp_path / "pyproject.toml"))
    found = resolve(settings, str(folder), script="pip install trl==0.19.0 deepspeed==0.15.0\n",
                    script_path="run.sh", use_installed=False)
    assert found["transformers"] == Version("5.1.0", f"settings ({tmp_path / 'pyproject.toml'})")
    assert found["deepspeed"] == Version("0.15.0", "run.sh:1")          # the launch script over the repository
    assert found["trl"].text == "0.19.0"
    assert found["peft"] == Version("0.14.0", f"{tmp_path / 'uv.lock'}:2")   # the lock file over requirements
    assert found["bitsandbytes"] == Version("0.42.0", f"{folder / 'requirements-train.txt'}:1")
    assert not found["axolotl"].known and found["axolotl"].source == "unknown"
    assert resolve(Settings(), str(folder), use_installed=True)["deepspeed"] == Version("0.19.8", "installed")


def test_pins_stop_at_the_repository_root(tmp_path):
    (tmp_path / "requirements.txt").write_text("deepspeed==0.16.4\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert repository_pins(str(repo)) == {}
    assert repository_pins(str(tmp_path))["deepspeed"].text == "0.16.4"


def test_settings_versions_are_checked(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.rmlint.versions]\ndeepspeed = "0.16.4"\n')
    assert load(str(path)).versions == {"deepspeed": "0.16.4"}
    path.write_text('[tool.rmlint.versions]\ndeepspeeed = "0.16.4"\n')
    with pytest.raises(ConfigError, match="unknown package `versions.deepspeeed`; did you mean `deepspeed`"):
        load(str(path))
    path.write_text('[tool.rmlint.versions]\ndeepspeed = 0.16\n')
    with pytest.raises(ConfigError, match="must be a version string"):
        load(str(path))


@pytest.fixture
def zero3(tmp_path):
    def make(requirements: str | None):
        folder = tmp_path / (requirements or "nopin").replace("=", "_")
        folder.mkdir()
        (folder / ".git").mkdir()
        (folder / "ds_z3.json").write_text(ZERO3_BUCKET_0)
        if requirements:
            (folder / "requirements.txt").write_text(f"torch\n{requirements}\n")
        return folder
    return make


def bucket_findings(folder) -> list:
    done = run_rmlint("check", "--select", "RM225", "--format", "json", "ds_z3.json", cwd=folder, env=HERE)
    return [(f["rule"], f["line"], f["message"]) for f in json.loads(done.stdout)["findings"]], done.returncode


def test_reduce_bucket_size_0_is_judged_for_the_pinned_deepspeed(zero3):
    """DeepSpeed <= 0.19.5 declares reduce_bucket_size with ge=0, 0.19.6 on with gt=0
    (tests/test_deepspeed_releases.py shows both with the real releases)."""
    assert bucket_findings(zero3("deepspeed==0.16.4")) == ([], 0)
    assert bucket_findings(zero3("deepspeed==0.19.8")) == ([
        ("RM225", 2, "`zero_optimization.reduce_bucket_size` is 0; DeepSpeed accepts greater than 0 "
                     "(DeepSpeed 0.19.8, from requirements.txt:2)")], 1)
    assert bucket_findings(zero3(None)) == ([
        ("RM225", 2, "`zero_optimization.reduce_bucket_size` is 0; DeepSpeed accepts greater than 0 "
                     "(DeepSpeed >= 0.19.6; the DeepSpeed version is not known)")], 1)


def test_every_deepspeed_release_from_0_10_is_in_the_table_0_12_4_included(tmp_path):
    """0.11.0, 0.12.4-0.12.6 and 0.13.0 were missing (pip could not prepare two sdists; 0.12.4-0.12.6 recurse in
    get_accelerator with DS_ACCELERATOR=cuda) and a pin to them was read as the release before: a key
    0.12.4 added (zero_optimization.use_multi_rank_bucket_allreduce) was an error for a launch pinned to 0.12.4."""
    from rmlint.frameworks.deepspeed.releases import DATA
    table = json.loads(DATA.read_text())
    assert table["skipped"] == [] and {"0.11.0", "0.12.4", "0.12.5", "0.12.6", "0.13.0"} <= set(table["releases"])
    (tmp_path / ".git").mkdir()
    (tmp_path / "ds.json").write_text('{"train_micro_batch_size_per_gpu": 1,\n "zero_optimization": '
                                      '{"stage": 2, "use_multi_rank_bucket_allreduce": false}}\n')
    found = {}
    for version in ("0.12.3", "0.12.4", "0.13.0"):
        (tmp_path / "requirements.txt").write_text(f"deepspeed=={version}\n")
        done = run_rmlint("check", "--select", "RM207", "--format", "json", "ds.json", cwd=tmp_path, env=HERE)
        found[version] = [(f["rule"], f["line"]) for f in json.loads(done.stdout)["findings"]]
    assert found == {"0.12.3": [("RM207", 2)], "0.12.4": [], "0.13.0": []}


def test_settings_win_and_show_settings_and_json_name_the_source(zero3):
    folder = zero3("deepspeed==0.19.8")
    (folder / ".rmlint.yaml").write_text("versions:\n  deepspeed: 0.16.4\n")
    assert bucket_findings(folder) == ([], 0)
    shown = json.loads(run_rmlint("check", "--show-settings", "ds_z3.json", cwd=folder, env=HERE).stdout)
    assert shown["versions"] == {"deepspeed": "0.16.4"}
    assert shown["target-versions"]["deepspeed"] == {"version": "0.16.4", "source": "settings (.rmlint.yaml)"}
    assert shown["target-versions"]["peft"] == {"version": None, "source": "unknown"}
    document = json.loads(run_rmlint("check", "--format", "json", "ds_z3.json", cwd=folder, env=HERE).stdout)
    assert document["versions"]["deepspeed"] == {"version": "0.16.4", "source": "settings (.rmlint.yaml)"}


def test_check_versions_installed_reads_the_installed_distributions(zero3):
    folder = zero3("deepspeed==0.16.4")
    done = run_rmlint("check", "--versions", "installed", "--select", "RM225", "ds_z3.json", cwd=folder, env=HERE)
    assert done.returncode == 1
    assert "(DeepSpeed 0.19.8, from installed)" in done.stdout      # the test extra pins deepspeed==0.19.8


FLAT_RM = ["deepspeed", "--module", "openrlhf.cli.train_rm", "--pretrain", "m", "--bf16", "--zero_stage", "2"]


def test_the_openrlhf_pin_narrows_the_releases_and_a_disagreement_is_a_finding():
    def pin(version):
        return Settings(versions={"openrlhf": version}, installed_versions=False)
    found = lint_argv(FLAT_RM, settings=pin("0.11.0"), select=["RM430"])
    assert [(f.rule, f.message) for f in found.findings] == [
        ("RM430", "OpenRLHF 0.11.0 (settings) has no `--pretrain`, `--bf16`, `--zero_stage`; the flags fit "
                  "OpenRLHF 0.3.6 - 0.9.1.post1")]
    assert lint_argv(FLAT_RM, settings=pin("0.9.1"), select=["RM430"]).findings == []


def test_the_launch_script_pip_install_pins_openrlhf(tmp_path):
    script = tmp_path / "train.sh"
    script.write_text("pip install openrlhf==0.11.0\n" + " ".join(FLAT_RM) + "\n")
    result = lint_paths([script], select=["RM430"], settings=Settings(installed_versions=False))
    assert [(f.rule, f.line, f.message) for f in result.findings] == [
        ("RM430", 2, f"OpenRLHF 0.11.0 ({script}:1) has no `--pretrain`, `--bf16`, `--zero_stage`; the flags "
                     "fit OpenRLHF 0.3.6 - 0.9.1.post1")]
PPO_DOTTED = ["python3", "-m", "openrlhf.cli.train_ppo_ray", "--actor.model_name_or_path", "a",
              "--reward.model_name_or_path", "r", "--vllm.num_engines", "2"]


def test_a_launch_pinned_to_0_11_2_is_read_as_0_11_2():
    """0.11.2 added --actor.loss_agg_mode and removed --algo.advantage.is_correction_enable (openrlhf_flags.json)."""
    pinned = Settings(versions={"openrlhf": "0.11.2"}, installed_versions=False)
    new_flag = lint_argv(PPO_DOTTED + ["--actor.loss_agg_mode", "seq-mean-token-mean"], settings=pinned)
    assert [f.rule for f in new_flag.findings if f.rule in ("RM401", "RM402", "RM430")] == []
    removed = lint_argv(PPO_DOTTED + ["--algo.advantage.is_correction_enable"], settings=pinned, select=["RM430"])
    assert [f.message for f in removed.findings] == [
        "OpenRLHF 0.11.2 (settings) has no `--algo.advantage.is_correction_enable`; the flags fit OpenRLHF "
        "0.10.2 - 0.11.1"]


def test_one_release_key_orders_every_frameworks_releases_as_pip_does():
    """The OpenRLHF, DeepSpeed and verl tables (and pins with post-releases, two-part and local versions) sort by
    `release_key` exactly as PEP 440 (packaging.version, what pip compares with) sorts them."""
    from packaging.version import Version
    from rmlint.frameworks.deepspeed.releases import releases
    from rmlint.frameworks.openrlhf.flags import table
    from rmlint.frameworks.verl.config import releases as verl_releases
    from rmlint.versions import number, release_key
    pins = ["0.2", "0.2.0.post1", "0.16.4+cu121", "0.10.1.post2", "0.10.2", "1.0", "0.9.10"]
    for versions in (table().versions, releases().versions,
                     [name[1:] for name in verl_releases() if name.startswith("v")], pins):
        assert sorted(versions, key=release_key) == sorted(versions, key=Version)
    assert (release_key("0.3.0.post1"), release_key("0.2"), number("0.16.4"), number("0.10.1.post2")) == (
        (0, 3, 0, 1), (0, 2, 0, 0), 1604, 1001)

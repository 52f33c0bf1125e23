"""verl's key table against the releases' own configs (wheels from the registry, `pip download --no-deps`,
never installed): Hydra composes each release's `verl/trainer/config` as `@hydra.main` does, in a fresh
interpreter per release (Hydra's config search path is global), and

- the table holds exactly the composed keys of every release from 0.7.1 on (the ones read from wheels);
- under a verl pin, rmlint refuses an override exactly when that release's Hydra refuses it: a key new in a
  late release is clean under a pin to it and RM641 under an older pin, a key a late release dropped is
  RM641 under that release, and an upstream script is judged by the release it is pinned to.
"""

import json
import random
import shutil
import subprocess
import sys
import types

import pytest

from conftest import ROOT
from upstream import wheels_tree

WHEEL_RELEASES = ["0.7.1", "0.8.0", "0.9.0", "0.9.1"]
CONFIGS = ["ppo_trainer", "ppo_megatron_trainer", "sft_trainer_engine", "evaluation"]
DAPO = ROOT / "tests/fixtures/upstream/verl/sglang_multiturn/run_qwen3_4b_dapo_multiturn.sh"

_COMPOSE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from rmlint.frameworks.verl.config import flatten
folder, jobs = sys.argv[2], json.loads(sys.stdin.read())
out = []

def peel(name, overrides):
    # Hydra names the first override it refuses: drop it and compose again, until the rest composes
    refused = []
    while True:
        try:
            compose(config_name=name, overrides=overrides)
            return refused
        except Exception as err:
            found = [o for o in overrides if f"'{o.split('=')[0].lstrip('+~')}'" in str(err)]
            if not found:
                raise
            refused.append(found[0])
            overrides = [o for o in overrides if o != found[0]]

def migrated(name, overrides):
    # verl's own migrate_legacy_reward_impl (experimental/reward_loop/reward_loop.py), run on the composed config
    import ast
    from pathlib import Path
    from omegaconf import open_dict
    source = (Path(folder).parents[1] / "experimental/reward_loop/reward_loop.py").read_text()
    function = next(n for n in ast.parse(source).body if getattr(n, "name", "") == "migrate_legacy_reward_impl")
    space = {"open_dict": open_dict}
    exec(compile(ast.Module(body=[function], type_ignores=[]), "reward_loop.py", "exec"), space)
    config = space["migrate_legacy_reward_impl"](compose(config_name=name, overrides=overrides))
    return {"enable": config.reward.reward_model.enable, "model_path": config.reward.reward_model.model_path}

with initialize_config_dir(config_dir=folder, version_base=None):
    for name, overrides in jobs:
        if name.startswith("peel:"):
            out.append({"refused": peel(name[5:], overrides)})
            continue
        if name.startswith("migrate:"):
            out.append(migrated(name[8:], overrides))
            continue
        try:
            config = compose(config_name=name, overrides=overrides)
        except Exception as err:
            out.append({"error": f"{type(err).__name__}: {err} ({err.__cause__})"})
            continue
        flat = {}
        flatten(OmegaConf.to_container(config, resolve=False), "", flat)
        out.append({"keys": sorted(flat)})
print(json.dumps(out))
"""


def hydra(release: str, jobs: list) -> list:
    """[(config name, overrides)] composed by Hydra over the release's wheel: {"keys"} or {"error"} each."""
    folder = wheels_tree(f"verl=={release}") / "verl" / "trainer" / "config"
    done = subprocess.run([sys.executable, "-c", _COMPOSE, str(ROOT), str(folder)], input=json.dumps(jobs),
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


def table_keys(config: str, release: str) -> set:
    from rmlint.frameworks.verl.config import keys, releases
    index = releases().index("v" + release)
    return {key for key, found in keys(config).items() if index in found["in"]}


def refusals(override: str, release: str | None) -> list:
    """rmlint's trainer.refused items for one override under a pin (None: no pin)."""
    from rmlint.frameworks import hydra as hydra_lines
    from rmlint.frameworks.verl.config import tree
    from rmlint.frameworks.verl.launch import refused
    from rmlint.versions import Version, Versions, target
    line = hydra_lines.parse([types.SimpleNamespace(text=override, at=types.SimpleNamespace(path="", line=1, column=1),
                                                    known=True, opaque=False)])
    pins = Versions({"verl": Version(release, "test")} if release else {})
    with target(pins):
        return refused(line, tree("ppo_trainer"))


@pytest.mark.parametrize("release", WHEEL_RELEASES)
def test_the_table_holds_each_releases_composed_configs(release):
    composed = hydra(release, [[name, []] for name in CONFIGS])
    for name, found in zip(CONFIGS, composed):
        assert set(found["keys"]) == table_keys(name, release), name


def _sample(release: str, seed: int) -> list:
    """Keys of ppo_trainer from the table: 8 that another release from 0.7.0 on has and the table says this one
    lacks, 12 the table says it has."""
    from rmlint.frameworks.verl.config import keys, releases
    first, index = releases().index("v0.7.0"), releases().index("v" + release)
    table = keys("ppo_trainer")
    lacks = sorted(k for k, v in table.items() if max(v["in"]) >= first and index not in v["in"])
    has = sorted(k for k, v in table.items() if index in v["in"])
    rng = random.Random(seed)
    return rng.sample(lacks, 8) + rng.sample(has, 12)


@pytest.mark.parametrize("release", ["0.7.0"] + WHEEL_RELEASES)
def test_a_pinned_release_refuses_what_its_hydra_refuses(release):
    # the overrides rmlint accepts are composed together (one refusal would fail the whole compose), each
    # one rmlint refuses alone (each must fail): Hydra's compose of this config takes about a second
    overrides = [f"{key}=null" for key in _sample(release, seed=7)]
    refused = [o for o in overrides if refusals(o, release)]
    accepted = [o for o in overrides if o not in refused]
    answers = hydra(release, [["ppo_trainer", accepted]] + [["ppo_trainer", [o]] for o in refused])
    assert "error" not in answers[0], answers[0]
    assert [o for o, answer in zip(refused, answers[1:]) if "not in struct" not in answer.get("error", "")] == []
    assert len(refused) >= 5 and len(accepted) >= 5     # the sample holds keys this release has and lacks


def test_a_key_new_in_a_late_release_is_clean_under_it_and_refused_under_an_older_pin():
    key = "algorithm.filter_groups.enable=True"
    assert "error" not in hydra("0.9.0", [["ppo_trainer", [key]]])[0]
    assert "Key 'filter_groups' is not in struct" in hydra("0.8.0", [["ppo_trainer", [key]]])[0]["error"]
    assert refusals(key, "0.9.0") == [] and refusals(key, "0.9.1") == [] and refusals(key, None) == []
    [item] = refusals(key, "0.8.0")
    assert (item["release"], item["source"], item["known_in"], item["error"]) == (
        "0.8.0", "test", "0.9.0–0.9.1", "Key 'filter_groups' is not in struct")


def test_a_key_a_late_release_dropped_is_refused_under_it():
    # 0.7.1 moved the reward model's batch keys out of `reward_model` (the legacy worker keys)
    key = "reward_model.micro_batch_size_per_gpu=4"
    assert "error" not in hydra("0.7.0", [["ppo_trainer", [key]]])[0]
    assert "Key 'micro_batch_size_per_gpu' is not in struct" in hydra("0.9.1", [["ppo_trainer", [key]]])[0]["error"]
    assert refusals(key, "0.7.0") == []
    [item] = refusals(key, "0.9.1")
    assert item["known_in"] == "0.2–0.7.0" and item["error"] == "Key 'micro_batch_size_per_gpu' is not in struct"


def test_a_pin_newer_than_the_table_or_unknown_accepts_what_any_release_has():
    assert refusals("reward_model.micro_batch_size_per_gpu=4", "0.10.0") == []
    assert refusals("algorithm.filter_groups.enable=True", "0.10.0") == []
    [item] = refusals("algorithm.filter_groupz.enable=True", "0.10.0")
    assert item["known_in"] == "" and item["suggestion"] == "algorithm.filter_groups.enable"


def _fixture_overrides() -> list:
    """(line, override) of the fixture's verl launch, as rmlint reads them (unknown values set to null: only
    the keys are judged here)."""
    from rmlint.frameworks import hydra as hydra_lines
    from rmlint.sources import shell
    script = shell.parse(DAPO.read_text())
    command = next(c for c in script.commands if "verl.trainer.main_ppo" in [w.text for w in c.words])
    texts = [w.text for w in command.words]
    words = command.words[texts.index("verl.trainer.main_ppo") + 1:]
    line = hydra_lines.parse([types.SimpleNamespace(text=w.text, at=w.offset, known=w.known, opaque=w.opaque)
                              for w in words])
    text = DAPO.read_text()
    return [(text.count("\n", 0, o.at) + 1, f"{o.prefix}{o.key}={o.text if o.known else 'null'}")
            for o in line.overrides if not o.group]


def _lint_pinned(tmp_path, release: str | None) -> list:
    from rmlint.lint import lint_paths
    shutil.copy(DAPO, tmp_path / DAPO.name)
    if release:
        (tmp_path / "requirements.txt").write_text(f"torch\nverl=={release}\n")
    result = lint_paths([str(tmp_path / DAPO.name)])
    return [(f.rule, f.line, f.message) for f in result.findings if f.severity == "error"]


@pytest.mark.parametrize("release", ["0.7.0", "0.8.0", "0.9.1"])
def test_verls_sglang_dapo_example_is_refused_by_each_release_as_its_hydra_refuses_it(tmp_path, monkeypatch, release):
    # written at main 02dfc6f2 (August 2025), where Hydra refused `algorithm.filter_groups.enable` (line 91: no
    # key of the composed config then); verl 0.9.0 added it to the config, and 0.7.1 dropped the rollout's
    # `update_weights_bucket_megabytes` (line 79): no release takes both lines
    monkeypatch.chdir(tmp_path)
    overrides = _fixture_overrides()
    [answer] = hydra(release, [["peel:ppo_trainer", [o for _, o in overrides]]])
    lines = [line for line, o in overrides if o in answer["refused"]]
    found = _lint_pinned(tmp_path, release)
    assert [(rule, line) for rule, line, _ in found] == [("RM641", line) for line in lines]
    assert lines == {"0.7.0": [91], "0.8.0": [79, 91], "0.9.1": [79]}[release]
    assert found[-1][2] == (
        f"verl {release} (requirements.txt:2) refuses `actor_rollout_ref.rollout.update_weights_bucket_megabytes` "
        "(Key 'update_weights_bucket_megabytes' is not in struct); the key is in verl 0.5.0–0.7.0"
        if release == "0.9.1" else f"verl {release} (requirements.txt:2) refuses `algorithm.filter_groups.enable` "
        "(Key 'filter_groups' is not in struct); the key is in verl 0.9.0–0.9.1")


def test_verls_sglang_dapo_example_is_clean_without_a_pin(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _lint_pinned(tmp_path, None) == []


def test_a_plus_override_follows_the_default_of_the_pinned_release():
    # reward_model.enable is false up to 0.7.0 and null from 0.7.1: Hydra appends with `+` only over null
    key = "+reward_model.enable=True"
    assert "Could not append to config" in hydra("0.7.0", [["ppo_trainer", [key]]])[0]["error"]
    assert "error" not in hydra("0.9.1", [["ppo_trainer", [key]]])[0]
    assert [item["kind"] for item in refusals(key, "0.7.0")] == ["exists"]
    assert refusals(key, "0.9.1") == []
    assert refusals(key, None) == []     # some release takes it


REWARD_LAUNCH = ("python3 -m verl.trainer.main_ppo algorithm.adv_estimator=grpo data.train_batch_size=64 "
                 "actor_rollout_ref.actor.ppo_mini_batch_size=32 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 "
                 "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4 trainer.n_gpus_per_node=8 "
                 "trainer.nnodes=1 actor_rollout_ref.model.path=Qwen/Qwen2.5-7B-Instruct ")


def _reward_findings(tmp_path, text: str, release: str | None) -> list:
    from rmlint.lint import lint_paths
    (tmp_path / "run.sh").write_text((f"pip install verl=={release}\n" if release else "\n") + text + "\n")
    return [(f.rule, f.line, f.column, f.message) for f in lint_paths([str(tmp_path / "run.sh")]).findings
            if f.rule in ("RM632", "RM633")]


def test_the_reward_model_under_its_new_keys_is_the_one_verl_runs(tmp_path, monkeypatch):
    # from 0.7.1 the reward model is `reward.reward_model.{enable,model_path}`; verl's migrate_legacy_reward_impl
    # copies the legacy `reward_model.enable` / `reward_model.model.path` over them when those are not null
    monkeypatch.chdir(tmp_path)
    new = ["reward.reward_model.enable=True", "reward.reward_model.model_path=Qwen/Qwen2.5-7B-Instruct"]
    legacy = ["reward_model.enable=True", "reward_model.model.path=Qwen/Qwen2.5-7B-Instruct"]
    assert hydra("0.9.1", [["migrate:ppo_trainer", new], ["migrate:ppo_trainer", legacy]]) == [
        {"enable": True, "model_path": "Qwen/Qwen2.5-7B-Instruct"}] * 2
    for words in (new, legacy):
        found = _reward_findings(tmp_path, REWARD_LAUNCH + " ".join(words), "0.9.1")
        key = words[1].split("=")[0]
        assert [(rule, f"(`{key}`" in message or f"({key})" in message) for rule, *_, message in found] == [("RM632", True)]
        assert found[0][2] == len(REWARD_LAUNCH + " ".join(words[:1])) + 2


def test_a_reward_model_of_another_family_is_re_tokenised_from_0_7_1(tmp_path, monkeypatch):
    # up to 0.6.1 `reward_model.model.input_tokenizer=null` feeds the policy's token ids to the reward model as they
    # are (RM633; 0.7.0 turned the reward loop on by default, `reward_model.use_reward_loop=True`); from 0.7.1 the key is gone (the composed configs, test above) and the reward loop always decodes
    # the rollouts with the policy's tokenizer and re-tokenises them for the reward model
    monkeypatch.chdir(tmp_path)
    launch = REWARD_LAUNCH + ("reward_model.enable=True reward_model.model.path=Skywork/Skywork-Reward-Llama-3.1-8B "
                              "reward_model.model.input_tokenizer=null")
    assert [rule for rule, *_ in _reward_findings(tmp_path, launch, "0.6.1")] == ["RM633"]
    assert _reward_findings(tmp_path, launch, "0.7.0") == []
    assert "reward_model.model.input_tokenizer" not in table_keys("ppo_trainer", "0.7.1")
    plain = launch.replace(" reward_model.model.input_tokenizer=null", "")
    assert _reward_findings(tmp_path, plain, "0.9.1") == [] and _reward_findings(tmp_path, plain, "0.7.0") == []


def test_a_config_the_pinned_release_does_not_ship_is_not_judged_key_by_key(tmp_path, monkeypatch):
    # verl 0.7.1 ships neither sft_trainer.yaml nor fsdp_sft_trainer.py (the engine SFT trainer replaced them):
    # the launch fails on the module, not on each of its keys, so no key is reported against 0.7.1's keys
    from rmlint.lint import lint_paths
    wheel = wheels_tree("verl==0.7.1") / "verl" / "trainer"
    assert not (wheel / "config" / "sft_trainer.yaml").exists() and not (wheel / "fsdp_sft_trainer.py").exists()
    monkeypatch.chdir(tmp_path)
    launch = ("torchrun --nproc_per_node=8 -m verl.trainer.fsdp_sft_trainer data.train_files=t.parquet "
              "data.micro_batch_size_per_gpu=4 model.partial_pretrain=Qwen/Qwen2.5-0.5B-Instruct trainer.total_epochs=1")
    for release in ("0.7.0", "0.7.1"):
        (tmp_path / "run.sh").write_text(f"pip install verl=={release}\n{launch}\n")
        assert [f.rule for f in lint_paths([str(tmp_path / "run.sh")]).findings if f.severity == "error"] == []
    (tmp_path / "run.sh").write_text(f"pip install verl==0.7.0\n{launch} data.micro_batchsize_per_gpu=4\n")
    assert [f.rule for f in lint_paths([str(tmp_path / "run.sh")]).findings if f.severity == "error"] == ["RM440"]

"""RM642-RM644 against the real checks: verl's Megatron workers pass the actor's and the critic's megatron
sizes unchanged to megatron-core's parallel_state.initialize_model_parallel (verl 0.7.0's megatron_workers.py
and 0.9.1's Megatron engine, read from the release wheels), and megatron-core (0.13.1 and 0.16.1 wheels,
`pip download --no-deps`, never installed) refuses or accepts each generated launch's layout on CPU:
torch.distributed answers with the launch's GPU count, and the first process group megatron-core would create
ends the call (every check it makes comes before). The launches are composed by verl 0.7.0's own Hydra config
and pass its validate_config (what it refuses is RM636/RM637, tests/test_real_verl.py)."""

import ast
import json
import random
import subprocess
import sys
from functools import lru_cache

import pytest

from conftest import ROOT
from upstream import wheels_tree

MEGATRON_CORE = ["0.13.1", "0.16.1"]
NAMES = ("tensor_model", "pipeline_model", "context", "expert_model", "expert_tensor", "virtual_pipeline_model")
SECTIONS = {"actor": "actor_rollout_ref.actor", "critic": "critic"}

_INITIALIZE = """
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
from unittest import mock
import torch
from megatron.core import parallel_state

class GroupsBuilt(Exception):
    pass

out = []
for world, sizes in json.loads(sys.stdin.read()):
    with mock.patch.object(torch.distributed, "is_initialized", return_value=True), \\
            mock.patch.object(torch.distributed, "get_world_size", return_value=world), \\
            mock.patch.object(torch.distributed, "get_rank", return_value=0), \\
            mock.patch.object(torch.distributed, "new_group", side_effect=GroupsBuilt):
        try:
            parallel_state.initialize_model_parallel(use_sharp=False, nccl_communicator_config_path=None, **sizes)
            out.append("")
        except GroupsBuilt:
            out.append("")
        except (RuntimeError, AssertionError) as err:
            out.append(f"{type(err).__name__}: {err}" or type(err).__name__)
        finally:
            parallel_state.destroy_model_parallel()
print(json.dumps(out))
"""


def megatron_core(version: str, jobs: list) -> list:
    """[(world size, initialize_model_parallel keywords)] -> "" (accepted) or megatron-core's error, each."""
    tree = wheels_tree(f"megatron-core=={version}")
    done = subprocess.run([sys.executable, "-c", _INITIALIZE, str(tree)], input=json.dumps(jobs), capture_output=True,
                          text=True, timeout=600, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def _keywords(call: ast.Call) -> dict:
    return {k.arg: ast.unparse(k.value) for k in call.keywords if (k.arg or "").endswith("_size")}


def test_verl_passes_the_megatron_sizes_unchanged_to_megatron_core():
    import test_real_verl
    calls = sorted((n for n in ast.walk(ast.parse((test_real_verl.unpacked() / "verl/workers/megatron_workers.py").read_text()))
                    if isinstance(n, ast.Call) and ast.unparse(n.func) == "mpu.initialize_model_parallel"),
                   key=lambda n: n.lineno)
    assert [_keywords(c) for c in calls] == [
        {f"{name}_parallel_size": f"{prefix}.megatron.{name}_parallel_size" for name in NAMES}
        for prefix in ("self.config.actor", "self.config", "self.config")]      # actor+ref, critic, reward model
    engine = wheels_tree("verl==0.9.1") / "verl/workers/engine/megatron/transformer_impl.py"
    [call] = [n for n in ast.walk(ast.parse(engine.read_text()))
              if isinstance(n, ast.Call) and ast.unparse(n.func) == "mpu.initialize_model_parallel"]
    assert _keywords(call) == {f"{name}_parallel_size": f"self.engine_config.{name}_parallel_size" for name in NAMES}


def cases(seed: int = 16) -> list:
    """ppo_megatron_trainer launches with Megatron sizes for the actor (ones validate_config takes, mostly) and,
    with GAE, a Megatron critic."""
    rng = random.Random(seed)
    found = []
    for _ in range(30):
        gae = rng.random() < 0.6
        case = [f"algorithm.adv_estimator={'gae' if gae else 'grpo'}", "actor_rollout_ref.rollout.name=hf",
                f"trainer.n_gpus_per_node={rng.choice([4, 8, 8])}", f"trainer.nnodes={rng.choice([1, 1, 2])}",
                "data.train_batch_size=96", "actor_rollout_ref.rollout.n=1", "actor_rollout_ref.actor.ppo_mini_batch_size=48",
                "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1",
                "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1", "critic.ppo_micro_batch_size_per_gpu=1"]
        for section in ("actor_rollout_ref.actor", "critic") if gae else ("actor_rollout_ref.actor",):
            if rng.random() < 0.5:
                sizes = [1, 2, 4] if section != "critic" else [1, 2, 3, 4]
                case.append(f"{section}.megatron.tensor_model_parallel_size={rng.choice(sizes)}")
            if rng.random() < 0.4:
                case.append(f"{section}.megatron.pipeline_model_parallel_size={rng.choice([1, 2])}")
            if rng.random() < 0.6:
                case.append(f"{section}.megatron.expert_model_parallel_size={rng.choice([1, 2, 4, 8])}")
            if rng.random() < 0.3:
                case.append(f"{section}.megatron.expert_tensor_parallel_size={rng.choice([1, 2])}")
            if rng.random() < 0.2:
                case.append(f"{section}.megatron.virtual_pipeline_model_parallel_size={rng.choice([1, 2])}")
        found.append(case)
    return found


@lru_cache(maxsize=1)
def layouts() -> list:
    """(launch, GPUs, {section: initialize_model_parallel keywords}) of the cases verl 0.7.0's composed config
    and validate_config take."""
    import test_real_verl
    validate_config, need_critic, need_reference_policy = test_real_verl._verl_modules()
    found = []
    for case in cases():
        config, error = test_real_verl.compose(case, "ppo_megatron_trainer")
        assert error is None, error
        try:     # the critic's part builds its config dataclass, which loads the critic model's HF config from
            # disk; these launches give the critic batch settings validate_config takes, so it is left out
            validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=False)
        except Exception:      # noqa: BLE001 - refused before any worker (RM636/RM637, tests/test_real_verl.py)
            continue
        sections = {"actor": config.actor_rollout_ref.actor.megatron}
        if need_critic(config):
            sections["critic"] = config.critic.megatron
        found.append((case, config.trainer.n_gpus_per_node * config.trainer.nnodes,
                      {name: {f"{n}_parallel_size": megatron[f"{n}_parallel_size"] for n in NAMES}
                       for name, megatron in sections.items()}))
    return found


def rmlint_rules(case: list) -> list:
    from rmlint.config import Settings
    from rmlint.lint import lint_argv
    result = lint_argv(["python3", "-m", "verl.trainer.main_ppo", "--config-name", "ppo_megatron_trainer", *case],
                       select=["RM642", "RM643", "RM644"], settings=Settings(versions={"verl": "0.7.0"}))
    return [f.rule for f in result.findings]


@pytest.mark.parametrize("version", MEGATRON_CORE)
def test_megatron_core_refuses_the_layouts_rmlint_reports(version):
    checked = layouts()
    answers = iter(megatron_core(version, [(gpus, sizes) for _, gpus, sections in checked for sizes in sections.values()]))
    disagreements, refused = [], 0
    for case, gpus, sections in checked:
        errors = [e for e in (next(answers) for _ in sections) if e]
        refused += bool(errors)
        if bool(errors) != bool(rmlint_rules(case)):
            disagreements.append((case[2:], errors, rmlint_rules(case)))
    assert disagreements == []
    assert len(checked) >= 20 and 5 <= refused <= len(checked) - 5


def test_each_megatron_core_refusal_is_its_rule():
    # one launch per check, with the message megatron-core 0.16.1 prints
    base = ["algorithm.adv_estimator=gae", "trainer.n_gpus_per_node=8", "trainer.nnodes=1"]
    launches = {"RM642": base + ["actor_rollout_ref.actor.megatron.expert_model_parallel_size=8",
                                 "actor_rollout_ref.actor.megatron.tensor_model_parallel_size=2"],
                "RM643": base + ["critic.megatron.virtual_pipeline_model_parallel_size=1"],
                "RM644": base + ["critic.megatron.tensor_model_parallel_size=3"]}
    answers = megatron_core("0.16.1", [(8, {"expert_model_parallel_size": 8, "tensor_model_parallel_size": 2}),
                                       (8, {"virtual_pipeline_model_parallel_size": 1}),
                                       (8, {"tensor_model_parallel_size": 3})])
    assert answers == ["RuntimeError: world_size (8) is not divisible by expert_tensor_model_pipeline_parallel size (16)",
                       "RuntimeError: pipeline-model-parallel size should be greater than 1 with interleaved schedule",
                       "RuntimeError: world_size (8) is not divisible by 3"]
    for rule, case in launches.items():
        assert rmlint_rules(case) == [rule]

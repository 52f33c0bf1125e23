"""rmlint against verl's own code, from its 0.7.0 release wheel (`pip download --no-deps`, never installed):
Hydra (hydra-core, as verl's `@hydra.main` runs it) composes the wheel's configs with every override of the
upstream fixtures and of mutations of them, and verl's validate_config and its FSDP workers' batch
normalisation run on the result; rmlint must refuse exactly what Hydra refuses and report exactly the
batch errors verl raises."""

import ast
import random
import subprocess
import sys
import types
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest

from conftest import ROOT
from upstream import CACHE

VERSION = "0.7.0"
UPSTREAM = ROOT / "tests" / "fixtures" / "upstream" / "verl"


@lru_cache(maxsize=1)
def unpacked() -> Path:
    folder = CACHE / "verl"
    target = folder / f"verl-{VERSION}"
    if not (target / "verl" / "trainer" / "config").is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
                        f"verl=={VERSION}"], check=True)
        wheel = next(folder.glob(f"verl-{VERSION}-*.whl"))
        zipfile.ZipFile(wheel).extractall(target, [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("verl/")])
    return target


@lru_cache(maxsize=1)
def _hydra():
    """Hydra initialised once on the wheel's config folder (what `@hydra.main(config_path="config")` does)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    GlobalHydra.instance().clear()
    initialize_config_dir(config_dir=str(unpacked() / "verl" / "trainer" / "config"), version_base=None).__enter__()
    return True


def compose(overrides: list, name: str = "ppo_trainer"):
    """(config, None) or (None, the exception Hydra raised)."""
    from hydra import compose as hydra_compose
    _hydra()
    try:
        return hydra_compose(config_name=name, overrides=overrides), None
    except Exception as err:      # noqa: BLE001 - any refusal counts; its kind is asserted below
        return None, err


def rmlint_tree():
    """rmlint's view of the 0.7.0 config alone (the shipped table covers every release)."""
    from rmlint.frameworks.verl.config import releases, tree
    return tree("ppo_trainer").at(releases().index("v" + VERSION))


def test_the_table_holds_the_composed_config_of_the_release():
    from omegaconf import OmegaConf
    from rmlint.frameworks.verl.config import flatten
    config, error = compose([])
    assert error is None
    flat = {}
    flatten(OmegaConf.to_container(config, resolve=False), "", flat)
    assert set(flat) == set(rmlint_tree().leaves)


def fixture_overrides(name: str) -> list:
    """The readable overrides of an upstream fixture, as rmlint reads them (unreadable values get the
    config's default back, so only the key is tested)."""
    from rmlint.frameworks import hydra as hydra_lines
    from rmlint.sources import shell
    script = shell.parse((UPSTREAM / name).read_text())
    for command in script.commands:
        texts = [w.text for w in command.words]
        if "verl.trainer.main_ppo" in texts:
            start = texts.index("verl.trainer.main_ppo") + 1
            line = hydra_lines.parse([types.SimpleNamespace(text=w.text, at=None, known=w.known, opaque=w.opaque)
                                      for w in command.words[start:]])
            return [f"{o.prefix}{o.key}={o.text}" for o in line.overrides if o.known]
    raise AssertionError(f"{name}: no verl.trainer.main_ppo launch")


PPO_FIXTURES = ["run_qwen2-7b.sh", "run_mistral13b_skyworkrm_hhrlhf.sh", "run_qwen2-7b_rm_legacy.sh"]


def mutations(overrides: list, seed: int) -> list:
    """Each override changed the ways people get them wrong: a letter dropped from the key, `+` on a key that
    is there, `~` on a key that is not, `++` anyway, a key under a leaf."""
    rng = random.Random(seed)
    found = []
    for text in rng.sample(overrides, min(5, len(overrides))):
        key, _, value = text.partition("=")
        parent, _, leaf = key.rpartition(".")
        cut = rng.randrange(len(leaf))
        found += [f"{parent}.{leaf[:cut] + leaf[cut + 1:]}={value}", f"+{key}={value}", f"++{key}={value}",
                  f"~{parent}.no_{leaf}", f"{key}.deeper=1"]
    return found


def rmlint_refuses(override: str) -> bool:
    from rmlint.frameworks import hydra as hydra_lines
    from rmlint.frameworks.verl.launch import refused
    line = hydra_lines.parse([types.SimpleNamespace(text=override, at=types.SimpleNamespace(path="", line=1, column=1),
                                                    known=True, opaque=False)])
    return bool(refused(line, rmlint_tree()))


@pytest.mark.parametrize("name", PPO_FIXTURES)
def test_overrides_and_their_mutations_are_refused_exactly_as_hydra_refuses_them(name):
    base = fixture_overrides(name)
    config, error = compose(base)
    assert error is None, error                       # the upstream launch composes
    assert [o for o in base if rmlint_refuses(o)] == []    # ... so rmlint refuses none of its overrides
    disagreements = []
    for override in mutations(base, seed=len(name)):
        _, error = compose([override])
        if bool(error) != rmlint_refuses(override):
            disagreements.append((override, repr(error)[:160]))
    assert disagreements == []


def _verl_modules():
    """verl's config package without verl/__init__.py (which imports ray and the data protocol): package
    shells by hand; the few optional imports its profiler utilities pull in are stubbed."""
    import importlib.abc
    import importlib.machinery
    from unittest import mock
    root = unpacked()
    if "verl" not in sys.modules or getattr(sys.modules["verl"], "__path__", [None])[0] != str(root / "verl"):
        package = types.ModuleType("verl")
        package.__path__ = [str(root / "verl")]
        sys.modules["verl"] = package

    class Stub(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        names = ("ray", "codetiming", "tensordict", "flash_attn", "pandas", "wandb", "vllm", "sglang", "megatron")

        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in self.names:
                return importlib.machinery.ModuleSpec(name, self, is_package=True)
            return None

        def create_module(self, spec):
            module = mock.MagicMock(name=spec.name)
            module.__path__, module.__spec__ = [], spec
            return module

        def exec_module(self, module):
            pass
    sys.meta_path.insert(0, Stub())
    import transformers      # verl 0.7 imports a class transformers 5 renamed; its config code never uses it
    if not hasattr(transformers, "AutoModelForVision2Seq"):
        transformers.AutoModelForVision2Seq = transformers.AutoModelForImageTextToText
    try:
        from verl.trainer.ppo.utils import need_critic, need_reference_policy   # noqa: F401
    except Exception:      # noqa: BLE001 - older layouts: the same two rules, written out in the test
        need_critic = lambda c: c.critic.get("enable") if c.critic.get("enable") is not None \
            else c.algorithm.adv_estimator == "gae"   # noqa: E731
        need_reference_policy = lambda c: c.algorithm.use_kl_in_reward or c.actor_rollout_ref.actor.use_kl_loss   # noqa: E731
    from verl.utils.config import validate_config
    return validate_config, need_critic, need_reference_policy


def _normalise(config, gpus: int):
    """The actor and critic workers' batch normalisation, run from fsdp_workers.py's own statements."""
    source = (unpacked() / "verl" / "workers" / "fsdp_workers.py").read_text()
    tree = ast.parse(source)
    blocks = [node for node in ast.walk(tree) if isinstance(node, ast.If) and "ppo_mini_batch_size *=" in ast.unparse(node)
              and "_is_actor" in ast.unparse(node.test)]
    assert len(blocks) == 1
    actor = types.SimpleNamespace(config=config.actor_rollout_ref, _is_actor=True,
                                  device_mesh=types.SimpleNamespace(size=lambda: gpus),
                                  ulysses_sequence_parallel_size=config.actor_rollout_ref.actor.ulysses_sequence_parallel_size)
    exec(compile(ast.Module(body=blocks, type_ignores=[]), "fsdp_workers.py", "exec"), {"self": actor})


def verl_verdict(overrides: list, name: str = "ppo_trainer"):
    """True when verl refuses the launch after the GPUs are allocated (validate_config or the workers)."""
    from omegaconf import open_dict
    validate_config, need_critic, need_reference_policy = _verl_modules()
    config, error = compose(overrides, name)
    assert error is None, error
    gpus = config.trainer.n_gpus_per_node * config.trainer.nnodes
    try:
        validate_config(config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config))
        if not config.actor_rollout_ref.actor.use_dynamic_bsz and name == "ppo_trainer":
            with open_dict(config):
                _normalise(config, gpus)
    except Exception as err:      # noqa: BLE001 - assertions, ValueError, or Hydra's wrapping of them
        return str(err) or type(err).__name__
    return ""


def rmlint_batch_rules(overrides: list, name: str = "ppo_trainer") -> list:
    from rmlint.lint import lint_argv
    result = lint_argv(["python3", "-m", "verl.trainer.main_ppo", "--config-name", name, *overrides],
                       select=["RM31", "RM636", "RM637"])
    return [f.rule for f in result.findings]


BATCH = ["algorithm.adv_estimator=grpo", "actor_rollout_ref.rollout.name=hf"]


def batch_cases(seed: int = 7) -> list:
    rng = random.Random(seed)
    cases = []
    for _ in range(24):
        case = BATCH + [f"data.train_batch_size={rng.choice([8, 16, 30, 32, 60, 64, 96, 128])}",
                        f"actor_rollout_ref.actor.ppo_mini_batch_size={rng.choice([4, 8, 16, 24, 32, 48, 64])}",
                        f"actor_rollout_ref.rollout.n={rng.choice([1, 2, 3, 5, 8])}",
                        f"trainer.n_gpus_per_node={rng.choice([1, 2, 4, 6, 8])}",
                        f"trainer.nnodes={rng.choice([1, 2])}",
                        f"actor_rollout_ref.actor.ulysses_sequence_parallel_size={rng.choice([1, 1, 2])}",
                        "actor_rollout_ref.model.use_remove_padding=True"]
        micro = rng.choice([None, 1, 2, 4, 8, 16])
        if micro:
            case.append(f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={micro}")
        if rng.random() < 0.2:
            case.append("actor_rollout_ref.actor.ppo_micro_batch_size=8")
        if rng.random() < 0.85:
            case.append("actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4")
        cases.append(case)
    return cases


def verdicts(cases: list, name: str = "ppo_trainer") -> tuple:
    """(cases where verl and rmlint disagree, how many verl refused)."""
    disagreements, refused = [], 0
    for case in cases:
        raised, reported = verl_verdict(case, name), rmlint_batch_rules(case, name)
        refused += bool(raised)
        if bool(raised) != bool(reported):
            disagreements.append((case[2:], raised[:120], reported))
    return disagreements, refused


def test_batch_errors_are_the_ones_verl_raises():
    def meshed(case):      # a launch verl can build its device mesh for
        sp = int(case[7].rsplit("=", 1)[1])
        return int(case[5].rsplit("=", 1)[1]) * int(case[6].rsplit("=", 1)[1]) % sp == 0
    assert verdicts([case for case in batch_cases() if meshed(case)])[0] == []


def megatron_cases(seed: int = 11) -> list:
    """Launches of ppo_megatron_trainer (verl's Megatron actor): tensor, pipeline and context parallel sizes
    against the GPU count, and the batch against the data-parallel size × micro-batch."""
    rng = random.Random(seed)
    cases = []
    for _ in range(24):
        case = BATCH + [f"data.train_batch_size={rng.choice([8, 12, 16, 20, 32, 48, 64, 96])}",
                        f"actor_rollout_ref.actor.ppo_mini_batch_size={rng.choice([4, 8, 16])}",
                        f"actor_rollout_ref.rollout.n={rng.choice([1, 2, 3, 5, 8])}",
                        f"trainer.n_gpus_per_node={rng.choice([1, 2, 4, 6, 8])}",
                        f"trainer.nnodes={rng.choice([1, 1, 2, 3])}",
                        f"actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu={rng.choice([1, 2, 4, 8])}",
                        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4"]
        for name in ("tensor_model", "pipeline_model", "context"):
            if rng.random() < 0.6:
                case.append(f"actor_rollout_ref.actor.megatron.{name}_parallel_size={rng.choice([1, 2, 4, 3])}")
        cases.append(case)
    return cases


def test_megatron_batch_errors_are_the_ones_verl_raises():
    """verl's validate_config on its own ppo_megatron_trainer config (Megatron itself is not imported: the
    checks that matter run before any worker)."""
    disagreements, refused = verdicts(megatron_cases(), "ppo_megatron_trainer")
    assert disagreements == []
    assert 3 < refused < 21
    assert rmlint_batch_rules(megatron_cases()[0][:2] + [
        "trainer.n_gpus_per_node=6", "actor_rollout_ref.actor.megatron.tensor_model_parallel_size=4",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1", "actor_rollout_ref.actor.ppo_mini_batch_size=8",
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4"], "ppo_megatron_trainer") == ["RM636"]


def test_the_megatron_checks_are_the_same_in_the_newest_release():
    """RM636/RM637 are shown above with 0.7.0's validate_config; the newest release on the registry (0.9.1)
    has the same Megatron branch, statement for statement."""
    import upstream

    def megatron_branch(root: Path) -> str:
        tree = ast.parse((root / "verl" / "utils" / "config.py").read_text())
        function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "validate_config")
        return next(ast.unparse(n) for n in ast.walk(function) if isinstance(n, ast.If)
                    and "megatron" in ast.unparse(n.test))
    assert megatron_branch(unpacked()) == megatron_branch(upstream.wheels_tree("verl==0.9.1"))
    assert "megatron_dp * config.actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu" in megatron_branch(unpacked())

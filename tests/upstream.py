"""Real OpenRLHF releases for the tests: the wheels from the package registry (no dependencies,
never imported as a package); their argparse definitions and DeepSpeed-config builders are run."""

import argparse
import ast
import datetime
import os
import subprocess
import sys
import zipfile
from functools import lru_cache
from pathlib import Path

CACHE = Path(os.environ.get("RMLINT_TEST_CACHE", Path(__file__).resolve().parent / ".cache"))


@lru_cache(maxsize=None)
def wheel(version: str) -> zipfile.ZipFile:
    folder = CACHE / "openrlhf"
    found = list(folder.glob(f"openrlhf-{version}-*.whl"))
    if not found:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
                        f"openrlhf=={version}"], check=True)
        found = list(folder.glob(f"openrlhf-{version}-*.whl"))
    return zipfile.ZipFile(found[0])


def source(version: str, module_path: str) -> str:
    archive = wheel(version)
    name = next(n for n in archive.namelist() if n.endswith(module_path))
    return archive.read(name).decode()


class ArgparseExit(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ArgparseExit(message)


@lru_cache(maxsize=None)
def parser(version: str, entrypoint: str) -> argparse.ArgumentParser:
    """The entrypoint's own parser: the statements of its __main__ block up to parse_args()."""
    tree = ast.parse(source(version, f"openrlhf/cli/{entrypoint}.py"))
    main = next(n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.dump(n.test))
    stop = next(i for i, n in enumerate(main.body) if "parse_args" in ast.dump(n))
    module = ast.Module(body=main.body[:stop], type_ignores=[])
    namespace = {"argparse": argparse, "datetime": datetime.datetime}
    exec(compile(module, f"openrlhf-{version}/{entrypoint}.py", "exec"), namespace)
    real = namespace["parser"]
    real.__class__ = _Parser
    return real


def deepspeed_utils(version: str) -> dict:
    """The module that holds get_train_ds_config / get_eval_ds_config, executed (needs deepspeed, torch)."""
    for path in ("openrlhf/utils/deepspeed/deepspeed_utils.py", "openrlhf/utils/deepspeed_utils.py"):
        try:
            text = source(version, path)
        except StopIteration:
            continue
        namespace = {"__name__": "openrlhf_deepspeed_utils"}
        exec(compile(text, path, "exec"), namespace)
        return namespace
    raise LookupError(version)


@lru_cache(maxsize=None)
def reward_model_factory(version: str):
    """OpenRLHF's own `get_llm_for_sequence_regression`, loaded from the release wheel.

    openrlhf/models/__init__.py imports the actor, whose ring-attention helpers need flash-attn
    (CUDA only), so the package shells are made by hand and model.py is loaded by itself; the
    ring-attention helpers it names are only called for packed samples, which these tests do not use.
    """
    import importlib.util
    import tempfile
    import types
    root = Path(tempfile.mkdtemp(prefix=f"openrlhf-{version}-"))
    archive = wheel(version)
    for name in archive.namelist():
        if "/purelib/openrlhf/" in name or name.startswith("openrlhf/"):
            target = root / name.split("purelib/")[-1]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(name))
    base = root / "openrlhf"

    def package(name, path):
        module = types.ModuleType(name)
        module.__path__ = [str(path)]
        sys.modules[name] = module

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    package("openrlhf", base)
    package("openrlhf.models", base / "models")
    package("openrlhf.utils", base / "utils")
    ring = types.ModuleType("openrlhf.models.ring_attn_utils")
    ring.gather_and_pad_tensor = ring.unpad_and_slice_tensor = None
    sys.modules[ring.__name__] = ring
    load("openrlhf.utils.logging_utils", base / "utils" / "logging_utils.py")
    load("openrlhf.models.utils", base / "models" / "utils.py")
    return load("openrlhf.models.model", base / "models" / "model.py").get_llm_for_sequence_regression


@lru_cache(maxsize=None)
def deepspeed_tree(version: str) -> Path:
    """DeepSpeed release `version` from its sdist on the registry, unpacked once under the test cache;
    put first on PYTHONPATH it is that release (tools/snapshot_deepspeed_releases.py reads them so too)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    from snapshot_deepspeed_releases import unpacked
    return unpacked(version, CACHE / "deepspeed")


_VALIDATE = """
import json, sys
from unittest import mock
from deepspeed.runtime.config import DeepSpeedConfig
verdicts = []
for config in json.loads(sys.stdin.read()):
    try:
        with mock.patch("deepspeed.comm.get_rank", return_value=0), \\
                mock.patch("deepspeed.comm.get_world_size", return_value=1):
            DeepSpeedConfig(config)
        verdicts.append(None)
    except Exception as err:
        verdicts.append(type(err).__name__ + ": " + " ".join(str(err).split())[:300])
print(json.dumps(verdicts))
"""


def deepspeed_verdicts(version: str, configs: list) -> list:
    """What DeepSpeed release `version`'s own DeepSpeedConfig says of each config (None: accepted), run
    in a fresh interpreter with that release first on the path (CPU, no process group)."""
    import json
    env = dict(os.environ, PYTHONPATH=str(deepspeed_tree(version)), DS_ACCELERATOR="cpu")
    done = subprocess.run([sys.executable, "-c", _VALIDATE], input=json.dumps(configs), env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


@lru_cache(maxsize=None)
def wheels_tree(*pins: str, skip: str = "") -> Path:
    """The wheels of `pins` (e.g. "transformers==4.57.6") from the registry, without dependencies, unpacked
    once into one folder under the test cache: put first on PYTHONPATH, those releases (and their
    dist-info, which version checks read) shadow the installed ones. Members ending in `skip` are left
    packed (e.g. bitsandbytes' CUDA libraries)."""
    folder = CACHE / "wheels"
    tree = folder / "+".join(pins)
    if not (tree / ".done").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        for pin in pins:
            name, version = pin.split("==")
            pattern = f"{name.replace('-', '_')}-{version}-*.whl"
            if not list(folder.glob(pattern)):
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder),
                                pin], check=True)
            archive = zipfile.ZipFile(next(iter(folder.glob(pattern))))
            archive.extractall(tree, [n for n in archive.namelist() if not (skip and n.endswith(skip))])
        (tree / ".done").write_text("\n".join(pins))
    return tree


def peft_tree(version: str) -> Path:
    """PEFT release `version`'s wheel (pure Python: put first on PYTHONPATH it is that release)."""
    return wheels_tree(f"peft=={version}")


_STRATEGY = """
import inspect, json, sys, types, importlib.util
from argparse import Namespace
from pathlib import Path
from unittest import mock
from deepspeed.runtime.config import DeepSpeedConfig

def shell(root, name, **attributes):   # a package or module OpenRLHF imports but the batch keys do not use
    module = types.ModuleType(name)
    module.__path__ = [str(root / name.replace(".", "/"))]
    module.__dict__.update(attributes)
    sys.modules[name] = module

def load(root, name):
    spec = importlib.util.spec_from_file_location(name, root / (name.replace(".", "/") + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

def strategy(root):
    for name in [n for n in sys.modules if n.startswith("openrlhf")]:
        del sys.modules[name]
    for name in ("openrlhf", "openrlhf.utils", "openrlhf.utils.deepspeed", "torchdata"):
        shell(root, name)
    shell(root, "openrlhf.models", Actor=object)
    shell(root, "openrlhf.models.ring_attn_utils", get_ring_attn_group=None, set_ring_attn_group=None)
    shell(root, "openrlhf.utils.distributed_sampler", DistributedSampler=object)
    shell(root, "openrlhf.utils.distributed_util", torch_dist_barrier_and_cuda_sync=None)
    shell(root, "torchdata.stateful_dataloader", StatefulDataLoader=object)
    shell(root, "transformers.trainer", get_scheduler=None)          # 13 s of imports the batch keys never use
    shell(root, "peft", PeftModel=object, get_peft_model_state_dict=None)
    load(root, "openrlhf.utils.deepspeed.deepspeed_utils")
    return load(root, "openrlhf.utils.deepspeed.deepspeed").DeepspeedStrategy

def verdict(Strategy, case):
    # both layouts of the arguments: flat (--ds_tensor_parallel_size, <= 0.10.1) and grouped (--ds.*, >= 0.10.2)
    args = Namespace(ds=Namespace(param_dtype="bf16", tensor_parallel_size=case["tp"], ring_attn_size=case["ring"]),
                     train=Namespace(dynamic_batch_enable=False), ds_tensor_parallel_size=case["tp"],
                     ring_attn_size=case["ring"], use_dynamic_batch=False)
    try:
        made = Strategy(micro_train_batch_size=case["micro"], train_batch_size=case["batch"], zero_stage=2, args=args)
        build = made.get_ds_train_config
        config = build(is_actor=True) if "is_actor" in inspect.signature(build).parameters else build()
    except Exception as err:
        return [None, type(err).__name__ + ": " + " ".join(str(err).split())[:300]]
    try:
        with mock.patch("deepspeed.comm.get_rank", return_value=0), \\
                mock.patch("deepspeed.comm.get_world_size", return_value=case["gpus"]):
            DeepSpeedConfig(config)
        return [config["train_batch_size"], None]
    except Exception as err:
        return [config["train_batch_size"], type(err).__name__ + ": " + " ".join(str(err).split())[:300]]

answers = {}
for root, cases in json.loads(sys.stdin.read()).items():
    Strategy = strategy(Path(root))
    answers[root] = [verdict(Strategy, case) for case in cases]
print(json.dumps(answers))
"""


def strategy_verdicts(cases_by_version: dict) -> dict:
    """For each release and each case (batch, micro, ring, tp, gpus): [train_batch_size that release's own
    DeepspeedStrategy hands DeepSpeed, DeepSpeed's own DeepSpeedConfig verdict on it (None: accepted)],
    with `gpus` as the world size. Run in one fresh interpreter: the strategy module of each release
    wheel in turn, its imports that the batch keys do not use (models, samplers, torchdata) replaced
    by empty shells."""
    import json
    import tempfile
    roots = {}
    for version in cases_by_version:
        root = Path(tempfile.mkdtemp(prefix=f"openrlhf-strategy-{version}-"))
        archive = wheel(version)
        for name in archive.namelist():
            if name.endswith(("utils/deepspeed/deepspeed.py", "utils/deepspeed/deepspeed_utils.py")):
                target = root / "openrlhf" / "utils" / "deepspeed" / name.rsplit("/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(name))
        roots[version] = str(root)
    env = dict(os.environ, DS_ACCELERATOR="cpu")
    request = {roots[version]: cases for version, cases in cases_by_version.items()}
    done = subprocess.run([sys.executable, "-c", _STRATEGY], input=json.dumps(request), env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    return {version: answers[roots[version]] for version in cases_by_version}

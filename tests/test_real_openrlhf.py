"""rmlint agrees with the real OpenRLHF: its argparse parsers (from the release wheels) accept
exactly the commands rmlint finds no flag problems in, with the same values, and its DeepSpeed
config builder produces the config rmlint derives."""

import shlex

import pytest

import upstream
from rmlint.frameworks.openrlhf.argv import Arg, parse
from rmlint.frameworks.openrlhf.dsconfig import eval_config, train_config
from rmlint.finding import Location
from rmlint.frameworks.openrlhf.flags import table
from rmlint.rules import builtin

RELEASES = ["0.5.0", "0.9.1", "0.10.1.post2", "0.11.0", "0.11.2"]
FLAG_PROBLEMS = {"unknown-flag", "newer-flag", "other-release", "ambiguous", "missing-value", "bad-value", "bool-value", "stray"}


def commands():
    """Every command line in the rule examples, plus flag-level edge cases."""
    found = []
    for rule in builtin():
        for example in rule.examples.bad + rule.examples.good:
            if "argv" in example and "openrlhf.cli." in example["argv"]:    # (verl's and DeepSpeed-Chat's are not)
                found.append(example["argv"])
    found += [
        "deepspeed --module openrlhf.cli.train_rm --pretrain m --zero 3",
        "deepspeed --module openrlhf.cli.train_rm --pretrain m --lora 8",
        "deepspeed --module openrlhf.cli.train_rm --pretrain=m --zero_stage=2 --bf16",
        "deepspeed --module openrlhf.cli.train_rm --pretrain m --target_modules q_proj v_proj --bf16",
        "deepspeed --module openrlhf.cli.train_rm --pretrain m --max_norm -1 --bf16",
        "deepspeed --module openrlhf.cli.train_rm --model.model_name_or_path m --ds.lora.target_modules",
        "python3 -m openrlhf.cli.train_ppo_ray --pretrain a --reward_pretrain r --adam_betas 0.9 0.95 --param_dtype bf16",
        "python3 -m openrlhf.cli.train_ppo_ray --actor.model_name_or_path a --actor.adam.betas 0.9 0.95",
    ]
    return found


def split(command: str):
    words = shlex.split(command)
    entry = next(i for i, w in enumerate(words) if w.startswith("openrlhf.cli."))
    return words[entry].split(".")[-1], words[entry + 1:]


CASES = [(command, release) for command in commands() for release in RELEASES
         if split(command)[0] in ("train_rm", "train_ppo_ray", "train_sft")]


@pytest.mark.parametrize("command,release", CASES)
def test_argparse_agrees(command, release):
    entrypoint, argv = split(command)
    ours = parse(entrypoint, [Arg(w, Location("x")) for w in argv])
    index = table().versions.index(release)
    problems = [p for p in ours.problems if p.kind in FLAG_PROBLEMS]
    real = upstream.parser(release, entrypoint)
    try:
        namespace = real.parse_args(argv)
    except upstream.ArgparseExit:
        namespace = None
    if not problems and index in ours.candidates:
        assert namespace is not None, f"OpenRLHF {release} rejects what rmlint accepts"
        for name, given in ours.given.items():
            dest = next(a.dest for a in real._actions if name in a.option_strings)
            assert vars(namespace)[dest] == given.value or list(vars(namespace)[dest] or []) == given.value, name
    if problems:
        assert namespace is None, f"OpenRLHF {release} accepts what rmlint rejects: {problems[0]}"


def test_flag_table_matches_each_release():
    """Every flag of the real parsers is in the table for that release (0.11.1 and 0.11.2 come from
    their wheels: they are newer than the newest tag of the snapshot the table was extracted from)."""
    for release in ("0.10.1.post2", "0.11.0", "0.11.1", "0.11.2"):
        index = table().versions.index(release)
        for entrypoint in ("train_rm", "train_ppo_ray"):
            real = {s for a in upstream.parser(release, entrypoint)._actions for s in a.option_strings
                    if s.startswith("--") and s != "--help"}
            ours = {name for name, spec in table().entrypoints[entrypoint].items() if spec.exists(index)}
            assert real == ours, (release, entrypoint, sorted(real ^ ours)[:5])


SETTINGS = [
    dict(zero_stage=2, adam_offload=False, dtype="bf16", max_norm=1.0, zpg=1, overlap_comm=False, tensor_parallel_size=1),
    dict(zero_stage=3, adam_offload=True, dtype="fp16", max_norm=0.5, zpg=8, overlap_comm=True, tensor_parallel_size=2),
    dict(zero_stage=0, adam_offload=True, dtype="bf16", max_norm=1.0, zpg=1, overlap_comm=False, tensor_parallel_size=1),
]


def _known(config: dict) -> dict:
    """Drop what OpenRLHF leaves to DeepSpeed ("auto") or rmlint does not model."""
    if isinstance(config, dict):
        return {k: _known(v) for k, v in config.items() if v != "auto" and k not in (
            "steps_per_print", "wall_clock_breakdown", "data_types", "checkpoint", "compile", "zero_quantized_weights",
            "zero_quantized_gradients", "pin_memory")}
    return config


@pytest.mark.parametrize("setting", SETTINGS)
def test_train_config_matches_get_train_ds_config(setting):
    real = upstream.deepspeed_utils("0.11.0")["get_train_ds_config"](
        offload=False, adam_offload=setting["adam_offload"], stage=setting["zero_stage"], param_dtype=setting["dtype"],
        max_norm=setting["max_norm"], zpg=setting["zpg"], overlap_comm=setting["overlap_comm"],
        tensor_parallel_size=setting["tensor_parallel_size"])
    s = dict(setting, dynamic_batch=False, micro_train_batch_size=2, train_batch_size=64, ring_attn_size=1)
    ours, _ = train_config(s)
    for key in ("train_micro_batch_size_per_gpu", "train_batch_size"):
        ours.pop(key)  # added by the strategy wrapper, checked below
    assert _known(ours) == _known(real)


@pytest.mark.parametrize("setting", SETTINGS)
def test_eval_config_matches_get_eval_ds_config(setting):
    real = upstream.deepspeed_utils("0.11.0")["get_eval_ds_config"](
        offload=True, stage=setting["zero_stage"] if setting["zero_stage"] == 3 else 0, param_dtype=setting["dtype"],
        tensor_parallel_size=setting["tensor_parallel_size"])
    s = dict(setting, dynamic_batch=False, micro_train_batch_size=2, train_batch_size=64, ring_attn_size=1,
             ref_offload=True)
    ours, _ = eval_config(s, "ref_offload")
    for key in ("train_micro_batch_size_per_gpu", "train_batch_size"):
        ours.pop(key)
    real.pop("tensor_parallel", None)
    assert _known(ours) == _known(real)


def test_strategy_sets_the_batch_keys_rmlint_uses():
    """The strategy wrapper multiplies the batch by ring attention and tensor parallel sizes."""
    text = upstream.source("0.11.0", "openrlhf/utils/deepspeed/deepspeed.py")
    assert ('ds_config["train_batch_size"] = self.train_batch_size * self.ring_attn_size * '
            'self.ds_tensor_parallel_size') in text
    assert 'ds_config["train_micro_batch_size_per_gpu"] = self.micro_train_batch_size' in text

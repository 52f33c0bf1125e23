"""rmlint against DeepSpeed-Chat's own step-2 parser. DeepSpeed-Chat is not on the package registry, so
its `parse_args()` (an excerpt of training/step2_reward_model_finetuning/main.py, provenance in
tests/fixtures/upstream/MANIFEST.tsv) is run with the real argparse, transformers' SchedulerType and the
installed DeepSpeed's add_config_arguments, over the upstream launch, the rule examples and mutations of
them: rmlint refuses exactly what the parser refuses and reads the same values."""

import argparse
import ast
import random
import shlex
import types

import pytest

from conftest import ROOT

EXCERPT = ROOT / "tests" / "fixtures" / "upstream" / "deepspeed_chat" / "parsers" / "step2_parse_args.py"
SCRIPT = ROOT / "tests/fixtures/upstream/deepspeed_chat/training/step2_reward_model_finetuning/training_scripts/single_gpu/run_350m_lora.sh"
READ = ("model_name_or_path", "per_device_train_batch_size", "gradient_accumulation_steps", "zero_stage", "offload",
        "dtype", "lora_dim", "only_optimize_lora", "data_path")


class Refused(Exception):
    pass


def real_parser() -> argparse.ArgumentParser:
    import deepspeed
    from transformers import SchedulerType
    captured = {}

    class Parser(argparse.ArgumentParser):
        def parse_args(self, *args, **kwargs):
            captured["parser"] = self
            raise Refused

        def error(self, message):
            raise Refused(message)
    namespace = {"argparse": types.SimpleNamespace(ArgumentParser=Parser), "deepspeed": deepspeed,
                 "SchedulerType": SchedulerType}
    exec(compile(ast.parse(EXCERPT.read_text()), str(EXCERPT), "exec"), namespace)
    with pytest.raises(Refused):
        namespace["parse_args"]()
    parser = captured["parser"]
    parser.parse_args = lambda argv: argparse.ArgumentParser.parse_args(parser, argv)
    return parser


# The excerpt's commit (07e47429, "deepspeed-chat [internal]: support using torch adamw") is a branch commit
# that never reached DeepSpeedExamples' master, whose history the table is made from; its extra flags (which
# rmlint would refuse on that branch: a known gap, named here):
OFF_MASTER = {"--no_bf16_to_fp32_loss", "--no_fused_kernels", "--print_loss"}


def this_version(parser) -> dict:
    """rmlint's table entries for exactly the options of this parser (the shipped table is every version's)."""
    from rmlint.frameworks.deepspeed_chat.flags import flags
    table = flags("rm")
    return {option: table[option] for action in parser._actions for option in action.option_strings
            if option not in ("-h", "--help") and option not in OFF_MASTER}


def test_every_option_of_the_parser_is_in_the_table_as_it_is():
    parser = real_parser()
    table = this_version(parser)
    for action in parser._actions:
        for option in action.option_strings:
            if option in ("-h", "--help") or option in OFF_MASTER:
                continue
            entry = table[option]
            assert entry["dest"] == action.dest
            assert entry["kind"] == ("flag" if action.nargs == 0 else "list" if action.nargs in ("*", "+") else "value")


def argv_cases() -> list:
    from rmlint.rules import builtin
    upstream = shlex.split(SCRIPT.read_text().split("main.py", 1)[1].split("&>")[0].replace("\\\n", " "))
    upstream = [w.replace("$OUTPUT_PATH", "out") for w in upstream]
    cases = [upstream]
    for rule in builtin():
        for example in rule.examples.bad + rule.examples.good:
            argv = example.get("argv", "")
            if "step2_reward_model_finetuning/main.py" in argv:
                cases.append(shlex.split(argv.split("main.py", 1)[1]))
    rng = random.Random(758)
    mutated = []
    for case in cases:
        flags = [i for i, w in enumerate(case) if w.startswith("--")]
        for _ in range(12):
            i, words = rng.choice(flags), list(case)
            flag = words[i]
            kind = rng.randrange(5)
            if kind == 0:        # a letter dropped
                cut = rng.randrange(3, len(flag))
                words[i] = flag[:cut] + flag[cut + 1:]
            elif kind == 1:      # abbreviated (argparse accepts unique prefixes, refuses ambiguous ones)
                words[i] = flag[:rng.randrange(4, len(flag))]
            elif kind == 2:      # --flag=value
                if i + 1 < len(words) and not words[i + 1].startswith("--"):
                    words[i:i + 2] = [f"{flag}={words[i + 1]}"]
            elif kind == 3:      # a value of the wrong type
                if i + 1 < len(words) and not words[i + 1].startswith("--"):
                    words[i + 1] = "x1"
            else:                # a value missing at the end
                words = words[:i + 1]
            mutated.append(words)
    return cases + mutated


def test_the_parser_and_rmlint_agree_on_every_case(monkeypatch):
    from rmlint.frameworks.deepspeed_chat import flags as dsflags
    parser = real_parser()
    table = this_version(parser)
    monkeypatch.setattr(dsflags, "flags", lambda step: table)
    disagreements = []
    for argv in argv_cases():
        at = types.SimpleNamespace(path="<argv>", line=1, column=1)
        args = [types.SimpleNamespace(text=w, at=at, known=True, opaque=False) for w in argv]
        ours = dsflags.parse("rm", args)
        try:
            real = parser.parse_args(argv)
        except Refused as err:
            if not ours.refused:
                disagreements.append((argv, f"argparse refuses: {err}", "rmlint accepts"))
            continue
        if ours.refused:
            disagreements.append((argv, "argparse accepts", ours.refused[0]["error"]))
            continue
        for dest in READ:
            if dest in ours.values and ours.values[dest] != getattr(real, dest):
                disagreements.append((argv, dest, getattr(real, dest), ours.values[dest]))
    assert disagreements == []

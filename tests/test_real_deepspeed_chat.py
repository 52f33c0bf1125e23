"""rmlint against DeepSpeed-Chat's own parsers. DeepSpeed-Chat is not on the package registry (no
`deepspeed-chat` or `dschat` distribution), so the `parse_args()` of each step's main.py (steps 1, 2, 2-DPO and
3; excerpts read at DeepSpeedExamples commits equal to master's, provenance in tests/fixtures/upstream/MANIFEST.tsv) is run with the
real argparse, transformers' SchedulerType and the installed DeepSpeed's add_config_arguments, including
the checks parse_args makes after parsing (step 3: inference_tp_size > 1 needs actor ZeRO-3; ZeRO-2 +
hybrid engine + offload without LoRA is refused). Over every DeepSpeed-Chat launch in the upstream
fixtures, the rule examples and mutations of them (a letter dropped, abbreviations, `--flag=value`, a
value of the wrong type or outside the choices, a value missing at the end or in the middle, an unknown flag, a
required flag left out), rmlint reports an error exactly where the parser refuses and reads the same values."""

import argparse
import ast
import random
import shlex
import types
from functools import lru_cache

import pytest

from conftest import ROOT

UPSTREAM = ROOT / "tests" / "fixtures" / "upstream" / "deepspeed_chat"
STEPS = {"sft": "step1_supervised_finetuning", "rm": "step2_reward_model_finetuning", "dpo": "step2_dpo_finetuning",
         "ppo": "step3_rlhf_finetuning"}
EXCERPTS = {"sft": "step1", "rm": "step2", "dpo": "step2_dpo", "ppo": "step3"}     # parsers/<name>_parse_args.py
READ = ("model_name_or_path", "actor_model_name_or_path", "critic_model_name_or_path", "per_device_train_batch_size",
        "per_device_training_batch_size", "gradient_accumulation_steps", "zero_stage", "actor_zero_stage",
        "critic_zero_stage", "offload", "dtype", "lora_dim", "actor_lora_dim", "only_optimize_lora",
        "enable_hybrid_engine", "inference_tp_size", "data_path")
REFUSALS = ["RM440", "RM441", "RM316", "RM317"]     # argparse refusals (with and without a did-you-mean), parse_args' own checks


class Refused(Exception):
    pass


@lru_cache(maxsize=None)
def _parse_args(step: str):
    """The excerpt's parse_args, compiled once; called with argv it parses that argv for real."""
    import deepspeed
    from transformers import SchedulerType
    excerpt = UPSTREAM / "parsers" / f"{EXCERPTS[step]}_parse_args.py"
    argv_box, captured = [], {}

    class Parser(argparse.ArgumentParser):
        def parse_args(self, *args, **kwargs):
            captured["parser"] = self
            return argparse.ArgumentParser.parse_args(self, argv_box[-1])

        def error(self, message):
            raise Refused(message)
    namespace = {"argparse": types.SimpleNamespace(ArgumentParser=Parser), "deepspeed": deepspeed,
                 "SchedulerType": SchedulerType, "SummaryWriter": lambda path: None, "writer": None}
    exec(compile(ast.parse(excerpt.read_text()), str(excerpt), "exec"), namespace)

    def run(argv: list):
        argv_box.append(argv)
        return namespace["parse_args"]()
    return run, captured


def real_verdict(step: str, argv: list):
    """(namespace, None) when DeepSpeed-Chat's parse_args accepts argv, else (None, its error)."""
    run, _ = _parse_args(step)
    try:
        return run(argv), None
    except (Refused, AssertionError, ValueError) as err:
        return None, f"{type(err).__name__}: {err}"


def real_options(step: str) -> set:
    run, captured = _parse_args(step)
    if "parser" not in captured:
        real_verdict(step, [])
    return {option for action in captured["parser"]._actions for option in action.option_strings
            if option not in ("-h", "--help")}


def this_version(step: str) -> dict:
    """rmlint's table entries for exactly this parser's options (the shipped table is every version's)."""
    from rmlint.frameworks.deepspeed_chat.flags import flags
    table = flags(step)
    return {option: table[option] for option in real_options(step)}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_option_of_the_parser_is_in_the_table_as_it_is(step):
    real_verdict(step, [])
    _, captured = _parse_args(step)
    table = this_version(step)
    for action in captured["parser"]._actions:
        for option in action.option_strings:
            if option in ("-h", "--help"):
                continue
            entry = table[option]
            assert entry["dest"] == action.dest
            assert entry["kind"] == ("flag" if action.nargs == 0 else "list" if action.nargs in ("*", "+") else "value")


def upstream_launches() -> list:
    """(step, words after main.py) of every DeepSpeed-Chat launch in the upstream fixtures, as rmlint's
    shell reader reads them; a word the script leaves to its caller ($1) becomes a value of the flag's type."""
    from unittest import mock
    from rmlint.config import Settings
    from rmlint.frameworks.deepspeed_chat import flags as dsflags
    from rmlint.lint import lint_paths
    seen, real_parse = [], dsflags.parse

    def spy(step, args, anchor=None):
        seen.append((step, list(args)))
        return real_parse(step, args, anchor)
    launches = []
    for script in sorted(UPSTREAM.glob("training/**/*.sh")):
        seen.clear()
        with mock.patch.object(dsflags, "parse", spy):
            lint_paths([script], settings=Settings(installed_versions=False))
        for step, args in seen:
            if step not in STEPS:
                continue
            table, words, previous = dsflags.flags(step), [], None
            for arg in args:
                text = arg.text if arg.known else ("1" if table.get(previous, {}).get("type") in ("int", "float") else "m")
                words.append(text)
                previous = text.partition("=")[0]
            launches.append((step, words, script.relative_to(UPSTREAM).as_posix()))
    return launches


def example_launches() -> list:
    from rmlint.rules import builtin
    found = []
    for rule in builtin():
        for example in rule.examples.bad + rule.examples.good:
            argv = example.get("argv", "")
            for step, folder in STEPS.items():
                if f"{folder}/main.py" in argv:
                    found.append((step, shlex.split(argv.split("main.py", 1)[1]), rule.id))
    return found


def mutations(step: str, words: list, rng) -> list:
    flags = [i for i, w in enumerate(words) if w.startswith("--")]
    found = [words + ["--no_such_flag"], words + ["--dtype", "fp8"], words + ["--lr_scheduler_type", "warmup"]]
    from rmlint.frameworks.deepspeed_chat.flags import flags as table
    valued = [i for i in flags if i + 2 < len(words) and table(step).get(words[i], {}).get("kind") == "value"
              and not words[i + 1].startswith("--") and words[i + 2].startswith("--")]
    if valued:          # a value left empty, as `--flag $UNSET \` runs: the next flag follows the flag
        found += [words[:valued[0] + 1] + words[valued[0] + 2:], words + [words[valued[0]], "--deepspeed"]]
    if step == "ppo":   # parse_args' own checks
        found += [words + ["--inference_tp_size", "2", "--actor_zero_stage", "2"],
                  words + ["--inference_tp_size", "2", "--actor_zero_stage", "3"],
                  words + ["--actor_zero_stage", "2", "--critic_zero_stage", "2", "--enable_hybrid_engine", "--offload",
                           "--actor_lora_dim", "0"],
                  words + ["--actor_zero_stage", "2", "--critic_zero_stage", "2", "--enable_hybrid_engine", "--offload",
                           "--actor_lora_dim", "8"]]
    for _ in range(12 if flags else 0):
        i, mutated = rng.choice(flags), list(words)
        flag = mutated[i]
        has_value = i + 1 < len(mutated) and not mutated[i + 1].startswith("--")
        kind = rng.randrange(5)
        if kind == 0:        # a letter dropped
            cut = rng.randrange(3, len(flag))
            mutated[i] = flag[:cut] + flag[cut + 1:]
        elif kind == 1:      # abbreviated (argparse accepts unique prefixes, refuses ambiguous ones)
            mutated[i] = flag[:rng.randrange(4, len(flag))]
        elif kind == 2 and has_value:      # --flag=value
            mutated[i:i + 2] = [f"{flag}={mutated[i + 1]}"]
        elif kind == 3 and has_value:      # a value of the wrong type
            mutated[i + 1] = "x1"
        else:                # a value missing at the end
            mutated = mutated[:i + 1]
        found.append(mutated)
    return found


# A launch of each step written here (the upstream fixtures may not have one of every step).
WRITTEN = [("sft", "--data_path Dahoas/rm-static --data_split 2,4,4 --model_name_or_path facebook/opt-1.3b "
                   "--per_device_train_batch_size 8 --max_seq_len 512 --learning_rate 9.65e-6 --weight_decay 0. "
                   "--num_train_epochs 16 --gradient_accumulation_steps 1 --lr_scheduler_type cosine "
                   "--num_warmup_steps 0 --seed 1234 --gradient_checkpointing --zero_stage 2 --lora_dim 128 "
                   "--lora_module_name decoder.layers. --only_optimize_lora --deepspeed --output_dir out"),
           ("rm", "--model_name_or_path facebook/opt-350m --num_padding_at_beginning 1 --weight_decay 0.1 "
                  "--dropout 0.0 --gradient_accumulation_steps 4 --zero_stage 3 --enable_tensorboard --dtype bf16 "
                  "--deepspeed --output_dir out"),
           ("dpo", "--data_path Dahoas/rm-static --data_split 2,4,4 --model_name_or_path meta-llama/Llama-2-7b-hf "
                   "--per_device_train_batch_size 4 --max_seq_len 512 --learning_rate 5e-7 --beta 0.1 "
                   "--label_smoothing 0.0 --gradient_accumulation_steps 2 --lr_scheduler_type constant_with_warmup "
                   "--zero_stage 3 --offload_reference_model --lora_dim 64 --only_optimize_lora --dtype bf16 "
                   "--deepspeed --output_dir out"),
           ("ppo", "--data_path Dahoas/rm-static --actor_model_name_or_path a --critic_model_name_or_path c "
                   "--num_padding_at_beginning 1 --per_device_generation_batch_size 4 "
                   "--per_device_training_batch_size 4 --actor_zero_stage 3 --critic_zero_stage 3 "
                   "--enable_hybrid_engine --inference_tp_size 2 --actor_lora_dim 64 --deepspeed --output_dir out")]


def all_cases() -> list:
    rng = random.Random(758)
    cases = []
    written = [(step, shlex.split(text), "written here") for step, text in WRITTEN]
    for step, words, origin in written + upstream_launches() + example_launches():
        cases.append((step, words, origin))
        cases += [(step, mutated, f"{origin} (mutated)") for mutated in mutations(step, words, rng)]
    return cases


def rmlint_verdict(step: str, words: list) -> tuple:
    from rmlint.frameworks.deepspeed_chat import flags as dsflags
    from rmlint.lint import lint_argv
    found = lint_argv(["deepspeed", f"training/{STEPS[step]}/main.py", *words], select=REFUSALS).findings
    at = types.SimpleNamespace(path="<argv>", line=1, column=1)
    parsed = dsflags.parse(step, [types.SimpleNamespace(text=w, at=at, known=True, opaque=False) for w in words], at)
    return [f.rule for f in found], parsed.values


def test_the_parsers_and_rmlint_agree_on_every_launch_and_mutation(monkeypatch):
    from rmlint.frameworks.deepspeed_chat import flags as dsflags
    tables = {step: this_version(step) for step in STEPS}
    cases = all_cases()
    origins = {origin for _, _, origin in cases if "(mutated)" not in origin}
    assert {"training/step2_reward_model_finetuning/training_scripts/single_gpu/run_350m_lora.sh",
            "training/step2_dpo_finetuning/training_scripts/llama2/run_llama2_7b.sh",
            "training/step2_dpo_finetuning/training_scripts/llama2/run_llama2_7b_lora.sh",
            "training/step3_rlhf_finetuning/training_scripts/llama2/run_llama2_7b.sh"} <= origins
    assert {step for step, _, _ in cases} == set(STEPS)
    monkeypatch.setattr(dsflags, "flags", lambda step: tables[step])
    disagreements, refused = [], 0
    for step, words, origin in cases:
        real, error = real_verdict(step, words)
        ours, values = rmlint_verdict(step, words)
        refused += bool(error)
        if bool(error) != bool(ours):
            disagreements.append((origin, words, error or "accepted", ours))
            continue
        for dest in READ if real is not None else ():
            if dest in values and values[dest] != getattr(real, dest):
                disagreements.append((origin, words, dest, getattr(real, dest), values[dest]))
    assert disagreements == []
    assert 0 < refused < len(cases)

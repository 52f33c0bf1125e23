"""Snapshot the command-line flags of DeepSpeed-Chat's three training entrypoints, across their history,
into rmlint/data/deepspeed_chat_flags.json.

Usage: python tools/extract_deepspeed_chat_flags.py DEEPSPEEDEXAMPLES_CHECKOUT > rmlint/data/deepspeed_chat_flags.json

For every commit that changed applications/DeepSpeed-Chat/training/step{1,2,3}_*/main.py (and step2_dpo_finetuning), the file's own
`parse_args()` is run (its body up to `parser.parse_args()`, with the real argparse and the installed
DeepSpeed's `add_config_arguments`), and each action of the parser is recorded: option strings, whether it
takes a value, its type, choices, default and whether it is required, and the first and last commit dates that had it. The step-2
`only_optimize_lora` fix (DeepSpeedExamples PR #758) is located by the first commit whose main.py passes
`force_optimize_params`.
"""

import argparse
import ast
import json
import subprocess
import sys

STEPS = {"sft": "step1_supervised_finetuning", "rm": "step2_reward_model_finetuning", "dpo": "step2_dpo_finetuning",
         "ppo": "step3_rlhf_finetuning"}
ROOT = "applications/DeepSpeed-Chat/training"


class Captured(Exception):
    def __init__(self, parser):
        self.parser = parser


def parser_of(source: str) -> argparse.ArgumentParser | None:
    tree = ast.parse(source)
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "parse_args"), None)
    if function is None:
        return None
    import deepspeed
    from transformers import SchedulerType
    namespace = {"argparse": argparse, "deepspeed": deepspeed, "SchedulerType": SchedulerType}

    def capture(self, *args, **kwargs):
        raise Captured(self)
    original = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = capture
    try:
        exec(compile(ast.Module(body=[function], type_ignores=[]), "main.py", "exec"), namespace)
        namespace["parse_args"]()
    except Captured as found:
        return found.parser
    finally:
        argparse.ArgumentParser.parse_args = original
    return None


def describe(action) -> dict:
    kind = "flag" if action.nargs == 0 else "list" if action.nargs in ("*", "+") else "value"
    kind_type = getattr(action.type, "__name__", "") if action.type else "str"
    default = action.default if isinstance(action.default, (int, float, str, bool, type(None))) else str(action.default)
    return {"dest": action.dest, "kind": kind, "type": kind_type, "required": bool(action.required),
            "choices": [str(c) for c in action.choices] if action.choices else [], "default": default}


def main() -> int:
    checkout = sys.argv[1]
    out, sys.stdout = sys.stdout, sys.stderr       # DeepSpeed logs to stdout on import
    git = ["git", "-C", checkout]
    result = {"generated_by": "tools/extract_deepspeed_chat_flags.py", "steps": {}, "lora_head_fix": {}}
    for step, folder in STEPS.items():
        path = f"{ROOT}/{folder}/main.py"
        log = subprocess.run(git + ["log", "--reverse", "--format=%H %cs", "--", path], capture_output=True, text=True,
                             check=True).stdout.split("\n")
        flags, versions = {}, []
        for line in filter(None, log):
            commit, date = line.split()
            shown = subprocess.run(git + ["show", f"{commit}:{path}"], capture_output=True, text=True)
            if shown.returncode:
                continue
            if step == "rm" and "force_optimize_params" in shown.stdout and not result["lora_head_fix"]:
                result["lora_head_fix"] = {"commit": commit, "date": date}
            parser = parser_of(shown.stdout)
            if parser is None:
                continue
            versions.append({"commit": commit, "date": date})
            for action in parser._actions:
                for option in action.option_strings:
                    if option in ("-h", "--help"):
                        continue
                    entry = flags.setdefault(option, {**describe(action), "first": date})
                    entry.update(describe(action), last=date)
        result["steps"][step] = {"path": path, "versions": versions, "flags": flags}
    sys.stdout = out
    json.dump(result, sys.stdout, sort_keys=True, indent=None, separators=(",", ":"))
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

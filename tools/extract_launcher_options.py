"""Write rmlint/data/launcher_options.json: the options each launcher reads before the program it
runs, and how many words each takes, from the launchers' own argparse parsers (installed DeepSpeed,
torch and accelerate; run in the project's environment).

    python tools/extract_launcher_options.py
"""

import argparse
import json
import logging
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "rmlint" / "data" / "launcher_options.json"


def options_of(parser: argparse.ArgumentParser) -> dict:
    """option string -> words it takes (0 for a switch); positionals and the program are left out."""
    found = {}
    for action in parser._actions:
        if not action.option_strings:
            continue
        takes = 0 if action.nargs == 0 else action.nargs if isinstance(action.nargs, int) else 1
        for name in action.option_strings:
            found[name] = takes
    return dict(sorted(found.items()))


def main() -> None:
    logging.disable(logging.WARNING)
    import accelerate
    import deepspeed
    import torch
    from accelerate.commands.launch import launch_command_parser
    from deepspeed.launcher import runner
    from torch.distributed import run as torchrun

    captured = {}
    original = argparse.ArgumentParser.parse_args

    def capture(self, args=None, namespace=None):
        captured["parser"] = self
        raise SystemExit(0)

    argparse.ArgumentParser.parse_args = capture
    try:
        runner.parse_args([])
    except SystemExit:
        pass
    finally:
        argparse.ArgumentParser.parse_args = original
    data = {
        "_source": {"deepspeed": deepspeed.__version__, "torch": torch.__version__, "accelerate": accelerate.__version__},
        "deepspeed": options_of(captured["parser"]),
        "torchrun": options_of(torchrun.get_args_parser()),
        "accelerate": options_of(launch_command_parser()),
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""No command shape can raise: random launch lines built from every entrypoint's real flags (OpenRLHF's
table, TRL's and LLaMA-Factory's snapshots, the launchers' own option tables) inside random wrappers and
shell forms, read by `check` end to end."""

import json
import random

import pytest

from conftest import findings_of_text
from rmlint.frameworks.openrlhf.flags import table
from rmlint.sources.launcher_options import DATA as LAUNCHER_DATA
from rmlint.frameworks.trainer.common import snapshot

WRAPPERS = ["{}", "env A=1 {}", "CUDA_VISIBLE_DEVICES=0,1 {}", "nohup {} &", "timeout 60 {}", "exec {}", "time {}",
            "bash -c '{}'", "sh -c \"{}\"", "srun -N 2 --gres=gpu:8 {}", "mpirun -np 4 {}", "sbatch --wrap \"{}\"",
            "eval \"{}\"", "f() {{\n {} \"$@\"\n}}\nf --x", "CMD=\"{}\"\n$CMD", "args=({})\n\"${{args[@]}}\"",
            "read -r -d '' c <<EOF\n{}\nEOF\n$c", "if true; then\n {}\nfi", "{} \\\n  # cut\n  --more"]
LAUNCHERS = ["deepspeed", "torchrun", "accelerate launch", "python", "python3 -m torch.distributed.run",
             "ray job submit --address=http://h:1 --", "", "deepspeed --module", "python -m"]
ODD = ["$X", "${Y:-3}", "$(date)", "`pwd`", "'a b'", "\"$1\"", "--", "-", "=", "''", "\\", "\u2013x", "\u00a0", "${a[@]}",
       "\"", "'", "<<EOF", ")", "(", "{", "}", "&&", "|", ";", "#", "x=", "=y", "--k=", "--k=\"v w\""]


def _vocabulary() -> dict:
    openrlhf = {name: sorted(flags) for name, flags in table().entrypoints.items()}
    launchers = json.loads(LAUNCHER_DATA.read_text())
    return {"openrlhf": openrlhf, "trl": sorted(f"--{k}" for k in snapshot("trl")["keys"])[:400],
            "llamafactory": sorted(f"--{k}" for k in snapshot("llamafactory")["keys"])[:400],
            "launcher": sorted({o for name in ("deepspeed", "torchrun", "accelerate") for o in launchers[name]})}


def _line(rng: random.Random, words: dict) -> str:
    kind = rng.choice(["openrlhf-module", "openrlhf-script", "trl", "llamafactory", "cli", "unknown"])
    if kind.startswith("openrlhf"):
        entry = rng.choice(sorted(words["openrlhf"]))
        program = f"openrlhf.cli.{entry}" if kind == "openrlhf-module" else rng.choice(
            [f"{entry}.py", f"../{entry}.py", f"examples/{entry}.py", f"openrlhf/cli/{entry}.py"])
        flags = words["openrlhf"][entry]
    elif kind == "trl":
        program, flags = "examples/scripts/reward_modeling.py", words["trl"]
    elif kind == "llamafactory":
        program, flags = "src/train_bash.py", words["llamafactory"]
    elif kind == "cli":
        program, flags = rng.choice(["llamafactory-cli train x.yaml", "trl reward", "axolotl train a.yml", "trl nothing"]), \
            words["trl"]
    else:
        program, flags = rng.choice(["main.py", "train.py", "x"]), words["trl"]
    launcher = rng.choice(LAUNCHERS) if rng.random() < 0.8 else rng.choice(ODD)
    options = " ".join(rng.choice(words["launcher"]) + rng.choice(["", " 2", "=3", " $N"]) for _ in range(rng.randint(0, 3)))
    args = []
    for _ in range(rng.randint(0, 12)):
        args.append(rng.choice(flags) if flags and rng.random() < 0.9 else rng.choice(ODD))
        if rng.random() < 0.5:
            args.append(rng.choice(["3", "0", "-1", "bf16", "true", "m", "1e-5", "q_proj v_proj", "$V", "x.yaml"]))
    line = " ".join(p for p in (launcher, options, program, *args) if p)
    return rng.choice(WRAPPERS).format(line)


@pytest.mark.parametrize("seed", range(4))
def test_random_launch_lines_never_raise(seed):
    rng, words = random.Random(seed), _vocabulary()
    for _ in range(100):
        text = _line(rng, words) + "\n"
        try:
            findings_of_text("fuzz.sh", text)
        except Exception as err:       # noqa: BLE001 - the point: nothing may escape
            raise AssertionError(f"{type(err).__name__}: {err}\n--- script ---\n{text}") from err

"""One recogniser for every launch line: launcher, program, arguments, framework on evidence only,
the launcher's own options, the shell forms around a launch, and what was not understood."""

import json

import pytest

from conftest import ROOT, cli, findings_of_text, run_rmlint
from rmlint.sources import shell
from rmlint.launches import entrypoints
from rmlint.sources.commands import launches as recognise_all


def launches_of(text: str, folders=(".",)):
    script = shell.parse(text)
    return recognise_all(script.commands, lambda launch: list(folders), entrypoints)


def summary(text: str):
    return [(l.launcher, l.program, l.framework, l.entrypoint, l.understood) for l in launches_of(text)]


RM = " --pretrain m --bf16"
CASES = [
    ("deepspeed --module openrlhf.cli.train_rm" + RM, ("deepspeed", "openrlhf.cli.train_rm", "openrlhf", "train_rm", True)),
    ("deepspeed ./train_rm.py" + RM, ("deepspeed", "./train_rm.py", "openrlhf", "train_rm", True)),
    ("deepspeed ../train_rm.py" + RM, ("deepspeed", "../train_rm.py", "openrlhf", "train_rm", True)),
    ("deepspeed examples/train_sft.py" + RM, ("deepspeed", "examples/train_sft.py", "openrlhf", "train_sft", True)),
    ("python3 /abs/x/OpenRLHF/examples/train_ppo_ray.py" + RM,
     ("python", "/abs/x/OpenRLHF/examples/train_ppo_ray.py", "openrlhf", "train_ppo_ray", True)),
    ("torchrun --nproc_per_node 8 openrlhf/cli/train_rm.py" + RM,
     ("torchrun", "openrlhf/cli/train_rm.py", "openrlhf", "train_rm", True)),
    ("python -m torch.distributed.run --nproc_per_node 2 -m openrlhf.cli.train_rm" + RM,
     ("torchrun", "openrlhf.cli.train_rm", "openrlhf", "train_rm", True)),
    ("ray job submit --address=http://h:8265 --runtime-env-json='{\"a\": 1}' -- python3 -m openrlhf.cli.train_ppo_ray" + RM,
     ("ray", "openrlhf.cli.train_ppo_ray", "openrlhf", "train_ppo_ray", True)),
    ("accelerate launch --config_file z3.yaml examples/scripts/reward_modeling.py --model_name_or_path m",
     ("accelerate", "examples/scripts/reward_modeling.py", "trl", "reward_modeling", True)),
    ("trl reward --model_name_or_path m", ("trl", "trl reward", "trl", "reward", True)),
    ("llamafactory-cli train examples/qwen_rm.yaml", ("llamafactory-cli", "llamafactory-cli train", "llamafactory", "train", True)),
    ("python src/train_bash.py --stage rm --model_name_or_path m", ("python", "src/train_bash.py", "llamafactory", "train", True)),
    ("axolotl train rm.yml", ("axolotl", "axolotl train", "axolotl", "train", True)),
    ("torchrun --nproc_per_node 4 src/train.py examples/lora_multi_gpu/llama3_lora_sft_ds.yaml",
     ("torchrun", "src/train.py", "llamafactory", "train", True)),
    ("accelerate launch -m axolotl.cli.train rm.yml", ("accelerate", "axolotl.cli.train", "axolotl", "train", True)),
    ("srun -N 2 --gres=gpu:8 python -m openrlhf.cli.train_rm" + RM, ("srun", "openrlhf.cli.train_rm", "openrlhf", "train_rm", True)),
    ("mpirun -np 8 -x NCCL_DEBUG python train_rm.py" + RM, ("mpirun", "train_rm.py", "openrlhf", "train_rm", True)),
    # a bare name other projects reuse is no evidence
    ("deepspeed main.py --num_warmup_steps 0", ("deepspeed", "main.py", "", "", False)),
    ("python reward_modeling.py --model_name_or_path m", ("python", "reward_modeling.py", "", "", False)),
    ("torchrun --nproc_per_node 8 train.py --stage rm", ("torchrun", "train.py", "", "", False)),
    ("python train_rm.py --model m", ("python", "train_rm.py", "", "", False)),     # no --pretrain: not OpenRLHF's
    ("deepspeed --num_gpus 8 $CMD", ("deepspeed", "", "", "", False)),
]


@pytest.mark.parametrize("line,expected", CASES, ids=[c[0][:60] for c in CASES])
def test_launch_lines_are_recognised_once(line, expected):
    assert summary(line + "\n") == [expected]


@pytest.mark.parametrize("wrapped", [
    "env CUDA_VISIBLE_DEVICES=0,1 {}", "CUDA_VISIBLE_DEVICES=0 NCCL_DEBUG=INFO {}", "nohup {} > log 2>&1 &",
    "timeout 3600 {}", "timeout -s KILL 10m {}", "exec {}", "time {}", "set -x\n{}", "bash -c '{}'", "sh -c \"{}\"",
    "CMD=\"{}\"\n$CMD", "eval \"{}\"", "srun --nodes=1 -w node1 bash -c \"cd /x; {}\"", "sbatch -N 1 --wrap \"{}\"",
    "train() {{\n  {} \"$@\"\n}}\ntrain --zero_stage 2", "function go {{\n {}\n}}\ngo",
    "if true; then\n  {}\nfi", "for s in 1; do\n {}; done",
])
def test_shell_forms_around_a_launch_are_followed(wrapped):
    line = "deepspeed --num_gpus 2 --module openrlhf.cli.train_rm --pretrain m --bf16"
    found = launches_of(wrapped.format(line) + "\n")
    assert [(l.launcher, l.program, l.framework, l.understood) for l in found] == [
        ("deepspeed", "openrlhf.cli.train_rm", "openrlhf", True)]
    assert found[0].option("--num_gpus") == "2"


def test_arrays_and_functions_carry_the_arguments():
    text = ('args=(--pretrain "org/m" --bf16)\nargs+=(--zero_stage 3)\n'
            'run() {\n  deepspeed --module openrlhf.cli.train_rm "${args[@]}" "$@"\n}\nrun --load_in_4bit --lora_rank 8\n')
    [launch] = launches_of(text)
    assert [w.text for w in launch.args] == ["--pretrain", "org/m", "--bf16", "--zero_stage", "3", "--load_in_4bit",
                                              "--lora_rank", "8"]
    assert findings_of_text("run.sh", text)[0][0] == "RM201"


def test_launcher_options_are_kept_for_the_world_size():
    [launch] = launches_of("deepspeed --num_gpus 4 --num_nodes 2 --hostfile hf --include localhost:0,1 "
                           "--master_port 29500 --module openrlhf.cli.train_rm --pretrain m\n")
    assert launch.stack == [("deepspeed", {"--num_gpus": "4", "--num_nodes": "2", "--hostfile": "hf",
                                           "--include": "localhost:0,1", "--master_port": "29500", "--module": True})]
    [launch] = launches_of("srun -N 2 torchrun --nnodes=2 --nproc-per-node 8 --rdzv_endpoint $H:29500 x/examples/scripts/sft.py\n")
    assert launch.stack == [("srun", {"-N": "2"}), ("torchrun", {"--nnodes": "2", "--nproc-per-node": "8",
                                                                "--rdzv_endpoint": None})]
    [launch] = launches_of("accelerate launch --num_processes 8 --use_deepspeed --zero_stage 3 examples/scripts/dpo.py\n")
    assert launch.options == {"--num_processes": "8", "--use_deepspeed": True, "--zero_stage": "3"}


def test_a_script_is_told_by_its_source_on_disk(tmp_path):
    (tmp_path / "reward_modeling.py").write_text("from trl import RewardTrainer\n")
    (tmp_path / "main.py").write_text("import deepspeed\nfrom dschat.utils import x\n")
    (tmp_path / "train.py").write_text("from openrlhf.trainer import RewardModelTrainer\n")
    (tmp_path / "broken.py").write_text("import trl\nthis is not python(\n")
    found = launches_of("python reward_modeling.py --model_name_or_path m\ndeepspeed main.py --x 1\n"
                        "deepspeed train.py --pretrain m\npython broken.py --model_name_or_path m\n", [str(tmp_path)])
    assert [(l.program, l.framework) for l in found] == [("reward_modeling.py", "trl"), ("main.py", ""),
                                                         ("train.py", "openrlhf"), ("broken.py", "")]


def seed_script() -> str:
    """The seed failure as posted in OpenRLHF #209: the flags in a here-document read with read -d '',
    the v0.2-era script path, and `deepspeed $training_commands`."""
    flags = ["--save_path ./ckpt/7b_llama", "--train_batch_size 128", "--micro_train_batch_size 1",
             "--pretrain OpenLLMAI/Llama-2-7b-sft-model-ocra-500k", "--bf16", "--max_epochs 1", "--max_len 2048",
             "--zero_stage 3", "--learning_rate 9e-6", "--dataset Anthropic/hh-rlhf", "--flash_attn",
             "--gradient_checkpointing", "--lora_rank 64", "--load_in_4bit"]
    return ("set -x\n\nread -r -d '' training_commands <<EOF\n../train_rm.py \\\n" +
            " \\\n".join("     " + f for f in flags) + "\nEOF\n\nif [[ ${1} != \"slurm\" ]]; then\n"
            "    deepspeed $training_commands\nfi\n")


def test_the_seed_script_as_posted_is_read(tmp_path):
    script = tmp_path / "train_rm_llama.sh"
    script.write_text(seed_script())
    result = cli("check", "--format", "json", str(script))
    document = json.loads(result.output)
    assert result.exit_code == 1
    rules = [(f["rule"], f["line"]) for f in document["findings"]]
    assert ("RM201", 12) in rules                               # --zero_stage 3, inside the here-document
    assert any(rule in ("RM601", "RM602") for rule, _ in rules)  # the value head is not saved
    assert document["launches"] == [{"path": str(script), "line": 22, "launcher": "deepspeed", "program": "../train_rm.py",
                                     "framework": "openrlhf", "releases": document["launches"][0]["releases"],
                                     "understood": True, "reason": ""}]
    args = cli("check-args", "--", "deepspeed", "../train_rm.py", "--pretrain", "m", "--zero_stage", "3",
               "--lora_rank", "64", "--load_in_4bit", "--bf16")
    assert args.exit_code == 1 and "error RM201" in args.output


def test_unknown_scripts_are_listed_not_passed(tmp_path):
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/bash\ndeepspeed main.py --num_warmup_steps 0 --zero_stage 3 --deepspeed\n")
    text = cli("check", "--output-format", "concise", str(script))
    assert text.exit_code == 0
    assert text.output.splitlines() == [
        f"{script}:2:11: info RM006 launch not understood (main.py): unknown script `main.py`: no framework's "
        "module, path or import says what it is  [launch-not-understood]",
        "Found 0 errors, 0 warnings, 1 note in 1 file checked.",
        f"note: launch not understood at {script}:2 (main.py): unknown script `main.py`: no framework's module, "
        "path or import says what it is"]
    ignored = cli("check", "--ignore", "RM006", str(script))
    assert "All checks passed" not in ignored.output
    assert ignored.output.startswith("No findings in 1 file checked, but not every launch was read.")


def test_llamafactory_command_lines_get_no_trl_findings(tmp_path):
    """LLaMA-Factory's own command line (README, v0.5-0.7): read as LLaMA-Factory's, never as TRL's."""
    text = ("CUDA_VISIBLE_DEVICES=0 python src/train_bash.py \\\n    --stage ppo \\\n    --do_train \\\n"
            "    --model_name_or_path path_to_llama_model \\\n    --adapter_name_or_path path_to_sft_checkpoint \\\n"
            "    --create_new_adapter \\\n    --dataset alpaca_gpt4_en \\\n    --template default \\\n"
            "    --finetuning_type lora \\\n    --lora_target q_proj,v_proj \\\n"
            "    --reward_model path_to_rm_checkpoint \\\n    --output_dir path_to_ppo_checkpoint \\\n"
            "    --per_device_train_batch_size 2 \\\n    --fp16\n")
    found = findings_of_text("ppo.sh", text)
    assert not [f for f in found if f[0] in ("RM240", "RM242", "RM006")], found
    [launch] = launches_of(text)
    assert (launch.framework, launch.understood) == ("llamafactory", True)
    assert findings_of_text("ppo.sh", text.replace("    --reward_model path_to_rm_checkpoint \\\n", ""))[0][0] == "RM242"


def test_gate_reads_a_trl_line_as_check_does(tmp_path):
    """`rmlint run --dry-run -- accelerate launch ... reward_modeling.py` exits 1 with the findings of the line in a script
    (checked with the installed versions, which `run` reads: RM640 with transformers >= 4.52, RM624 before)."""
    (tmp_path / "zero3.yaml").write_text("compute_environment: LOCAL_MACHINE\ndistributed_type: DEEPSPEED\n"
                                         "deepspeed_config:\n  zero_stage: 3\n  zero3_init_flag: true\nnum_processes: 8\n")
    argv = ["accelerate", "launch", "--config_file", "zero3.yaml", "examples/scripts/reward_modeling.py", "--use_peft",
            "--lora_task_type", "CAUSAL_LM", "--load_in_4bit", "--model_name_or_path", "M"]
    env = {"PYTHONPATH": str(ROOT)}
    gate = run_rmlint("run", "--dry-run", "--", *argv, cwd=tmp_path, env=env)
    (tmp_path / "train.sh").write_text(" ".join(argv) + "\n")
    script = run_rmlint("check", "--versions", "installed", "--format", "json", "train.sh", cwd=tmp_path, env=env)
    in_script = sorted({f["rule"] for f in json.loads(script.stdout)["findings"] if f["severity"] != "info"})
    assert gate.returncode == 1 and "not running the command" in gate.stderr
    assert in_script and all(f"error {rule}" in gate.stderr or f"warning {rule}" in gate.stderr for rule in in_script)
    assert "RM247" in in_script
    ignored = run_rmlint("run", "--dry-run", "--ignore", ",".join(in_script), "--", *argv, cwd=tmp_path, env=env)
    assert ignored.returncode == 0 and "would run: accelerate launch" in ignored.stdout


def test_shell_failures_point_at_their_line():
    assert findings_of_text("a.sh", "deepspeed --module openrlhf.cli.train_rm \\\r\n  --pretrain m --bf16\r\n") == [
        ("RM007", 1, 1)]
    spaced = findings_of_text("b.sh", "deepspeed --module openrlhf.cli.train_rm --pretrain m \\  \n  --bf16\n")
    assert ("RM008", 1, 55) in spaced and ("RM009", 2, 3) in spaced
    text = "deepspeed --module openrlhf.cli.train_rm \\\n  --pretrain m \\\n  # --load_in_4bit \\\n  --bf16\n"
    assert ("RM009", 4, 3) in findings_of_text("c.sh", text)
    assert ("RM010", 1, 55) in findings_of_text("d.sh", "deepspeed --module openrlhf.cli.train_rm --pretrain m \u2014bf16\n")

"""The machine at launch: the world size from the launcher's options, else from the environment
rmlint runs in, and findings that say where the GPU count came from."""

import pytest

from conftest import run_rmlint
from rmlint.lint import lint_argv, lint_paths
from rmlint.sources.machine import Gpus, local_gpus, world_size

SEVEN = Gpus(7, "CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6")


@pytest.mark.parametrize("env,expected", [
    ({"CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6"}, SEVEN),
    ({"CUDA_VISIBLE_DEVICES": "", "SLURM_GPUS_ON_NODE": "8"}, Gpus(0, "CUDA_VISIBLE_DEVICES=")),
    ({"CUDA_VISIBLE_DEVICES": "GPU-8a1b,GPU-77cd"}, Gpus(2, "CUDA_VISIBLE_DEVICES=GPU-8a1b,GPU-77cd")),
    ({"NVIDIA_VISIBLE_DEVICES": "all", "SLURM_GPUS_PER_NODE": "a100:4"}, Gpus(4, "SLURM_GPUS_PER_NODE=a100:4")),
    ({"NVIDIA_VISIBLE_DEVICES": "0,1"}, Gpus(2, "NVIDIA_VISIBLE_DEVICES=0,1")),
    ({"SLURM_JOB_GPUS": "0,1,2"}, Gpus(3, "SLURM_JOB_GPUS=0,1,2")),
    ({}, Gpus()),
])
def test_local_gpus_from_the_environment(env, expected):
    assert local_gpus(env, probe=False) == expected


def test_nvidia_smi_is_asked_when_the_environment_says_nothing(monkeypatch):
    monkeypatch.setattr("rmlint.sources.machine._nvidia_smi", lambda: 3)
    assert local_gpus({}) == Gpus(3, "nvidia-smi -L")


@pytest.mark.parametrize("launcher,words,expected", [
    ("deepspeed", ["deepspeed", "--num_gpus", "8"], Gpus(8, "--num_gpus 8")),
    ("deepspeed", ["deepspeed", "--num_gpus=4", "--num_nodes", "2"], Gpus(8, "--num_gpus 4 x --num_nodes 2")),
    ("deepspeed", ["deepspeed"], SEVEN),                                   # left to the machine
    ("deepspeed", ["deepspeed", "--include", "localhost:0,2,5"], Gpus(3, "--include localhost:0,2,5")),
    ("deepspeed", ["deepspeed", "--include", "w1:0,1@w2:0,1,2,3"], Gpus(6, "--include w1:0,1@w2:0,1,2,3")),
    ("deepspeed", ["deepspeed", "--include", "w1@w2"], Gpus()),            # every GPU of hosts rmlint cannot see
    ("deepspeed", ["deepspeed", "--exclude", "localhost:0"], Gpus(6, "CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6, --exclude localhost:0")),
    ("torchrun", ["torchrun", "--nproc_per_node", "4", "--nnodes", "2"], Gpus(8, "--nproc_per_node 4 x --nnodes 2")),
    ("torchrun", ["torchrun", "--nproc-per-node=gpu"], Gpus(7, "--nproc_per_node gpu (CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6)")),
    ("torchrun", ["torchrun"], Gpus(1, "--nproc_per_node 1", default=True)),
    ("torchrun", ["torchrun", "--nproc_per_node", "8", "--nnodes", "1:4"], Gpus()),   # elastic: no one size
    ("accelerate", ["accelerate", "launch", "--num_processes", "16"], Gpus(16, "--num_processes 16")),
])
def test_world_size_from_the_launcher_words(launcher, words, expected):
    assert world_size(launcher, words, SEVEN) == expected


def test_a_hostfile_is_read_and_narrowed(tmp_path):
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("# hosts\nworker-1 slots=8\nworker-2 slots=8\nworker-3 slots=4\n")
    words = ["deepspeed", "--hostfile", str(hostfile)]
    assert world_size("deepspeed", words) == Gpus(20, f"--hostfile {hostfile}")
    assert world_size("deepspeed", words + ["--num_nodes", "2"]).count == 16
    assert world_size("deepspeed", words + ["--exclude", "worker-3"]).count == 16
    assert world_size("deepspeed", words + ["--num_gpus", "2"]).count == 6
    assert world_size("deepspeed", ["deepspeed", "--hostfile", str(tmp_path / "missing")]) == Gpus()


SFT = ["deepspeed", "--module", "openrlhf.cli.train_sft", "--pretrain", "m", "--bf16", "--train_batch_size", "256",
       "--micro_train_batch_size", "2"]


def test_run_takes_the_gpu_count_from_cuda_visible_devices():
    done = run_rmlint("run", "--dry-run", "--", *SFT, env={"CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6"})
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        "<argv>:1:63: error RM301 train batch 256 is not a multiple of micro batch 2 x 7 GPUs of the policy "
        "(train_sft) (DeepSpeed would use 18 accumulation steps; 7 GPUs from CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6)  "
        "[batch-does-not-divide]")
    done = run_rmlint("run", "--dry-run", "--", *SFT, env={"CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"})
    assert done.returncode == 0 and done.stdout.startswith("would run: deepspeed --module openrlhf.cli.train_sft")


def test_check_args_and_the_library_use_the_environment_but_a_script_file_does_not(monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4,5,6")
    assert [f.rule for f in lint_argv(SFT, select=["RM301"]).findings] == ["RM301"]
    done = run_rmlint("check-args", "--select", "RM301", "--", *SFT)
    assert done.returncode == 1 and "7 GPUs from CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6" in done.stdout
    script = tmp_path / "train.sh"
    script.write_text(" ".join(SFT) + "\n")        # checked on a laptop: the training machine is not this one
    assert lint_paths([script], select=["RM301"]).findings == []


def test_the_launcher_options_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4,5,6")
    argv = SFT[:1] + ["--num_gpus", "8"] + SFT[1:]
    assert lint_argv(argv, select=["RM301"]).findings == []


def test_ray_groups_say_which_flags_sized_them():
    argv = ["python3", "-m", "openrlhf.cli.train_ppo_ray", "--pretrain", "a", "--reward_pretrain", "r", "--bf16",
            "--actor_num_gpus_per_node", "4", "--critic_num_gpus_per_node", "4", "--ref_num_gpus_per_node", "4",
            "--reward_num_gpus_per_node", "3", "--train_batch_size", "64", "--micro_train_batch_size", "4",
            "--vllm_num_engines", "2"]
    messages = [f.message for f in lint_argv(argv, select=["RM301"]).findings]
    assert messages == ["train batch 64 is not a multiple of micro batch 4 x 3 GPUs of the reward model (DeepSpeed "
                        "would use 5 accumulation steps; 3 GPUs from reward num_nodes x num_gpus_per_node)"]

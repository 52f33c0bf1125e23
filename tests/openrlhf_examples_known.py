"""What OpenRLHF's own example launch scripts should give, shared by tests/test_openrlhf_examples_corpus.py
(the scripts committed as fixtures) and benchmarks/openrlhf_examples.py (every tag of a local checkout).

A script is judged as the release of the first tag that shipped it (its folder under
tests/fixtures/upstream/openrlhf/ names it): that release is pinned, installed distributions are not read.
Its launch lines are found by a reading independent of rmlint's (`launch_lines`), and its error findings
must be exactly the real problems named in KNOWN, each checked against that release's own code.
"""

import os
import re


def release_of_folder(folder: str) -> str:
    """The release a fixture folder names: `v0.6.0`, or `v0.6.0@00ef17c` for a blob of a commit between
    releases that no tag shipped (judged as the first release containing the commit, the tag's own blob
    sitting in `v0.6.0`)."""
    return folder.split("@", 1)[0]

# (rule, path) -> (first tags of the blobs that have the problem, the text the finding points at, why it is real).
# "unreleased": a fixture newer than every release tag (tests/fixtures/upstream/openrlhf/unreleased/).
KNOWN = {
    ("RM623", "examples/scripts/train_ppo_ray_hybrid_engine.sh"): (
        ("v0.9.8", "v0.10.2"), r"--normalize_reward|--reward\.normalize_enable",
        "normalize_reward on a release that pins transformers 5 (>= 0.9.5): mean/std buffers left uninitialised"),
    ("RM623", "examples/scripts/serve_remote_rm.sh"): (
        ("v0.10.2", "unreleased"), r"--normalize_reward|--reward\.normalize_enable",
        "the same, for the served reward model"),
    ("RM623", "examples/scripts/train_ppo_with_reward_fn.sh"): (
        ("v0.9.8", "v0.10.2"), r"--normalize_reward|--reward\.normalize_enable", "the same, for the critic"),
    ("RM623", "examples/scripts/train_ppo_ray_slurm.sh"): (
        ("v0.9.5", "v0.9.8", "v0.10.2", "v0.10.4"), r"--normalize_reward|--reward\.normalize_enable",
        "the same, in the slurm + ray example"),
    ("RM001", "examples/scripts/train_ppo_llama_ray_slurm.sh"): (
        ("v0.0.2", "v0.1.0", "v0.1.1", "v0.1.3", "v0.1.5"), r"Job \$\{SLURM_JOB_ID\} stopped",
        "the script is cut inside a double quote: `bash -n` refuses it too"),
    ("RM503", "examples/scripts/train_sft_mixtral_lora.sh"): (
        ("v0.1.6", "v0.1.7", "v0.2.4", "v0.2.7", "v0.3.3", "v0.3.6"), r"--lora_rank",
        "LoRA + ZeRO-3 before 0.5.6: save_model writes adapter_model.safetensors from ZeRO-3 partitions"),
    ("RM503", "examples/scripts/train_sft_jamba_lora.sh"): (
        ("v0.2.7", "v0.3.3", "v0.3.6"), r"--lora_rank", "the same"),
    ("RM304", "examples/scripts/train_grpo_llama_ray.sh"): (
        ("v0.6.0", "v0.6.0.post1"), r"--advantage_estimator group_norm",
        "--n_samples_per_prompt 1 with group_norm: 0.6.0's train_ppo_ray asserts n_samples_per_prompt > 1"),
    ("RM304", "examples/scripts/train_grpo_ray_hybrid_engine.sh"): (
        ("v0.6.0", "v0.6.0.post1"), r"--advantage_estimator group_norm", "the same"),
    ("RM401", "examples/scripts/train_dapo_ray_hybrid_engine.sh"): (
        ("v0.9.1.post1", "v0.9.2", "v0.9.8"), r"--vllm_enable_is_correction",
        "--vllm_enable_is_correction: the release's flag is --enable_vllm_is_correction (argparse exits)"),
    ("RM632", "examples/scripts/train_ppo_llama_ray_70b.sh"): (
        ("v0.1.0", "v0.1.1", "v0.1.5", "v0.3.0", "v0.3.3", "v0.3.4", "v0.3.6", "v0.3.7", "v0.5.1",
         "v0.5.2.post1", "v0.5.9.post1", "v0.8.10"), r"--reward_pretrain",
        "the policy checkpoint given as --reward_pretrain: a fresh, random value head scores the rollouts"),
    ("RM632", "examples/scripts/train_ppo_llama_ray_34b.sh"): (("v0.1.1", "v0.1.5"), r"--reward_pretrain", "the same"),
    # flags the shipping release had already removed: argparse exits with "unrecognized arguments"
    ("RM430", "examples/scripts/train_conditional_llama.sh"): (
        ("v0.1.1", "v0.1.9"), r"\.\./train_sft\.py", "--save_hf_model was removed from train_sft in 0.1.1"),
    ("RM430", "examples/scripts/train_ppo_llama_ray_slurm.sh"): (
        ("v0.1.1",), r"examples/train_ppo_ray\.py",
        "--reward_model_path and --sft_model_path were removed from train_ppo_ray in 0.1.1"),
}

# The slurm wrappers (<= 0.10.x) `source ./${training_script} slurm` and run `torchrun ... ${training_commands}`
# with the sibling's heredoc: read through the sibling when the one shipped with the same release sits beside
# it, else listed as not understood (RM006) naming the file, never passed silently.
SOURCED = {"examples/scripts/train_llama_slurm.sh", "examples/scripts/train_nonrl_slurm.sh"}
_SOURCED_SCRIPT = re.compile(r'^(?:readonly\s+)?training_script="([^"]+)"', re.M)


def sourced_script(text: str) -> str:
    """The sibling a slurm wrapper sources (its `training_script=`)."""
    return _SOURCED_SCRIPT.search(text).group(1)

_PROGRAM = re.compile(r"openrlhf[./]cli[./]([a-z_0-9]+)|(?:^|[\s/])((?:train|batch|interactive|serve)_[a-z_0-9]+)\.py\b")
_INDIRECT = re.compile(r"(?:-m|torchrun|deepspeed)\s+\$\{?training_commands|\$\{training_commands\}\"")


def launch_lines(text: str) -> list:
    """Line numbers that run an OpenRLHF program, by a reading independent of rmlint's."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "echo")):
            continue
        if _PROGRAM.search(stripped.split(" #", 1)[0]):
            lines.append(number)
    if not lines:   # the slurm wrappers: `source ./train_x.sh slurm`, then `torchrun ... -m ${training_commands}`
        lines = [n for n, line in enumerate(text.splitlines(), 1)
                 if _INDIRECT.search(line) and not line.lstrip().startswith(("#", "echo"))]
    return lines


def launcher_line(text: str, line: int) -> int:
    """The line, at or above `line`, where the launcher (torchrun, deepspeed) that runs it is named."""
    lines = text.splitlines()
    while line > 1 and not re.search(r"\b(?:torchrun|deepspeed)\b", lines[line - 1]):
        line -= 1
    return line


def programs_named(text: str) -> list:
    """The entrypoints (train_rm, batch_inference, ...) the launch lines name, sorted."""
    lines = text.splitlines()
    found = [_PROGRAM.search(lines[n - 1].strip().split(" #", 1)[0]) for n in launch_lines(text)]
    return sorted(m.group(1) or m.group(2) for m in found if m)


def program_of(record: dict) -> str:
    """The entrypoint of one `launches` record: `openrlhf.cli.train_rm`, `../train_rm.py` -> train_rm."""
    return re.sub(r"\.py$", "", record["program"]).replace("/", ".").rsplit(".", 1)[-1]


def expected_errors(path: str, tag: str, text: str) -> list:
    """[(rule, line)] of the known real problems of this script as shipped at `tag`, sorted."""
    lines = text.splitlines()
    expected = []
    for (rule, known_path), (tags, needle, _why) in KNOWN.items():
        if known_path == path and tag in tags:
            line = next(n for n, line in enumerate(lines, 1) if re.search(needle, line))
            expected.append((rule, line))
    return sorted(expected)


def judge(name: str, text: str, tag: str) -> dict:
    """rmlint's `launches` records and findings for one script in the current folder, as `rmlint check`
    makes them with the release of `tag` pinned (`unreleased`: no pin); installed distributions not read."""
    from rmlint import lint
    from rmlint.config import Settings
    pins = {} if tag == "unreleased" else {"openrlhf": tag[1:]}
    settings = Settings(versions=pins, installed_versions=False, root=os.getcwd())
    result = lint.lint_paths([name], settings=settings)
    return {"records": result.launches, "rule_errors": result.rule_errors,
            "errors": sorted((f.rule, f.line) for f in result.findings if f.severity == "error"),
            "messages": {(f.rule, f.line): f.message for f in result.findings if f.severity == "error"},
            "warnings": [(f.rule, f.line, f.message) for f in result.findings if f.severity == "warning"]}

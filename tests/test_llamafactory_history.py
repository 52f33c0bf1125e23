"""LLaMA-Factory command lines and history: `python src/train_bash.py --flags` (up to 0.7.0),
`llamafactory-cli train --flags`, `llamafactory-cli train x.yaml key=value`, `accelerate launch
src/train.py`, read as LLaMA-Factory (never as a TRL script), and keys a release removed known as removed."""

from conftest import findings_of_text
from rmlint import inputs
from rmlint.frameworks.llamafactory.history import history, releases, span_text

# LLaMA-Factory v0.6.0 README, "PPO Training" (src/train_bash.py era)
PPO_0_6 = """CUDA_VISIBLE_DEVICES=0 python src/train_bash.py \\
    --stage ppo \\
    --do_train \\
    --model_name_or_path path_to_llama_model \\
    --dataset alpaca_gpt4_en \\
    --template default \\
    --finetuning_type lora \\
    --lora_target q_proj,v_proj \\
    --adapter_name_or_path path_to_sft_checkpoint \\
    --create_new_adapter \\
    --reward_model path_to_rm_checkpoint \\
    --output_dir path_to_ppo_checkpoint \\
    --per_device_train_batch_size 2 \\
    --gradient_accumulation_steps 4 \\
    --lr_scheduler_type cosine \\
    --top_k 0 \\
    --top_p 0.9 \\
    --logging_steps 10 \\
    --save_steps 1000 \\
    --learning_rate 1e-5 \\
    --num_train_epochs 1.0 \\
    --plot_loss \\
    --fp16
"""


def trainer(text: str) -> dict:
    found, problems = inputs.subjects_of_text("launch.sh", text)
    assert [p for p in problems if p.problem[0] not in ("launch-not-understood", "launch-file-missing")] == []   # a.yaml absent
    return [s.facts["trainer"] for s in found if s.kind == "trainer"]


def test_the_history_covers_releases_from_0_5_and_the_launch_forms():
    h = history()
    assert h["versions"][0] == "0.5.0" and "0.7.0" in h["versions"] and "0.9.2" in h["versions"]
    index = h["versions"].index
    assert h["keys"]["train_mm_proj_only"] == [(index("0.8.0"), index("0.9.1"))]
    assert h["programs"]["src/train_bash.py"] == [(index("0.5.0"), index("0.7.0"))]
    assert h["programs"]["llamafactory-cli"][0][0] == index("0.7.1")
    assert h["programs"]["overrides"][0][0] == index("0.9.3")
    assert span_text(releases(["stage"], ["src/train_bash.py"])) == "0.5.0 - 0.7.0"


def test_a_train_bash_command_line_is_llamafactory_not_trl():
    facts = trainer(PPO_0_6)
    assert [(f["framework"], f["stage"], f["reward_model"], f["releases"]) for f in facts] == [
        ("llamafactory", "ppo", "path_to_rm_checkpoint", "0.5.0 - 0.7.0")]
    assert [f for f in findings_of_text("launch.sh", PPO_0_6) if f[0] in ("RM240", "RM242")] == []


def test_cli_flags_and_accelerate_launch_src_train():
    facts = trainer("llamafactory-cli train --stage rm --model_name_or_path m --finetuning_type lora "
                    "--output_dir o\naccelerate launch --config_file a.yaml src/train.py --stage sft "
                    "--model_name_or_path m --output_dir o\n")
    assert [(f["stage"], f["releases"]) for f in facts] == [("rm", ">= 0.7.1"), ("sft", ">= 0.7.1")]


def test_a_bare_train_py_is_no_evidence_of_llamafactory():
    assert [f for f in trainer("python train.py --stage sft --model_name_or_path m\n")
            if f["framework"] == "llamafactory"] == []


def test_a_removed_key_is_known_as_removed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mm.yaml").write_text("model_name_or_path: m\nstage: sft\nfinetuning_type: full\n"
                                      "freeze_multi_modal_projector: false\n")
    text = "llamafactory-cli train mm.yaml train_mm_proj_only=true\n"
    assert findings_of_text("run.sh", text) == [("RM422", 1, 32)]
    facts = trainer(text)
    assert {k: facts[0]["release_problems"][0][k] for k in ("key", "key_releases", "removed_in", "releases")} == {
        "key": "train_mm_proj_only", "key_releases": "0.8.0 - 0.9.1", "removed_in": "0.9.2", "releases": ">= 0.9.3"}
    # in its own releases the key is fine
    assert findings_of_text("run.sh", "llamafactory-cli train --stage sft --model_name_or_path m "
                                      "--train_mm_proj_only --output_dir o\n") == []

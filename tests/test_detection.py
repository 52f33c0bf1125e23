"""What rmlint takes a file for: trainer YAMLs that share key names with DeepSpeed are not DeepSpeed
configs (upstream axolotl examples once gave ~10,000 false RM208 warnings)."""

import json

from conftest import cli
from rmlint.inputs import is_deepspeed_config

AXOLOTL = """\
base_model: NousResearch/Llama-2-7b-hf
load_in_4bit: true
adapter: qlora
lora_r: 32
datasets:
  - path: mhenrichsen/alpaca_2k_test
    type: alpaca
gradient_accumulation_steps: 4
micro_batch_size: 2
num_epochs: 1
bf16: auto
tf32: false
deepspeed: deepspeed_configs/zero2.json
"""
LLAMAFACTORY = """\
model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct
stage: rm
do_train: true
finetuning_type: lora
lora_target: all
deepspeed: examples/deepspeed/ds_z3_config.json
per_device_train_batch_size: 1
gradient_accumulation_steps: 8
bf16: true
"""


def test_trainer_yamls_are_not_deepspeed_configs(tmp_path):
    for name, text, expected in (("axolotl.yml", AXOLOTL, ["RM233"]),     # read; its DeepSpeed file is elsewhere
                                 ("llamafactory.yaml", LLAMAFACTORY, ["RM233"])):  # read; its DeepSpeed file is elsewhere
        folder = tmp_path / name.split(".")[0]
        folder.mkdir()
        path = folder / name
        path.write_text(text)
        findings = json.loads(cli("check", "--format", "json", str(path)).output)["findings"]
        assert [f["rule"] for f in findings] == expected, findings
        walked = json.loads(cli("check", "--format", "json", str(folder)).output)["findings"]
        assert [f["rule"] for f in walked] == expected


def test_deepspeed_configs_are_recognised():
    assert is_deepspeed_config({"zero_optimization": {"stage": 2}})
    assert is_deepspeed_config({"train_micro_batch_size_per_gpu": 4, "whatever": 1, "x": 2})
    assert is_deepspeed_config({"bf16": {"enabled": True}, "gradient_clipping": 1.0, "custom_note": "x"})
    assert not is_deepspeed_config({"bf16": True, "base_model": "m", "datasets": [], "adapter": "lora"})
    assert not is_deepspeed_config({"entrypoint": "openrlhf.cli.train_rm", "bf16": True})


def test_kind_forces_the_reading(tmp_path):
    path = tmp_path / "zero3.conf"          # no telling suffix
    path.write_text("zero_optimization:\n  stage: 3\n")
    assert [f["rule"] for f in json.loads(cli("check", "--format", "json", str(path)).output)["findings"]] == ["RM501"]
    forced = json.loads(cli("check", "--format", "json", "--kind", "openrlhf", str(path)).output)["findings"]
    assert [(f["rule"], f["message"]) for f in forced] == [
        ("RM002", "--kind openrlhf: nothing in the file could be read as that; nothing checked")]
    odd = json.loads(cli("check", "--format", "json", "--kind", "llamafactory", str(path)).output)["findings"]
    assert [(f["rule"], f["message"]) for f in odd] == [
        ("RM002", "--kind llamafactory: the file does not look like one; read as one anyway")]
    script = tmp_path / "launch.txt"
    script.write_text("deepspeed --module openrlhf.cli.train_rm --pretrain m --bf16 --zero_stage 3 --load_in_4bit --lora_rank 8\n")
    shell = json.loads(cli("check", "--format", "json", "--kind", "shell", str(script)).output)["findings"]
    assert [f["rule"] for f in shell] == ["RM201", "RM601"]
    assert cli("check", "--kind", "megatron", str(path)).exit_code == 2


def test_a_file_rmlint_does_not_read_is_skipped_and_counted(tmp_path):
    path = tmp_path / "notes.yaml"
    path.write_text("title: my run\nowner: me\n")
    result = cli("check", str(path))
    assert (result.exit_code, result.output) == (0, "All checks passed (0 files checked, 1 skipped (not read by rmlint)).\n")
    document = json.loads(cli("check", "--format", "json", str(path)).output)
    assert document["findings"] == [] and document["summary"]["skipped_files"] == 1
    # standard input is read on purpose: what rmlint cannot recognise there is said
    (finding,) = json.loads(cli("check", "--format", "json", "-", input="title: my run\n").output)["findings"]
    assert finding["message"] == ("not a DeepSpeed config, OpenRLHF arguments, or a LLaMA-Factory, TRL, axolotl or "
                                  "accelerate config; nothing checked (--kind forces one)")


def test_a_folder_given_explicitly_with_nothing_to_read_is_an_error(tmp_path):
    (tmp_path / "saves").mkdir()
    (tmp_path / "saves" / "tokenizer.json").write_text('{"model": {"vocab": {}}}')
    (tmp_path / "saves" / "data.json").write_text('[{"prompt": "a", "chosen": "b"}]')
    result = cli("check", str(tmp_path / "saves"))
    assert result.exit_code == 2
    assert (f"{tmp_path / 'saves'}: no file rmlint reads here (launch scripts; DeepSpeed, accelerate, OpenRLHF, "
            "LLaMA-Factory, TRL or axolotl configs; checkpoints); 2 files skipped") in result.output


def test_a_deepspeedexamples_template_with_placeholders_is_skipped_not_an_error(tmp_path, monkeypatch):
    """DeepSpeedExamples' compression/bert/config/ds_config_structural_pruning_TEMPLATE.json (MANIFEST.tsv):
    `"enabled": FP16_ENABLE` placeholders its run scripts fill with sed before launch; as it stands it is
    no config anything launches. The same broken text under a config's own name is still RM001."""
    from conftest import ROOT
    template = (ROOT / "tests/fixtures/upstream/deepspeedexamples/ds_config_structural_pruning_TEMPLATE.json").read_text()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "ds_config_structural_pruning_TEMPLATE.json").write_text(template)
    (tmp_path / "config" / "ds_config.json").write_text('{"train_micro_batch_size_per_gpu": 2}')
    monkeypatch.chdir(tmp_path)
    result = cli("check", "config")
    assert (result.exit_code, result.output) == (0, "All checks passed (1 file checked, 1 skipped (not read by rmlint)).\n")
    (tmp_path / "config" / "ds_config_structural_pruning.json").write_text(template)
    result = cli("check", "config")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == ("config/ds_config_structural_pruning.json:3:39: error RM001 invalid JSON: "
                                             "Expecting value  [unreadable-input]")

"""Exact mode (the installed DeepSpeed validates) and the default snapshot mode agree: over the
sample configs, every DeepSpeed example of the rule catalog and mutations of them, the snapshot
rules reject exactly the configs DeepSpeed 0.19.8's own DeepSpeedConfig rejects."""

import copy
import json
import os
import subprocess
import sys

import pytest

os.environ.setdefault("DS_ACCELERATOR", "cpu")

from conftest import ROOT, cli  # noqa: E402
from rmlint.config import Settings  # noqa: E402
from rmlint.frameworks.deepspeed.exact import validate  # noqa: E402
from rmlint.lint import lint_config  # noqa: E402
from rmlint.rules import builtin  # noqa: E402

# Rules whose finding means "deepspeed.initialize raises" (the others warn about what it accepts)
REJECTING = {"RM101", "RM206", "RM207", "RM210", "RM211", "RM216", "RM225", "RM303"}


def fast_rejects(config: dict) -> bool:
    result = lint_config(config, settings=Settings(deepspeed_schema="snapshot"))
    from rmlint.frameworks.deepspeed.subjects import deepspeed_subject
    from rmlint.sources.document import Document
    slips = deepspeed_subject(Document("<c>", config), "unknown").facts["ds"]["items"]["slips"]
    return any(f.rule in REJECTING for f in result.findings) or any(not s["accepted"] for s in slips)


BASES = {
    "zero2": {"train_micro_batch_size_per_gpu": 2, "gradient_accumulation_steps": 4, "bf16": {"enabled": True},
              "zero_optimization": {"stage": 2, "overlap_comm": True, "contiguous_gradients": True,
                                    "reduce_bucket_size": 5e8}, "gradient_clipping": 1.0},
    "zero3_offload": {"train_batch_size": 64, "train_micro_batch_size_per_gpu": 4, "bf16": {"enabled": True},
                      "zero_optimization": {"stage": 3, "offload_param": {"device": "cpu", "pin_memory": True},
                                            "offload_optimizer": {"device": "cpu"},
                                            "stage3_gather_16bit_weights_on_model_save": True}},
}
for sample in ("deepspeed-llamafactory/ds_z3_config.json", "deepspeed-llamafactory/ds_z3_fp8_config.json",
               "deepspeed-axolotl-unprefixed-auto/zero3_bf16.json", "deepspeed-typos/ds_config.json"):
    BASES[sample] = json.loads((ROOT / "sample_configs" / sample).read_text())
for rule in builtin():
    for kind in ("bad", "good"):
        for number, example in enumerate(getattr(rule.examples, kind)):
            if "deepspeed" in example and example.get("consumer", "unknown") in ("unknown", "openrlhf"):
                BASES[f"{rule.id}-{kind}{number}"] = example["deepspeed"]


def mutations(base: dict) -> dict:
    def changed(edit):
        config = copy.deepcopy(base)
        edit(config)
        return config
    zero = lambda c: c.setdefault("zero_optimization", {})   # noqa: E731
    return {
        "as-is": base,
        "strict-typo": changed(lambda c: zero(c).update(overlap_com=True)),
        "top-level-typo": changed(lambda c: c.update(gradient_clippin=1.0)),
        "stage-word": changed(lambda c: zero(c).update(stage="three")),
        "stage-string": changed(lambda c: zero(c).update(stage="2")),
        "stage-4": changed(lambda c: zero(c).update(stage=4)),
        "device-gpu": changed(lambda c: zero(c).update(stage=3, offload_param={"device": "gpu"})),
        "negative-bucket": changed(lambda c: zero(c).update(reduce_bucket_size=-1)),
        "deprecated": changed(lambda c: zero(c).update(cpu_offload=True)),
        "deprecated-and-new": changed(lambda c: zero(c).update(stage=2, cpu_offload=True,
                                                                 offload_optimizer={"device": "cpu"})),
        "offload-param-stage2": changed(lambda c: zero(c).update(stage=2, offload_param={"device": "cpu"})),
        "partial-offload-stage2": changed(lambda c: zero(c).update(stage=2, offload_optimizer={"device": "cpu",
                                                                                               "ratio": 0.5})),
        "fp16-and-bf16": changed(lambda c: c.update(fp16={"enabled": True}, bf16={"enabled": True})),
        "removed-mics": changed(lambda c: zero(c).update(stage=3, mics_shard_size=8)),
        "batch-mismatch": changed(lambda c: c.update(train_batch_size=10, train_micro_batch_size_per_gpu=3,
                                                     gradient_accumulation_steps=1)),
        "bool-as-string": changed(lambda c: c.update(bf16={"enabled": "yes"}, fp16={"enabled": False})),
    }


CORPUS = [(f"{base}/{name}", config) for base, value in BASES.items() for name, config in mutations(value).items()]


def test_corpus_is_large_and_mixed():
    verdicts = [bool(validate(config)) for _, config in CORPUS]
    assert len(CORPUS) > 400 and 0.2 < sum(verdicts) / len(verdicts) < 0.8


@pytest.mark.parametrize("name,config", CORPUS, ids=[n for n, _ in CORPUS])
def test_snapshot_mode_agrees_with_deepspeed(name, config):
    exact = validate(config)
    assert fast_rejects(config) == bool(exact), exact


def test_exact_mode_reports_what_only_deepspeed_knows_at_its_key(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text('{\n  "train_batch_size": 8,\n  "zero_optimization": {"stage": 3, "offload_param": {"device": "gpu"}},'
                    '\n  "comms_logger": {"enabled": true, "verbos": true}\n}\n')
    fast = json.loads(cli("check", "--format", "json", str(path)).output)["findings"]
    exact = json.loads(cli("check", "--format", "json", "--deepspeed-schema", "installed", str(path)).output)["findings"]
    assert [f["rule"] for f in fast] == [f["rule"] for f in exact]   # nothing the snapshot missed
    assert [(f["rule"], f["line"]) for f in fast if f["severity"] == "error"] == [("RM225", 3), ("RM207", 4)]


def test_exact_mode_finds_and_locates_when_a_rule_is_ignored(tmp_path):
    path = tmp_path / "ds.json"
    path.write_text('{\n  "train_batch_size": 8,\n  "zero_optimization": {\n    "stage": 3,\n    "offload_param": {"device": "gpu"}\n  }\n}\n')
    result = cli("check", "--format", "json", "--deepspeed-schema", "installed", "--ignore", "RM225,RM501", str(path))
    (finding,) = json.loads(result.output)["findings"]
    assert (finding["rule"], finding["line"], finding["column"]) == ("RM224", 5, 23)
    assert finding["message"] == ("DeepSpeed rejects `zero_optimization.offload_param.device`: Input should be 'none', "
                                  "'cpu' or 'nvme' (got 'gpu')")


@pytest.mark.parametrize("zero, message", [
    ('"overlap_com": true', "DeepSpeed rejects unknown key `zero_optimization.overlap_com`; did you mean `overlap_comm`?"),
    ('"zzz_unrelated": true', "DeepSpeed rejects unknown key `zero_optimization.zzz_unrelated`"),
])
def test_exact_mode_suggests_for_unknown_strict_keys(tmp_path, zero, message):
    path = tmp_path / "ds.json"
    path.write_text('{"train_batch_size": 8, "zero_optimization": {"stage": 2, ' + zero + '}}\n')
    result = cli("check", "--format", "json", "--deepspeed-schema", "installed", "--ignore", "RM207", str(path))
    assert [(f["rule"], f["message"]) for f in json.loads(result.output)["findings"]] == [("RM224", message)]


def test_exact_mode_validates_configs_derived_from_launches():
    argv = ["deepspeed", "--module", "openrlhf.cli.train_rm", "--pretrain", "m", "--bf16", "--zero_stage", "2",
            "--train_batch_size", "128", "--micro_train_batch_size", "4"]
    from rmlint.lint import lint_argv
    assert lint_argv(argv, settings=Settings(deepspeed_schema="installed")).findings == []


def test_the_library_uses_deepspeed_when_it_is_already_imported():
    code = ("import os; os.environ['DS_ACCELERATOR'] = 'cpu'; import deepspeed, rmlint; "
            "r = rmlint.lint_config({'train_batch_size': 8, 'zero_optimization': {'stage': 2}}, ignore=['RM225']); "
            "print(len(r.findings)); "
            "r = rmlint.lint_config({'train_batch_size': 8, 'zero_optimization': {'stage': 9}}, ignore=['RM225']); "
            "print([f.rule for f in r.findings])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.stdout.split("\n")[:2] == ["0", "['RM224']"], done.stderr[-2000:]


def test_the_default_cli_path_never_imports_deepspeed(tmp_path):
    code = ("import sys; from rmlint.cli import main; sys.argv = ['rmlint', 'check', 'sample_configs/deepspeed-typos'];"
            "\ntry: main()\nexcept SystemExit: pass\nprint('DEEPSPEED', 'deepspeed' in sys.modules, 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.splitlines()[-1] == "DEEPSPEED False False"


def test_installed_schema_without_deepspeed_is_a_clear_error(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_deepspeed(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "deepspeed" or name.startswith("deepspeed.")):
            raise ImportError("No module named 'deepspeed'")
        return real_import(name, globals, locals, fromlist, level)
    monkeypatch.setattr(builtins, "__import__", no_deepspeed)
    result = cli("check", "--deepspeed-schema", "installed", "sample_configs/deepspeed-typos")
    assert result.exit_code == 2 and "pip install 'rmlint[deepspeed]'" in result.output


def test_exact_mode_words_what_deepspeed_raises(tmp_path):
    from importlib.metadata import version
    path = tmp_path / "ds.json"
    path.write_text('{"train_batch_size": 8, "train_micro_batch_size_per_gpu": 3, "gradient_accumulation_steps": 1}\n')
    result = cli("check", "--format", "json", "--deepspeed-schema", "installed", "--ignore", "RM303", str(path))
    assert [(f["rule"], f["line"], f["message"]) for f in json.loads(result.output)["findings"]] == [
        ("RM224", 1, f"DeepSpeed {version('deepspeed')} raises AssertionError: Check batch related parameters. "
                     "train_batch_size is not equal to micro_batch_per_gpu * gradient_acc_step * world_size "
                     "8 != 3 * 1 * 1")]

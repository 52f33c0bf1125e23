"""DeepSpeed across releases: rmlint's verdict for a pinned release is that release's own verdict.

Two releases on either side of changes rmlint models (0.16.4 and 0.19.8) are taken from the registry
as sdists (tests/upstream.py, cached under tests/.cache) and their DeepSpeedConfig parses each config
on the CPU; rmlint, told the same release, must refuse exactly what that release refuses."""

import json
from pathlib import Path

import pytest

import upstream
from rmlint.config import Settings
from rmlint.frameworks.deepspeed.releases import releases
from rmlint.lint import lint_config

OLD, NEW = "0.16.4", "0.19.8"
BASE = {"train_micro_batch_size_per_gpu": 1, "gradient_accumulation_steps": 1}
# axolotl's shipped deepspeed_configs/zero1_torch_compile.json (tests/fixtures/upstream/MANIFEST.tsv)
AXOLOTL_COMPILE = Path(__file__).resolve().parent / "fixtures" / "upstream" / "axolotl" / "zero1_torch_compile.json"


def _as_hf_trainer_fills_it(config: dict) -> dict:
    """The config as the HF Trainer hands it to DeepSpeed: `auto` values filled in (bf16 training)."""
    filled = {k: v for k, v in json.loads(json.dumps(config).replace('"auto"', "1")).items() if k != "train_batch_size"}
    filled["bf16"]["enabled"], filled["fp16"]["enabled"] = True, False
    return filled

CONFIGS = {   # name -> (config, the rule rmlint reports where a release refuses it)
    "bucket 0": ({"zero_optimization": {"stage": 3, "reduce_bucket_size": 0}}, "RM225"),
    "removed amp": ({"amp": {"enabled": False}}, "RM210"),
    "MiCS shard": ({"zero_optimization": {"stage": 3, "mics_shard_size": -1}}, "RM210"),
    "zenflow": ({"zero_optimization": {"stage": 2, "zenflow": {"topk_ratio": 0.1}}}, "RM207"),
    "negative bucket": ({"zero_optimization": {"stage": 2, "allgather_bucket_size": -1}}, "RM225"),
    "clean": ({"zero_optimization": {"stage": 2}}, None),
    "axolotl compile": (_as_hf_trainer_fills_it(json.loads(AXOLOTL_COMPILE.read_text())), "RM207"),
}
REFUSALS = ("RM207", "RM210", "RM225")   # RM210 is a warning by design (older releases took the keys)


@pytest.fixture(scope="module")
def verdicts():
    configs = [{**BASE, **config} for config, _ in CONFIGS.values()]
    return {version: dict(zip(CONFIGS, upstream.deepspeed_verdicts(version, configs))) for version in (OLD, NEW)}


def rmlint_refusals(config: dict, version: str | None) -> list:
    settings = Settings(versions={"deepspeed": version} if version else {}, installed_versions=False)
    result = lint_config({**BASE, **config}, settings=settings, select=list(REFUSALS))
    return [f.rule for f in result.findings]


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize("version", [OLD, NEW])
def test_rmlint_refuses_what_that_release_refuses(verdicts, name, version):
    config, rule = CONFIGS[name]
    refused = verdicts[version][name] is not None
    assert set(rmlint_refusals(config, version)) == ({rule} if refused else set()), verdicts[version][name]


def test_the_two_releases_disagree_where_the_issue_says(verdicts):
    assert verdicts[OLD]["bucket 0"] is None
    assert "reduce_bucket_size" in verdicts[NEW]["bucket 0"] and "greater than 0" in verdicts[NEW]["bucket 0"]
    assert verdicts[OLD]["removed amp"] is None and "amp" in verdicts[NEW]["removed amp"].lower()
    assert verdicts[OLD]["clean"] is None and verdicts[NEW]["clean"] is None


def test_with_no_version_a_finding_names_the_releases_it_holds_for():
    result = lint_config({**BASE, "amp": {"enabled": False}}, settings=Settings(installed_versions=False))
    message = next(f.message for f in result.findings if f.rule == "RM210")
    amp = releases().parts["removed"]["amp"]
    first = releases().versions[amp[0][0]]
    assert message.endswith(f"(DeepSpeed >= {first}; the DeepSpeed version is not known)")
    assert releases().versions.index(first) > releases().versions.index(OLD)


def test_the_table_holds_every_snapshotted_release_and_rebuilds_the_newest():
    table = releases()
    newest = table.snapshot_at(len(table.versions) - 1)
    with open(table_path("deepspeed_schema.json")) as handle:
        snapshot = json.load(handle)
    assert table.versions[0] == "0.10.0" and table.versions[-1] == snapshot["deepspeed_version"]
    for part in ("strict", "lenient", "removed"):
        assert newest[part] == snapshot[part], part


def table_path(name: str) -> str:
    from rmlint.frameworks.deepspeed.releases import DATA
    return str(DATA.parent / name)



def test_axolotls_torch_compile_file_is_judged_per_release(verdicts):
    """`compile: {disable, backend}`: 0.16.4 reads the block leniently, 0.19.8's CompileConfig forbids both."""
    from rmlint.lint import lint_paths
    assert verdicts[OLD]["axolotl compile"] is None and "extra_forbidden" in verdicts[NEW]["axolotl compile"]

    def unknown_keys(version):
        settings = Settings(versions={"deepspeed": version} if version else {}, installed_versions=False)
        return [(f.line, f.message) for f in lint_paths([AXOLOTL_COMPILE], settings=settings, select=["RM207"]).findings]
    assert unknown_keys(OLD) == []
    assert [line for line, _ in unknown_keys(NEW)] == [19, 20]
    assert unknown_keys(None)[1] == (20, "unknown key `compile.backend`: DeepSpeed's `compile` block forbids extra "
                                         "keys (DeepSpeed >= 0.16.6; the DeepSpeed version is not known)")

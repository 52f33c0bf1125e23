"""Issue 17: what a user sees for inputs that are not regular files or lie outside the tree, for
checkpoint fields that do not add up, for fixes that cannot be written, for rule expressions that
fail, and for control characters in names."""

import json
import os
import stat
import zipfile

import pytest

from conftest import cli
from hostile_cases import RULE_PACK, _config, _safetensors, torch_zip


def test_a_fifo_in_a_folder_is_an_rm052_not_a_hang(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    os.mkfifo(tmp_path / "d" / "x.json")
    monkeypatch.chdir(tmp_path)
    result = cli("check", "d")
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "d/x.json: error RM052 not a regular file (a FIFO); not read  [not-a-regular-file]",
        "  fix: Replace it with a regular file holding the config, or leave it out with extend-exclude."]


def test_a_symlink_out_of_the_folder_walked_is_not_read(tmp_path, monkeypatch):
    (tmp_path / "outside.json").write_text('{"train_batch_size": 8, "fp16": {"enabled": true}, "bf16": {"enabled": true}}')
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "ds.json").symlink_to(tmp_path / "outside.json")
    monkeypatch.chdir(tmp_path)
    result = cli("check", "d")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"d/ds.json: info RM051 a symlink to {tmp_path}/outside.json, outside d; not followed  "
        "[symlink-outside-not-followed]",
        "Found 0 errors, 0 warnings, 1 note in 0 files checked, 1 skipped (not read by rmlint)."]
    assert "RM101" in cli("check", "d/ds.json").output     # named on the command line: read


def test_a_shared_config_folder_linked_into_the_repository_is_a_note_not_an_error(tmp_path, monkeypatch):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "zero3.json").write_text('{"zero_optimization": {"stage": 3}, "fp16": {"enabled": true}, '
                                                    '"bf16": {"enabled": true}}')
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "ds.json").write_text('{"train_micro_batch_size_per_gpu": 1}')
    (tmp_path / "repo" / "configs").symlink_to(tmp_path / "shared", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    result = cli("check", "repo")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"repo/configs: info RM051 a symlink to {tmp_path}/shared, outside repo; not followed  "
        "[symlink-outside-not-followed]",
        "Found 0 errors, 0 warnings, 1 note in 1 file checked, 1 skipped (not read by rmlint)."]
    assert "RM101" in cli("check", "shared").output       # the shared folder checked on its own
    payload = json.loads(cli("check", "repo", "--output-format", "json").output)
    assert [(f["rule"], f["severity"]) for f in payload["findings"]] == [("RM051", "info")]


def test_a_weight_file_linked_out_of_its_model_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"SECRET=hunter2")
    (tmp_path / "m").mkdir()
    _config(tmp_path / "m")
    (tmp_path / "m" / "model.safetensors").symlink_to(secret)
    output = cli("inspect", str(tmp_path / "m")).output
    assert (f"{tmp_path}/m/model.safetensors: error RM001 cannot read: a symlink to {secret}, outside "
            f"{tmp_path}/m; not followed") in output
    assert str(int.from_bytes(b"SECRET=h", "little")) not in output.replace(",", "")


def _bin(tmp_path, **fields):
    entry = {"storage": "FloatStorage", "key": "0", "numel": 8, "offset": 0, "size": (1, 8), "stride": (8, 1), **fields}
    (tmp_path / "m").mkdir()
    _config(tmp_path / "m")
    torch_zip(tmp_path / "m" / "pytorch_model.bin", {"value_head.weight": tuple(entry.values())}, {"0": b"\0" * 32})
    return tmp_path / "m" / "pytorch_model.bin"


@pytest.mark.parametrize("fields,message", [
    ({"size": (-1, 8)}, "tensor `value_head.weight` in data.pkl: negative shape [-1, 8]; refused"),
    ({"offset": 1000}, "tensor `value_head.weight` in data.pkl: offset 1000 and shape [1, 8] reach element 1,008 "
                       "of a storage of 8; refused"),
    ({"size": "18"}, "tensor `value_head.weight` in data.pkl: shape '18' is not a list of sizes; refused"),
    ({"offset": [1, 2]}, "tensor `value_head.weight` in data.pkl: storage offset [1, 2] is not a count; refused"),
    ({"storage": 5}, "pickle refused, nothing was run: unexpected persistent id ('storage', 5, '0', 'cpu', 8)"),
    ({"numel": 4}, "tensor `value_head.weight` in data.pkl: offset 0 and shape [1, 8] reach element 8 of a storage "
                   "of 4; refused"),
])
def test_torch_zip_fields_are_checked_before_use(tmp_path, fields, message):
    path = _bin(tmp_path, **fields)
    result = cli("inspect", str(path.parent))
    assert result.exit_code == 1 and f"{path}: error RM001 {message}" in result.output


def test_a_storage_whose_size_disagrees_with_data_pkl_is_refused(tmp_path):
    path = _bin(tmp_path, numel=16)
    at = zipfile.ZipFile(path).getinfo("archive/data/0").header_offset
    assert (f"{path}: error RM001 tensor `value_head.weight`: storage archive/data/0 (byte {at}) holds 32 bytes, but "
            "data.pkl says 64; refused") in cli("inspect", str(path.parent)).output


@pytest.mark.parametrize("patch,message", [
    (lambda data, central: data.__setitem__(central + 8, data[central + 8] | 1),
     "zip member archive/data.pkl (local header at byte 0) is encrypted; refused"),
    (lambda data, central: data.__setitem__(slice(central + 10, central + 12), (99).to_bytes(2, "little")),
     "zip member archive/data.pkl (local header at byte 0) uses compression method 99 (unknown); torch.save stores "
     "members uncompressed; refused"),
    (lambda data, central: data.__setitem__(slice(central + 24, central + 28), (2_100_000_000).to_bytes(4, "little")),
     "data.pkl is 2,100,000,000 bytes; refused (cap 67,108,864)"),
])
def test_zip_fields_are_checked_before_a_member_is_read(tmp_path, patch, message):
    path = _bin(tmp_path)
    data = bytearray(path.read_bytes())
    patch(data, data.find(b"PK\x01\x02"))
    path.write_bytes(bytes(data))
    assert f"{path}: error RM001 {message}" in cli("inspect", str(path.parent)).output


def test_a_shard_index_over_4_mb_is_read(tmp_path):
    _config(tmp_path)
    _safetensors(tmp_path / "model-00001-of-00001.safetensors",
                 {"value_head.weight": ("F32", [1, 8], b"\x3f\x80\x00\x00" * 8)})
    weight_map = {f"model.layers.{i}.mlp.experts.{j}.down_proj.weight": "model-00002-of-00002.safetensors"
                  for i in range(100) for j in range(800)}
    weight_map["value_head.weight"] = "model-00001-of-00001.safetensors"
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    assert (tmp_path / "model.safetensors.index.json").stat().st_size > 4 * 1024 * 1024
    output = cli("inspect", "--format", "json", str(tmp_path)).output
    document = json.loads(output)
    assert "RM001" not in [f["rule"] for f in document["findings"]]
    assert document["checkpoints"][0]["missing_shards"] == ["model-00002-of-00002.safetensors"]


# -- --fix ------------------------------------------------------------------------------------

TYPO = '{"train_batch_size": 8, "zero_optimization": {"stage": 2, "overlap_com": true}}\n'


def test_a_write_that_fails_midway_leaves_the_file_and_fixes_the_others(tmp_path, monkeypatch):
    (tmp_path / "a.json").write_text(TYPO)
    (tmp_path / "b.json").write_text(TYPO)
    real_fsync = os.fsync

    def full_disk(fd):
        if os.readlink(f"/proc/self/fd/{fd}").split("/")[-1].startswith(".a.json."):
            raise OSError(28, "No space left on device")
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", full_disk)
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--fix", ".")
    assert (tmp_path / "a.json").read_text() == TYPO
    assert '"overlap_comm"' in (tmp_path / "b.json").read_text()
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.json"]           # no temporary file left
    assert ("a.json:1:59: warning RM030 fix not applied: writing failed (No space left on device); the file is "
            "unchanged (the fix: `zero_optimization.overlap_com` -> `overlap_comm`)  [fix-not-written]") in result.output


def test_the_file_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    """What a kill at any moment could leave: before os.replace the old file is intact and the
    temporary holds the whole new text; os.replace is the one step that switches them."""
    (tmp_path / "ds.json").write_text(TYPO)
    os.chmod(tmp_path / "ds.json", 0o640)
    seen = []
    real_replace = os.replace

    def replace(source, target):
        seen.append((open(target).read(), open(source).read(), stat.S_IMODE(os.stat(source).st_mode)))
        return real_replace(source, target)
    monkeypatch.setattr(os, "replace", replace)
    cli("check", "--fix", str(tmp_path / "ds.json"))
    (old, new, mode), = seen
    assert old == TYPO and new == TYPO.replace("overlap_com", "overlap_comm") and mode == 0o640
    assert (tmp_path / "ds.json").read_text() == new and stat.S_IMODE((tmp_path / "ds.json").stat().st_mode) == 0o640


def test_fix_keeps_a_byte_order_mark(tmp_path):
    (tmp_path / "ds.json").write_bytes(b"\xef\xbb\xbf" + TYPO.encode())
    cli("check", "--fix", str(tmp_path / "ds.json"))
    assert (tmp_path / "ds.json").read_bytes() == b"\xef\xbb\xbf" + TYPO.replace("overlap_com", "overlap_comm").encode()


def test_fix_never_writes_through_a_symlink_out_of_the_tree(tmp_path, monkeypatch):
    (tmp_path / "outside.json").write_text(TYPO)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "ds.json").symlink_to(tmp_path / "outside.json")
    monkeypatch.chdir(tmp_path / "repo")
    result = cli("check", "--fix", "ds.json")
    assert (tmp_path / "outside.json").read_text() == TYPO
    assert (f"ds.json:1:59: warning RM030 fix not applied: {tmp_path}/outside.json is outside the checked folder; "
            "not written (the fix: `zero_optimization.overlap_com` -> `overlap_comm`)") in result.output


# -- what is printed --------------------------------------------------------------------------

def test_control_characters_in_names_and_keys_are_escaped(tmp_path, monkeypatch):
    name = "evil\x1b]0;pwned\x07.json"
    (tmp_path / name).write_text('{"train_batch_size": 8, "zero_optimization": {"stage": 2, "\\u001b[2Jkey": 1}}')
    monkeypatch.chdir(tmp_path)
    for fmt in ("text", "github", "json", "sarif"):
        assert "\x1b" not in cli("check", "--format", fmt, name).output
    first = cli("check", name).output.splitlines()[0]
    assert first.startswith("evil\\x1b]0;pwned\\x07.json:1:59: error RM207 unknown key `zero_optimization.\\x1b[2Jkey`")


@pytest.mark.parametrize("fmt", ["text", "full", "concise"])
def test_a_newline_in_a_walked_file_name_keeps_one_finding_on_one_line(tmp_path, monkeypatch, fmt):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a\nb.json").write_text('{"zero_optimization": {"stage": 3,}}')
    monkeypatch.chdir(tmp_path)
    result = cli("check", "--output-format", fmt, "d")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == ("d/a\\x0ab.json:1:35: error RM001 invalid JSON: Expecting property name "
                                             "enclosed in double quotes  [unreadable-input]")




@pytest.mark.parametrize("when,error", [
    ('"ds.train_batch_size / 0 == 1"', "INVALID_ARGUMENT: divide by zero"),
    ('"[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, '
     '[1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, true)))))"', "Iteration budget exceeded [INTERNAL]"),
])
def test_a_rule_that_fails_at_run_time_is_said_under_the_summary(tmp_path, monkeypatch, when, error):
    (tmp_path / "pyproject.toml").write_text('[tool.rmlint]\nrule-packs = ["lint"]\n')
    (tmp_path / "lint").mkdir()
    (tmp_path / "lint" / "RM901-slow.yaml").write_text(RULE_PACK.format(when=when))
    (tmp_path / "ds.json").write_text('{"train_batch_size": 8, "zero_optimization": {"stage": 2}}')
    monkeypatch.chdir(tmp_path)
    result = cli("check", "ds.json")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "All checks that ran passed (1 file checked). 1 rule evaluation failed (below).",
        f"note: rule RM901 on ds.json: {error} (the rule's check did not run there)"]
    assert json.loads(cli("check", "--format", "json", "ds.json").output)["rule_errors"] == [f"RM901 on ds.json: {error}"]

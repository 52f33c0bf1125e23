"""Every refusal of the checkpoint readers that no other test pins, each from a tiny file built here to meet
exactly one check: the exact RM001 finding `rmlint inspect` gives (rule, file, line, message). The words are
RM001's (its YAML's `problems:`); the readers give the kind and its facts."""

import io
import json
import os
import pickle
import pickletools
import struct
import zipfile
from pathlib import Path

import pytest

from conftest import cli
from hostile_cases import _config, _safetensors, torch_pickle, torch_zip

STEM = "archive/data.pkl"


def _zip(folder: Path, pickled: bytes, storages: dict | None = None) -> Path:
    path = folder / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(STEM, pickled)
        for key, raw in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", raw)
    return path


def _bin(folder: Path, storages=None, **fields) -> Path:
    entry = {"storage": "FloatStorage", "key": "0", "numel": 8, "offset": 0, "size": (1, 8), "stride": (8, 1), **fields}
    path = folder / "pytorch_model.bin"
    torch_zip(path, {"value_head.weight": tuple(entry.values())}, {"0": b"\0" * 32} if storages is None else storages)
    return path


def _patched(path: Path, patch) -> Path:
    data = bytearray(path.read_bytes())
    patch(data)
    path.write_bytes(bytes(data))
    return path


def _central(data) -> int:
    return data.find(b"PK\x01\x02")     # the first central directory entry: data.pkl's


def _rebuild(storage_and_args: bytes, function: bytes = b"_rebuild_tensor_v2", name: bytes = b"w") -> bytes:
    """A state dict of one tensor `name`, rebuilt by `function` with the pickled arguments given."""
    return (b"\x80\x02ccollections\nOrderedDict\n)RX" + struct.pack("<I", len(name)) + name
            + b"ctorch._utils\n" + function + b"\n(" + storage_and_args + b"tRs.")


def _legacy(path: Path, magic=0x1950A86A20F9469CFC6C, protocol=1001, little_endian=True, state=None,
            keys=()) -> Path:
    info = {"protocol_version": 1001, "little_endian": little_endian, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    pickled = [x if isinstance(x, bytes) else pickle.dumps(x, protocol=2)   # bytes: a pickle written by hand
               for x in (magic, protocol, info, {} if state is None else state, keys)]
    path.write_bytes(b"".join(pickled))
    return path


def _torch_legacy(folder: Path, numel: int) -> tuple:
    """torch.save's legacy format of {"w": two float32 ones}, its one storage's element count set to `numel`:
    (path, storage key, byte of the count)."""
    torch = pytest.importorskip("torch")
    path = folder / "pytorch_model.bin"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=False)
    stream = io.BytesIO(path.read_bytes())
    for _ in range(4):   # magic number, protocol, sys_info, the state dict: read, not run
        list(pickletools.genops(stream))
    (key,) = pickle.load(stream)
    at = stream.tell()
    _patched(path, lambda data: data.__setitem__(slice(at, at + 8), numel.to_bytes(8, "little", signed=True)))
    return path, key, at


def _safetensors_header(folder: Path, header: bytes, data: bytes = b"") -> Path:
    path = folder / "model.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + data)
    return path


def _entry(**fields) -> bytes:
    return json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], **fields}}).encode()


# name -> build(folder) -> (the file the finding is at, its message); the folder holds a config.json
CASES = {
    "pickle-not-a-dict": lambda f: (_zip(f, pickle.dumps([1, 2], protocol=2)),
                                    "pickle holds a list, not a state dict"),
    "pickle-too-deep": lambda f: (_zip(f, b"\x80\x02)" + b"\x85" * 100_000 + b"Q."),
                                  "pickle nests too deeply; refused"),
    "pickle-own-words": lambda f: (_zip(f, b"\x80\x02]"),
                                   "pickle refused, nothing was run: Ran out of input"),
    "storage-not-a-storage": lambda f: (_zip(f, _rebuild(b"K\x05K\x00(K\x01t(K\x01t")),
                                        "tensor `w` in data.pkl: its storage is a int, not a torch storage; refused"),
    "stride-not-shape": lambda f: (_bin(f, stride=(8,)),
                                   "tensor `value_head.weight` in data.pkl: stride (8,) does not match shape [1, 8]; "
                                   "refused"),
    "shape-too-large": lambda f: (_bin(f, size=(2 ** 48,), stride=(1,)),
                                  "tensor `value_head.weight` in data.pkl: shape [281474976710656] is too large; refused"),
    "float4-scalar": lambda f: (_zip(f, _rebuild(b"(X\x07\x00\x00\x00storagectorch.storage\nUntypedStorage\nX\x01\x00\x00"
                                                 b"\x000X\x03\x00\x00\x00cpuK\x01tQK\x00))\x89ccollections\nOrderedDict\n"
                                                 b")Rctorch\nfloat4_e2m1fn_x2\n", b"_rebuild_tensor_v3"), {"0": b"\0"}),
                                "tensor `w` in data.pkl: a float4_e2m1fn_x2 scalar (a byte holds two values); refused"),
    "member-declares-more": lambda f: (_patched(_bin(f), lambda d: d.__setitem__(
        slice(_central(d) + 20, _central(d) + 28), (1_000_000).to_bytes(4, "little") * 2)),
        "zip member archive/data.pkl (local header at byte 0) declares 1,000,000 bytes, more than the {size:,}-byte "
        "file holds there (or than it stores); refused"),
    "no-local-header": lambda f: (_patched(_bin(f), lambda d: d.__setitem__(slice(0, 4), b"PK\x09\x09")),
                                  "zip member archive/data.pkl: no local header at byte 0; refused"),
    "member-runs-past": lambda f: (_patched(_bin(f), lambda d: d.__setitem__(slice(28, 30), (60_000).to_bytes(2, "little"))),
                                   "zip member archive/data.pkl: its {pickle:,} bytes from byte 60046 run past the end "
                                   "of the {size:,}-byte file; refused"),
    "no-data-pkl": lambda f: (_onezip(f),
                              "not a torch checkpoint: expected one <name>/data.pkl in the zip"),
    "checksum": lambda f: (_patched(_bin(f), lambda d: d.__setitem__(30 + len(STEM) + 3, d[30 + len(STEM) + 3] ^ 1)),
                           "data.pkl (byte 0): its bytes do not match the zip's checksum; refused"),
    "not-a-zip": lambda f: (_write(f / "pytorch_model.bin", b"hello, this is no zip"),
                            "cannot read the zip: File is not a zip file"),
    "storage-record-missing": lambda f: (_bin(f, storages={}),
                                         "tensor `value_head.weight`: its storage record archive/data/0 is missing"),
    "legacy-protocol": lambda f: (_legacy(f / "pytorch_model.bin", protocol=1000),
                                  "legacy torch.save format: unknown magic number or protocol version; refused"),
    "legacy-big-endian": lambda f: (_legacy(f / "pytorch_model.bin", little_endian=False),
                                    "legacy torch.save format written on a big-endian machine; not read"),
    "legacy-not-a-dict": lambda f: (_legacy(f / "pytorch_model.bin", state=pickle.dumps([1], protocol=2)),
                                    "pickle holds a list, not a state dict"),
    "legacy-too-deep": lambda f: (_legacy(f / "pytorch_model.bin", state=b"\x80\x02)" + b"\x85" * 100_000 + b"Q."),
                                  "state dict pickle nests too deeply; refused"),
    "legacy-global": lambda f: (_legacy(f / "pytorch_model.bin", protocol=b"\x80\x02cos\nsystem\n."),
                                "protocol pickle refused, nothing was run: global os.system is not allowed"),
    "legacy-keys-not-names": lambda f: (_legacy(f / "pytorch_model.bin", keys="abc"),
                                        "legacy torch.save format: the storage keys are not a list of names; refused"),
    "legacy-key-not-there": lambda f: (_legacy(f / "pytorch_model.bin", keys=["0"]),
                                       "storage 0 (byte {keys_end}): not where the keys say; refused"),
    "safetensors-too-small": lambda f: (_write(f / "model.safetensors", b"\x05\0\0\0\0"),
                                        "5 bytes: too small for a safetensors header (8-byte length first)"),
    "safetensors-ends-in-header": lambda f: (_sidecar(f), "the file ended inside its 100-byte header"),
    "safetensors-duplicate-key": lambda f: (_safetensors_header(f, b'{"a": 1, "a": 2}'),
                                            "header refused: duplicate key 'a' in the header"),
    "safetensors-deep": lambda f: (_safetensors_header(f, b"[" * 100_000),
                                   "header refused: maximum recursion depth exceeded while decoding a JSON array from "
                                   "a unicode string"),
    "safetensors-entry": lambda f: (_safetensors_header(f, b'{"w": 5}'), "tensor `w`: entry is not an object"),
    "safetensors-dtype": lambda f: (_safetensors_header(f, _entry(dtype="X9"), b"\0" * 4),
                                    "tensor `w`: unknown dtype 'X9'"),
    "safetensors-offsets": lambda f: (_safetensors_header(f, _entry(data_offsets=[0]), b"\0" * 4),
                                      "tensor `w`: data_offsets [0] are not [begin, end]"),
    "safetensors-hole": lambda f: (_safetensors_header(f, _entry(data_offsets=[2, 6]), b"\0" * 6),
                                   "tensor `w`: data begins at 2, leaving a hole from 0 (safetensors: invalid offset)"),
    "safetensors-trailing": lambda f: (_safetensors_header(f, _entry(), b"\0" * 1000),
                                       "tensors cover 4 bytes but the file holds 1,000 after the header: trailing data "
                                       "(safetensors: incomplete metadata, file not fully covered)"),
    "adapter-without-weights": lambda f: (_write(f / "adapter_config.json", b'{"peft_type": "LORA"}'),
                                          "adapter_config.json without adapter_model.safetensors or adapter_model.bin"),
    "index-without-map": lambda f: (_write(f / "model.safetensors.index.json", b'{"metadata": {}}'),
                                    "index has no weight_map of tensor -> shard file"),
    "config-json": lambda f: (_write(f / "config.json", b'{"hidden_size": 8,}'),
                              "invalid JSON: Expecting property name enclosed in double quotes"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _onezip(folder: Path) -> Path:
    path = folder / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights/tensor.txt", b"1")
    return path


def _sidecar(folder: Path) -> Path:
    """A weight file read from the Hub: its size (8 bytes) and first bytes, here cut inside the header."""
    (folder / "model.safetensors.rmlint-header").write_bytes((1000).to_bytes(8, "little") + (100).to_bytes(8, "little")
                                                             + b'{"w": ')
    return folder / "model.safetensors"


def launch_refusals(text: str) -> list:
    """(line, column, message) of the RM001 findings of a launch script's text."""
    from rmlint import inputs
    from rmlint.lint import Result, _finish, _policy
    subjects, problems = inputs.subjects_of_text("launch.sh", text)
    result = _finish(Result(findings=problems, files=1), subjects, _policy())
    return [(f.line, f.column, f.message) for f in result.findings if f.rule == "RM001"]


def refusals(target: Path) -> list:
    result = cli("inspect", "--format", "json", str(target))
    assert result.exit_code == 1, result.output
    return [(f["rule"], f["path"], f["line"], f["message"]) for f in json.loads(result.output)["findings"]
            if f["rule"] == "RM001"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_refusal_is_worded_by_rm001(tmp_path, name):
    _config(tmp_path)
    path, message = CASES[name](tmp_path)
    size = path.stat().st_size if path.exists() else 0
    pickle_size = zipfile.ZipFile(path).getinfo(STEM).file_size if name == "member-runs-past" else 0
    keys_end = len(path.read_bytes()) if name == "legacy-key-not-there" else 0
    expected = message.format(size=size, pickle=pickle_size, keys_end=keys_end)
    line = 1 if name == "config-json" else 0
    assert refusals(tmp_path) == [("RM001", str(path), line, expected)]


def test_too_many_zip_members_are_refused(tmp_path, monkeypatch):
    from rmlint.frameworks.checkpoint import torch_zip as reader
    monkeypatch.setattr(reader, "MAX_MEMBERS", 2)
    _config(tmp_path)
    path = _bin(tmp_path)
    assert refusals(tmp_path) == [("RM001", str(path), 0, "3 zip members; refused")]


@pytest.mark.parametrize("numel,message", [
    (10 ** 9, "storage {key} (byte {at}) declares 1,000,000,000 elements, more than the {size:,}-byte file holds; "
              "refused"),
    (1, "tensor `w`: storage {key} is missing or holds another size; refused"),
])
def test_a_legacy_storage_count_is_checked_against_the_file_and_the_pickle(tmp_path, numel, message):
    _config(tmp_path)
    path, key, at = _torch_legacy(tmp_path, numel)
    expected = message.format(key=key, at=at, size=path.stat().st_size)
    assert refusals(tmp_path) == [("RM001", str(path), 0, expected)]


def test_a_folder_that_cannot_be_listed_is_cannot_read(tmp_path, monkeypatch):
    def refuse(_):
        raise PermissionError(13, "Permission denied")
    (tmp_path / "m").mkdir()
    monkeypatch.setattr(os, "listdir", refuse)
    assert refusals(tmp_path / "m") == [("RM001", str(tmp_path / "m"), 0, "cannot read: Permission denied")]


def test_a_launch_names_the_checkpoint_and_the_file_it_could_not_read(tmp_path):
    _config(tmp_path)
    _safetensors_header(tmp_path, b'{"w": 5}')
    text = f"deepspeed --module openrlhf.cli.serve_rm --reward_pretrain {tmp_path} --bf16\n"
    assert launch_refusals(text) == [
        (1, 42, f"checkpoint `{tmp_path}`: model.safetensors: tensor `w`: entry is not an object")]


def test_a_refused_symlink_in_a_launch_is_worded_inside_the_checkpoint_finding(tmp_path):
    (tmp_path / "m").mkdir()
    _config(tmp_path / "m")
    _safetensors(tmp_path / "outside.safetensors", {"w": ("F32", [1], b"\0" * 4)})
    (tmp_path / "m" / "model.safetensors").symlink_to(tmp_path / "outside.safetensors")
    text = f"deepspeed --module openrlhf.cli.serve_rm --reward_pretrain {tmp_path / 'm'} --bf16\n"
    assert launch_refusals(text) == [
        (1, 42, f"checkpoint `{tmp_path / 'm'}`: model.safetensors: cannot read: a symlink to {tmp_path}/outside.safetensors, "
        f"outside {tmp_path / 'm'}; not followed")]


def test_a_count_is_shown_with_thousands_separators():
    from rmlint.engine import render
    assert render("{item.n:,} bytes of {item.m:,}", {"item": {"n": 68_157_440, "m": 12}}) == "68,157,440 bytes of 12"

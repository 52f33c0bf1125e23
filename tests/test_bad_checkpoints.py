"""Hostile and broken weight files: a clear RM001, nothing executed, no traceback, no hang."""

import io
import json
import pickle
import struct
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, cli, worded
from rmlint.frameworks.checkpoint.safetensors_file import read_header
from rmlint.frameworks.checkpoint.tensors import CheckpointError
from rmlint.frameworks.checkpoint.torch_zip import read_index


class _Touch:
    """Unpickling this creates a file: proof of execution if the reader ever ran a pickle's code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def torch_zip(path, payload, stem="archive"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{stem}/data.pkl", pickle.dumps(payload, protocol=2))
        archive.writestr(f"{stem}/version", b"3\n")


def test_a_pickle_that_would_write_a_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "was-executed"
    torch_zip(tmp_path / "pytorch_model.bin", {"value_head.weight": _Touch(str(marker))})
    result = cli("inspect", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path}/pytorch_model.bin: error RM001 pickle refused, nothing was run: global io.open is not allowed" \
        in result.output
    assert not marker.exists()


def test_other_unpickling_tricks_are_refused(tmp_path):
    for number, payload in enumerate([{"a": (lambda: None).__class__}, {"a": zipfile.ZipFile}]):
        path = tmp_path / f"trick{number}.bin"
        try:
            torch_zip(path, payload)
        except (pickle.PicklingError, AttributeError, TypeError):
            continue
        try:
            read_index(str(path))
            raise AssertionError("refusal expected")
        except CheckpointError as err:
            assert "is not allowed" in worded(err)


def _legacy(path, state_pickle: bytes, keys=()):
    """A legacy-format file (torch/serialization.py _legacy_save) around a given object pickle."""
    info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    path.write_bytes(b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, info))
                     + state_pickle + pickle.dumps(list(keys), protocol=2))


def test_a_legacy_torch_file_is_read_like_torch_loads_it(tmp_path):
    import torch
    torch.manual_seed(0)
    state = {"model.embed.weight": torch.randn(4, 3), "score.weight": torch.randn(1, 3).to(torch.bfloat16),
             "model.norm.weight": torch.ones(3), "steps": torch.tensor(7)}
    path = tmp_path / "pytorch_model.bin"
    torch.save(state, path, _use_new_zipfile_serialization=False)
    assert not zipfile.is_zipfile(path)
    loaded = torch.load(path, weights_only=True)
    tensors = read_index(str(path))
    assert [(t.name, t.dtype, list(t.shape)) for t in tensors] == [
        ("model.embed.weight", "F32", [4, 3]), ("score.weight", "BF16", [1, 3]), ("model.norm.weight", "F32", [3]),
        ("steps", "I64", [])]
    raw = path.read_bytes()
    for tensor in tensors:    # the bytes at each offset are the tensor torch.load gives
        expected = loaded[tensor.name].reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
        assert raw[tensor.offset:tensor.offset + tensor.nbytes] == expected, tensor.name
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForSequenceClassification"],
                                                      "hidden_size": 3, "num_labels": 1}))
    output = cli("inspect", str(tmp_path)).output
    assert "format        pytorch_model.bin (torch.save), 4 tensors" in output
    assert "head          score.weight [1, 3] BF16 in pytorch_model.bin" in output


def test_a_legacy_torch_pickle_that_would_write_a_file_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "was-executed"
    _legacy(tmp_path / "pytorch_model.bin", pickle.dumps({"value_head.weight": _Touch(str(marker))}, protocol=2))
    result = cli("inspect", str(tmp_path))
    assert result.exit_code == 1
    assert (f"{tmp_path}/pytorch_model.bin: error RM001 state dict pickle refused, nothing was run: global io.open "
            "is not allowed") in result.output
    assert not marker.exists()


def test_a_cut_legacy_torch_file_is_refused(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19" + b"\x00" * 64)
    result = cli("inspect", str(path))
    assert result.exit_code == 1 and "error RM001 magic number pickle refused, nothing was run" in result.output


def test_a_zip_bomb_sized_pickle_is_refused_before_reading(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\x00" * (65 * 1024 * 1024))
    try:
        read_index(str(path))
        raise AssertionError("refusal expected")
    except CheckpointError as err:
        assert worded(err) == "data.pkl is 68,157,440 bytes; refused (cap 67,108,864)"


def test_an_index_pointing_outside_the_folder_is_a_missing_shard(tmp_path):
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"value_head.weight": "../../etc/passwd"}}))
    result = cli("inspect", "--format", "json", str(tmp_path))
    assert [f["rule"] for f in json.loads(result.output)["findings"]] == ["RM617"]


def test_broken_config_json_is_rm001_with_line(tmp_path):
    (tmp_path / "config.json").write_text('{"hidden_size": 64,\n  "value_head_prefix": }\n')
    (tmp_path / "model.safetensors").write_bytes((FIXTURES / "hostile" / "valid_control.safetensors").read_bytes())
    result = cli("inspect", "--format", "json", str(tmp_path))
    first = json.loads(result.output)["findings"][0]
    assert (first["rule"], first["path"], first["line"]) == ("RM001", f"{tmp_path}/config.json", 2)


def test_a_directory_instead_of_a_weight_file(tmp_path):
    (tmp_path / "model.safetensors").mkdir()
    result = cli("inspect", str(tmp_path))
    assert result.exit_code == 1 and "RM001" in result.output and "Traceback" not in result.output


VALID = (FIXTURES / "hostile" / "valid_control.safetensors").read_bytes()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=6),
       st.integers(0, len(VALID)))
def test_mutated_safetensors_never_crash(tmp_path, flips, cut):
    data = bytearray(VALID[:cut] if cut < 8 else VALID)
    for where, value in flips:
        if where < len(data):
            data[where] = value
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(bytes(data))
    try:
        read_header(str(path))
    except CheckpointError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.text(max_size=8), st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_size=4))
def test_arbitrary_json_headers_never_crash(tmp_path, header):
    raw = json.dumps(header).encode()
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    try:
        read_header(str(path))
    except CheckpointError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_pickles_in_a_torch_zip_never_crash(tmp_path, blob):
    path = tmp_path / "fuzz.bin"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fuzz/data.pkl", b"\x80\x02" + blob)
    path.write_bytes(buffer.getvalue())
    try:
        read_index(str(path))
    except CheckpointError:
        pass

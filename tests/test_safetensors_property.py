"""rmlint's safetensors reader accepts a file exactly when the real `safetensors.safe_open` does:
files built from a header (tensors with dtypes, shapes and offsets that are right, or off by a gap,
an overlap, a swap), a length field (right or off), and a data buffer (exact, short, or with trailing
bytes). Hypothesis draws them; both readers judge each one."""

import json
import struct

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import cli
from rmlint.frameworks.checkpoint.safetensors_file import read_header
from rmlint.frameworks.checkpoint.tensors import BITS, CheckpointError

DTYPES = sorted(BITS) + ["F128", "f32", "", "Q4"]


@st.composite
def safetensors_files(draw) -> bytes:
    tensors, offset = {}, 0
    for index in range(draw(st.integers(0, 4))):
        dtype = draw(st.sampled_from(DTYPES))
        shape = draw(st.lists(st.integers(0, 5), max_size=3))
        numel = 1
        for dim in shape:
            numel *= dim
        nbytes = numel * BITS.get(dtype, 8) // 8
        begin, end = offset, offset + nbytes
        bend = draw(st.sampled_from(["right"] * 6 + ["gap", "overlap", "swap", "end+1", "negative", "shape",
                                                       "float", "bool"]))
        if bend == "gap":
            begin, end = begin + 1, end + 1
        elif bend == "overlap" and begin:
            begin, end = begin - 1, end - 1
        elif bend == "swap":
            begin, end = end, begin
        elif bend == "end+1":
            end += 1
        elif bend == "negative":
            shape = shape + [-1]
        elif bend == "shape":
            shape = "3"
        elif bend in ("float", "bool"):   # JSON 2.0 and true are no sizes to safetensors
            shape = shape + [2.0 if bend == "float" else True]
        tensors[f"t{index}"] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
        offset = max(offset, end)
    if draw(st.booleans()):
        tensors["__metadata__"] = draw(st.sampled_from([{"format": "pt"}, {}, {"n": 1}, "pt", None]))
    header = json.dumps(tensors).encode()
    header += b" " * draw(st.integers(0, 8))                          # safetensors pads headers with spaces
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.sampled_from([b"[]", b"{", b"\xff\xfe", b"", b"{\"a\": 1}", b" {}", b"{}x"]))
    length = len(header) + draw(st.sampled_from([0] * 8 + [-1, 1, 2 ** 40]))
    buffer = b"\x00" * max(0, offset + draw(st.sampled_from([0] * 6 + [1, 7, -1])))
    return struct.pack("<Q", max(0, length)) + header + buffer


def _file(header: dict, buffer: int) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"\x00" * buffer


def _safe_open_accepts(path) -> bool:
    from safetensors import safe_open
    try:
        with safe_open(str(path), framework="numpy") as handle:
            handle.keys()
        return True
    except Exception:   # SafetensorError, or an OSError from the mmap of an empty file
        return False


def _rmlint_accepts(path) -> bool:
    try:
        read_header(str(path))
        return True
    except CheckpointError:
        return False


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=safetensors_files())
@example(data=struct.pack("<Q", 2) + b"{}" + b"\x00")                 # trailing bytes after an empty header
@example(data=struct.pack("<Q", 2) + b"{}")
@example(data=struct.pack("<Q", 8) + b"{}      ")
@example(data=_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},   # an overlap and a hole that
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, 16))   # add up to the buffer
def test_rmlint_reads_a_safetensors_file_exactly_when_safe_open_does(tmp_path, data):
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    assert _rmlint_accepts(path) == _safe_open_accepts(path), data[:300]


def test_trailing_bytes_are_rm001_in_a_launch_check(tmp_path):
    header = json.dumps({"value_head.weight": {"dtype": "F32", "shape": [1, 4], "data_offsets": [0, 16]}}).encode()
    (tmp_path / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\x00" * 17)
    assert not _safe_open_accepts(tmp_path / "model.safetensors")
    result = cli("inspect", str(tmp_path))
    assert result.exit_code == 1
    assert (f"{tmp_path}/model.safetensors: error RM001 tensors cover 16 bytes but the file holds 17 after the "
            "header: trailing data (safetensors: incomplete metadata, file not fully covered)") in result.output


def _header(text: bytes, buffer: int = 0) -> bytes:
    return struct.pack("<Q", len(text)) + text + b"\x00" * buffer


REFUSALS = {   # a file safe_open refuses, and what rmlint says about it
    "not UTF-8": (_header(b'{"\xff}'), "header is not UTF-8 (byte 10)"),
    "not an object": (_header(b"[]"), "header is not a JSON object"),
    "metadata": (_header(b'{"__metadata__": {"n": 1}}'), "__metadata__ must map strings to strings"),
    "shape text": (_file({"w": {"dtype": "F32", "shape": "3", "data_offsets": [0, 12]}}, 12),
                   "tensor `w`: shape '3' is not a list of sizes"),
    "shape float": (_file({"w": {"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}}, 8),
                    "tensor `w`: shape [2.5] is not a list of sizes"),
    "shape bool": (_file({"w": {"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}}, 8),
                   "tensor `w`: shape [True, 2] is not a list of sizes"),
    "over the cap": (struct.pack("<Q", 100_000_001) + b"{}",
                     "header length 100,000,001 bytes (at byte 0) is over safetensors' 100 MB cap: not a "
                     "safetensors file, or a corrupt one"),
    "at the cap": (struct.pack("<Q", 100_000_000) + b"{}",   # the cap itself is allowed: then it is cut short
                   "header length 100,000,000 bytes (at byte 0) runs past the end of the 10-byte file: truncated "
                   "or not a safetensors file"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_refusal_says_what_is_wrong(tmp_path, case):
    data, message = REFUSALS[case]
    (tmp_path / "model.safetensors").write_bytes(data)
    assert not _safe_open_accepts(tmp_path / "model.safetensors")
    result = cli("inspect", str(tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path}/model.safetensors: error RM001 {message}  [unreadable-input]" in result.output

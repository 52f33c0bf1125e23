"""Generated hostile input for each checkpoint reader: whatever the bytes, a reader returns tensors
that lie inside their file, or refuses with CheckpointError; the checkpoint facts and every rule
over them never raise. RMLINT_FUZZ_EXAMPLES sets the examples per reader (100 in the suite;
`python benchmarks/hostile.py --examples 10000` is the nightly-sized run)."""

import json
import os
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import worded
from hostile_cases import torch_pickle
from rmlint.frameworks.checkpoint.safetensors_file import read_header
from rmlint.frameworks.checkpoint.tensors import BITS, CheckpointError
from rmlint.frameworks.checkpoint.torch_pickle import STORAGE_DTYPES
from rmlint.frameworks.checkpoint.torch_zip import read_index

EXAMPLES = int(os.environ.get("RMLINT_FUZZ_EXAMPLES", "100"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ODD = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 64, 2 ** 64), st.floats(allow_nan=True),
                st.text(max_size=4), st.lists(st.integers(-3, 40), max_size=3))
DIMS = st.lists(st.integers(-3, 40) | st.integers(2 ** 47, 2 ** 64), max_size=3).map(tuple)


def _scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="rmlint-fuzz-"))


def _inside(tensors, path: Path):
    size = path.stat().st_size
    for t in tensors:
        assert t.dtype in BITS and all(isinstance(d, int) and d >= 0 for d in t.shape)
        assert 0 <= t.offset and t.offset + t.nbytes <= size, (t, size)


# -- torch zip: the pickle's _rebuild_tensor_v2 arguments and the zip's own fields --------------

ENTRY = st.tuples(st.sampled_from([*STORAGE_DTYPES, "NoSuchStorage"]) | st.integers(-2, 2),
                  st.sampled_from(["0", "1"]) | st.integers(0, 1),
                  st.integers(-2, 64) | st.integers(2 ** 47, 2 ** 64) | ODD,
                  st.integers(-2, 64) | ODD, DIMS | ODD, DIMS | ODD)


@FUZZ
@given(entries=st.dictionaries(st.sampled_from(["value_head.weight", "score.weight", "a"]), ENTRY, max_size=3),
       storages=st.dictionaries(st.sampled_from(["0", "1"]), st.binary(max_size=300), max_size=2),
       flags=st.integers(0, 0xFFFF) | st.just(0), method=st.sampled_from([0, 0, 0, 8, 12, 99]),
       declared=st.none() | st.integers(0, 2 ** 32 - 1))
def test_any_torch_zip_is_listed_inside_its_file_or_refused(entries, storages, flags, method, declared):
    folder = _scratch()
    try:
        path = folder / "pytorch_model.bin"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("archive/data.pkl", torch_pickle(entries))
            for key, raw in storages.items():
                archive.writestr(f"archive/data/{key}", raw)
        data = bytearray(path.read_bytes())
        for start in _headers(data, b"PK\x01\x02"):       # the central directory's fields of each member
            struct.pack_into("<HH", data, start + 8, flags & 0x1 | (data[start + 8] & ~0x1), method)
            if declared is not None:
                struct.pack_into("<I", data, start + 24, declared)
        path.write_bytes(bytes(data))
        try:
            _inside(read_index(str(path)), path)
        except CheckpointError as err:
            assert err.path == str(path) and "<missing" not in worded(err)
    finally:
        shutil.rmtree(folder)


def _headers(data: bytes, magic: bytes):
    start = data.find(magic)
    while start >= 0:
        yield start
        start = data.find(magic, start + 4)


# -- safetensors headers ----------------------------------------------------------------------

TENSOR = st.fixed_dictionaries({"dtype": st.sampled_from(sorted(BITS)) | ODD,
                                "shape": st.lists(st.integers(-2, 6), max_size=3) | ODD,
                                "data_offsets": st.lists(st.integers(-2, 300), min_size=2, max_size=2) | ODD})


@st.composite
def _consistent(draw):
    """A valid header, then (maybe) one field of one tensor changed."""
    header, position = {}, 0
    for name in draw(st.lists(st.text(min_size=1, max_size=6), max_size=3, unique=True)):
        dtype, shape = draw(st.sampled_from(["F32", "BF16", "F16", "I8"])), draw(st.lists(st.integers(0, 4), max_size=2))
        count = 1
        for dim in shape:
            count *= dim
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [position, position + count * BITS[dtype] // 8]}
        position += count * BITS[dtype] // 8
    if header and draw(st.booleans()):
        name = draw(st.sampled_from(sorted(header)))
        header[name][draw(st.sampled_from(["dtype", "shape", "data_offsets"]))] = draw(ODD)
    return header, position


@FUZZ
@given(header=st.one_of(_consistent(), st.tuples(st.dictionaries(st.text(max_size=6), TENSOR | ODD, max_size=3),
                                                  st.integers(0, 300))),
       metadata=st.none() | st.dictionaries(st.text(max_size=3), st.text(max_size=3) | ODD, max_size=2),
       trailing=st.integers(-8, 8), length_delta=st.sampled_from([0, 0, 0, -1, 1, 2 ** 40]))
@example(header=({"w": {"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}}, 4), metadata=None, trailing=0,
         length_delta=0)   # issue 17: a dtype given as a list
def test_any_safetensors_header_is_read_inside_its_file_or_refused(header, metadata, trailing, length_delta):
    tensors, size = header
    document = dict(tensors)
    if metadata is not None:
        document["__metadata__"] = metadata
    text = json.dumps(document).encode()
    folder = _scratch()
    try:
        path = folder / "model.safetensors"
        path.write_bytes((len(text) + length_delta).to_bytes(8, "little", signed=False) + text
                         + b"\0" * max(0, size + trailing))
        try:
            _, found = read_header(str(path))
            _inside(found, path)
        except CheckpointError as err:
            assert err.path == str(path) and "<missing" not in worded(err)
    finally:
        shutil.rmtree(folder)


# -- config.json and adapter_config.json values -------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers(-2 ** 64, 2 ** 64) | st.floats() | st.text(max_size=6),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                    max_leaves=6)
QUANT = st.dictionaries(st.sampled_from(["load_in_4bit", "load_in_8bit", "quant_method", "bnb_4bit_quant_type",
                                         "bnb_4bit_use_double_quant", "bnb_4bit_quant_storage"]), JSON, max_size=4)
CONFIG = st.dictionaries(st.sampled_from(["architectures", "hidden_size", "n_embd", "d_model", "word_embed_proj_dim",
                                          "text_config", "value_head_prefix", "id2label", "initializer_range", "mean",
                                          "std", "normalize_reward", "torch_dtype"]),
                         JSON | st.sampled_from([["RewardModel"], ["LlamaForSequenceClassification"], 32, -1, 0,
                                                 "score", "value_head"]), max_size=6) \
    .flatmap(lambda config: st.just(config) | QUANT.map(lambda q: {**config, "quantization_config": q}))
ADAPTER = st.dictionaries(st.sampled_from(["target_modules", "modules_to_save", "task_type", "r",
                                           "base_model_name_or_path", "auto_mapping"]),
                          JSON | st.sampled_from([["score"], "all-linear", "SEQ_CLS", 8, {"base_model_class": 5}]),
                          max_size=5)


def _head(hidden: int = 32) -> bytes:
    raw = struct.pack(f"<{hidden}f", *[((i * 37) % 11 - 5) / 100 for i in range(hidden)])
    header = json.dumps({"value_head.weight": {"dtype": "F32", "shape": [1, hidden], "data_offsets": [0, len(raw)]},
                         "base_model.model.score.weight": {"dtype": "F32", "shape": [1, hidden],
                                                           "data_offsets": [len(raw), 2 * len(raw)]}}).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + raw + raw


@FUZZ
@given(config=CONFIG, adapter=st.none() | ADAPTER)
def test_any_config_values_give_facts_and_verdicts_without_errors(config, adapter):
    from rmlint.lint import inspect_checkpoints
    folder = _scratch()
    try:
        (folder / "config.json").write_text(json.dumps(config))
        if adapter is None:
            (folder / "model.safetensors").write_bytes(_head())
        else:
            (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", **adapter}))
            (folder / "adapter_model.safetensors").write_bytes(_head())
        entries, result = inspect_checkpoints([str(folder)])
        assert result.rule_errors == []
        assert entries[0]["path"] == str(folder)
    finally:
        shutil.rmtree(folder)


# -- shell scripts with expansion: variables of variables, arrays, functions, defaults, substitutions ------

def _script(draw_ops):
    lines, names, arrays = [], [], []
    for kind, a, b, lit in draw_ops:
        # mostly the newest variables, so chains of copies grow geometrically unless the reader caps them
        ref = (lambda i: f"$V{len(names) - 1 - i % min(3, len(names))}" if names else lit)
        if kind == "assign":
            parts = [ref(a), f"${{V{len(names) - 1}:-{lit}}}" if names else lit, ref(b), ref(a + b)]
            lines.append(f'V{len(names)}="{"".join(parts[: 1 + a % 4])}"')
            names.append(len(names))
        elif kind == "array":
            lines.append(f"A{len(arrays)}=({ref(a)} {lit} \"{ref(b)}\")")
            arrays.append(len(arrays))
        elif kind == "function":
            lines.append(f"f{a}() {{\n  deepspeed --module openrlhf.cli.train_rm \"$@\" {ref(b)}\n}}\nf{a} {ref(a)} {ref(b)}")
        elif kind == "heredoc":
            lines.append(f"read -r -d '' C{a} <<EOF\n{ref(a)} {ref(b)} --{lit}\nEOF\ndeepspeed $C{a}")
        elif kind == "subst":
            lines.append(f"V{len(names)}=$(echo {ref(a)}){ref(b)}")
            names.append(len(names))
        else:
            arr = f'"${{A{b % len(arrays)}[@]}}"' if arrays else lit
            lines.append(f"bash -c \"deepspeed --module openrlhf.cli.train_rm --pretrain {ref(a)} {arr} --zero_stage 3\"")
    return "\n".join(lines) + "\n"


OPS = st.lists(st.tuples(st.sampled_from(["assign", "assign", "array", "function", "heredoc", "subst", "launch"]),
                         st.integers(0, 50), st.integers(0, 50), st.sampled_from(["x", "--lora_rank 8", "'a b'", "$1", ""])),
               min_size=1, max_size=40)


@FUZZ
@given(ops=OPS)
@example(ops=[("assign", 3, 0, "x")] * 30 + [("launch", 0, 0, "")])
def test_any_shell_script_with_expansion_is_read_in_bounded_time(ops):
    import time

    from conftest import findings_of_text
    from rmlint.rules import catalog_dir
    known = {path.name[:5] for path in catalog_dir().glob("RM*.yaml")}
    text = _script(ops)
    start = time.monotonic()
    found = findings_of_text("train.sh", text)
    assert time.monotonic() - start < 5, text
    assert {rule for rule, _, _ in found} <= known

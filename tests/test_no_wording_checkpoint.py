"""The checkpoint readers' refusals are worded in RM001's YAML (issue 15): the readers (rmlint/frameworks/
checkpoint/) give a problem kind and its facts, and none of the phrases that moved is back in the library."""

from test_no_wording_in_python import LIBRARY, worded_strings

# phrases that moved from the checkpoint readers into rules/RM001-unreadable-input.yaml
PHRASES = ["is not allowed", "nothing was run", "nests too deeply", "not a state dict", "not a torch storage",
           "float8 or float4", "torch.save writes neither", "is not a count", "is not a list of sizes",
           "negative shape", "does not match shape", "is too large", "reach element", "a byte holds two values",
           "is encrypted", "compression method", "stores members uncompressed", "more than the", "no local header",
           "run past the end", "zip members", "not a torch checkpoint", "refused (cap", "zip's checksum",
           "cannot read the zip", "storage record", "but data.pkl says", "unexpected persistent id",
           "untyped storage", "legacy torch.save", "not where the keys say", "missing or holds another size",
           "too small for a safetensors", "100 MB cap", "runs past the end", "ended inside its", "header is not",
           "header refused", "duplicate key", "must map strings", "entry is not an object", "unknown dtype",
           "are not [begin, end]", "does not fit data_offsets", "data begins at", "leaving a hole",
           "tensor before it", "tensors cover", "not fully covered", "adapter_config.json without",
           "no weight_map", "checkpoint `"]


def test_no_checkpoint_refusal_wording_in_the_library():
    assert worded_strings(LIBRARY, PHRASES) == []


def test_the_scan_finds_a_refusal_put_back(tmp_path):
    (tmp_path / "rmlint" / "frameworks" / "checkpoint").mkdir(parents=True)
    (tmp_path / "rmlint" / "frameworks" / "checkpoint" / "torch_zip.py").write_text(
        'def check(info, path):\n    raise CheckpointError(f"zip member {info.filename} is encrypted; refused", path)\n')
    assert worded_strings(tmp_path / "rmlint", PHRASES) == [("rmlint/frameworks/checkpoint/torch_zip.py:2",
                                                             "is encrypted")]

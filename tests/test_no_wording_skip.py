"""Issue 15, why checkpoint checks are skipped, the fix edits' titles and exact mode's usage error: the readers
record kinds with facts, the output's table (formats.SKIPPED), the rules' `fix_title` and the settings' words
(config.EXACT_UNAVAILABLE) word them. None of these phrases may come back into a string of the library outside
the layers that word for the user."""

from test_no_wording_in_python import LIBRARY, worded_strings

PHRASES = [
    # why a checkpoint was not read (hub_cache, checkpoint.subjects): formats.SKIPPED
    "no such file or folder", "beside the script", "not in the Hugging Face cache", "holds only part of it",
    "not read from the Hub",
    # the Hub's refusals (hub_remote): formats.SKIPPED
    "not allowed (a gated", "ignores Range requests", "holds no copy of it", "needs huggingface_hub",
    "cannot keep what was read", "did not answer in time", "cannot connect to the Hub",
    "has no config.json or adapter_config.json", "-byte cap", "shards, over", "reads safetensors headers only",
    "too few for a safetensors header", "reads from one weight file", "inside the header",
    "did not say the file's size",
    # the fix edits' titles (fix.py): each rule's `fix_title`
    "QLoRA needs ZeRO-2", "add `zero_optimization.",
    # exact mode without DeepSpeed (deepspeed/exact.py): a usage error, config.EXACT_UNAVAILABLE
    "exact DeepSpeed validation needs",
]


def test_no_skip_reason_wording_in_the_library():
    assert worded_strings(LIBRARY, PHRASES) == []


def test_the_scan_finds_a_skip_reason_put_back(tmp_path):
    (tmp_path / "rmlint" / "frameworks").mkdir(parents=True)
    (tmp_path / "rmlint" / "formats.py").write_text('SKIPPED = {"hub-no-size": "the server did not say the file\'s size"}\n')
    (tmp_path / "rmlint" / "frameworks" / "hub.py").write_text(
        'def fail(name):\n    raise OSError(f"{name}: the server did not say the file\'s size")\n')
    assert worded_strings(tmp_path / "rmlint", PHRASES) == [("rmlint/frameworks/hub.py:2", "did not say the file's size")]

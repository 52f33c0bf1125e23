"""Exact DeepSpeed validation asked for where DeepSpeed cannot be imported: a usage error (exit 2), worded by
rmlint's settings (config.EXACT_UNAVAILABLE) with the import's own words, never a finding or a traceback."""

from conftest import cli


def test_exact_validation_without_deepspeed_is_a_usage_error(tmp_path, monkeypatch):
    """`--deepspeed-schema installed` asks for what cannot be done here: exit 2, with the import's own words."""
    import sys
    monkeypatch.setitem(sys.modules, "deepspeed", None)
    path = tmp_path / "ds.json"
    path.write_text('{"train_batch_size": 8, "zero_optimization": {"stage": 2}}\n')
    result = cli("check", "--deepspeed-schema", "installed", str(path))
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == ("Error: exact DeepSpeed validation needs deepspeed installed (pip install "
                                              "'rmlint[deepspeed]'): import of deepspeed halted; None in sys.modules")

"""Issue 15: what a refused input is (a file kind, sizes, a symlink's target) is data from the reader, worded
by RM052's and RM001's YAML; the words a user sees are the ones they saw before the move."""

import os
import socket
import stat

from conftest import cli


def test_a_character_device_is_named_so(tmp_path, monkeypatch):
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)    # the OS's word for it, not rmlint's
    result = cli("check", "/dev/null")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "/dev/null: error RM052 not a regular file (a character device); not read  [not-a-regular-file]"


def test_a_socket_is_named_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind("s.json")
        assert stat.S_ISSOCK(os.stat("s.json").st_mode)
        result = cli("check", "s.json")
    finally:
        server.close()
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "s.json: error RM052 not a regular file (a socket); not read  [not-a-regular-file]"


def test_a_config_that_grew_past_the_limit_while_read_is_worded_by_rm001(tmp_path):
    from rmlint.inputs import read_file
    from rmlint.policy import Policy
    from rmlint.sources import files

    path = tmp_path / "ds.json"
    path.write_text('{"zero_optimization": {"stage": 3}}')
    real = files.open_input

    def growing(name, limit=None, within=None, what="such files"):   # the file grows between fstat and read
        path.write_text('{"zero_optimization": {"stage": 3}}' + " " * 5_000_000)
        return real(name, None, within, what)
    original, files.open_input = files.open_input, growing
    try:
        _, findings = read_file(str(path))
    finally:
        files.open_input = original
    [found] = Policy().complete(findings)
    assert (found.rule, found.message) == ("RM001", "file grew past 4 MB while it was read")

"""Why checkpoint checks are skipped, as the user reads it: the `note: checkpoint checks skipped for ...` line,
the JSON `skipped_checkpoints` entry (`reason`, `reason_kind`) and the `ckpt.reason` fact. Every way the Hub read
can fail is driven through the real reader (hub_remote's client, its range reads and caps) by a scripted HTTP
session, so no test touches the network; the texts are the ones rmlint said before the reasons became kinds."""

import json
import sys

import pytest

from conftest import cli

PPO = """#!/bin/bash
python3 -m openrlhf.cli.train_ppo_ray \\
   --pretrain ./policy \\
   --reward_pretrain {reward} \\
   --critic_pretrain ./policy \\
   --micro_train_batch_size 8 --train_batch_size 128 --zero_stage 2
"""
CONFIG = json.dumps({"architectures": ["LlamaForSequenceClassification"], "hidden_size": 8}).encode()


class Response:
    def __init__(self, status: int, body: bytes = b"", headers: dict | None = None, chunks=None):
        self.status_code, self.body, self.headers = status, body, dict(headers or {})
        self.chunks = chunks

    def iter_bytes(self):
        if isinstance(self.chunks, Exception):
            raise self.chunks
        yield from self.chunks or [self.body]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def file_answer(data: bytes, ranges: bool = True, size: bool = True):
    """A Hub that serves `data` (HEAD and ranged GET); `ranges=False` answers every GET whole (200);
    `size=False` names no total size."""
    def answer(method, headers):
        if method == "HEAD":
            return Response(200, headers={"X-Repo-Commit": "c0ffee", "Content-Length": str(len(data))})
        wanted = headers.get("Range", "bytes=0-").removeprefix("bytes=").split("-")
        first, last = int(wanted[0]), min(int(wanted[1] or len(data) - 1), len(data) - 1)
        if not ranges:
            return Response(200, data, {"Content-Length": str(len(data))})
        total = f"/{len(data)}" if size else "/*"
        return Response(206, data[first:last + 1], {"Content-Range": f"bytes {first}-{last}{total}"})
    return answer


def safetensors(header_length: int, header: bytes = b"") -> bytes:
    return header_length.to_bytes(8, "little") + header


class Session:
    """huggingface_hub's session as the client uses it: `request` (HEAD) and `stream` (GET)."""

    def __init__(self, files: dict):
        self.files = files          # file name -> answer(method, headers) or an exception to raise

    def _answer(self, method, url, headers):
        name = url.rsplit("/resolve/main/", 1)[1]
        answer = self.files.get(name)
        if answer is None:
            return Response(404)
        if isinstance(answer, Exception):
            raise answer
        return answer(method, headers)

    def request(self, method, url, headers=None, **_):
        return self._answer(method, url, headers or {})

    def stream(self, method, url, headers=None, **_):
        return self._answer(method, url, headers or {})


def named(name: str, text: str = "") -> Exception:
    return type(name, (Exception,), {})(text)


def skipped(tmp_path, monkeypatch, files: dict | None, reward: str = "org/rm", *args) -> tuple:
    """(JSON skipped_checkpoints entries, the text note lines) of a launch whose reward model is read from
    a Hub answering with `files` (None: no Hub read at all)."""
    from rmlint.frameworks.checkpoint import hub_remote
    (tmp_path / "policy").mkdir(exist_ok=True)
    script = tmp_path / "train_ppo.sh"
    script.write_text(PPO.format(reward=reward))
    monkeypatch.setattr(hub_remote, "_root", lambda: str(tmp_path / "hub-cache"))

    class Client(hub_remote._Client):
        def __init__(self, repo, revision, timeout):
            self.repo, self.revision, self.timeout, self.headers = repo, revision, timeout, {}
            self.endpoint, self.session = "https://hub.invalid", Session(files or {})
            self.url_of = lambda repo, name, revision, endpoint: f"{endpoint}/{repo}/resolve/{revision}/{name}"
    monkeypatch.setattr(hub_remote, "_Client", Client)
    hub = ["--hub"] if files is not None else []
    document = json.loads(cli("check", *hub, *args, "--format", "json", str(script)).output)
    text = cli("check", *hub, *args, str(script)).output
    return document["skipped_checkpoints"], [line for line in text.splitlines() if line.startswith("note: checkpoint")]


def hub_reason(tmp_path, monkeypatch, files: dict) -> str:
    entries, notes = skipped(tmp_path, monkeypatch, files)
    (entry,) = entries
    assert notes == [f"note: checkpoint checks skipped for `org/rm` ({tmp_path}/train_ppo.sh:4:4): {entry['reason']}"]
    assert entry["reason"].startswith("not read from the Hub: ")
    return entry["reason"].removeprefix("not read from the Hub: ")


BIG = 20_000_000


@pytest.mark.parametrize("files,reason", [
    ({"config.json": lambda method, headers: Response(403)},
     "config.json: HTTP 403, not allowed (a gated or private repo: set HF_TOKEN)"),
    ({"config.json": lambda method, headers: Response(503)}, "config.json: HTTP 503"),
    ({}, "the Hub has no config.json or adapter_config.json for it (HTTP 404)"),
    ({"config.json": named("ReadTimeout", "timed out")}, "the Hub did not answer in time (hub-timeout)"),
    ({"config.json": named("ConnectError", "refused")}, "cannot connect to the Hub (ConnectError)"),
    ({"config.json": named("RemoteProtocolError", "peer closed connection " + "x" * 300)},
     "RemoteProtocolError: peer closed connection " + "x" * (200 - len("peer closed connection "))),
    ({"config.json": lambda method, headers: Response(200, headers={"X-Repo-Commit": "c0ffee"}) if method == "HEAD"
      else Response(206, CONFIG, {"Content-Range": f"bytes 0-{len(CONFIG) - 1}/{BIG}"})},
     "config.json is 20,000,000 bytes, over rmlint's 16,777,216-byte cap"),
    ({"config.json": file_answer(CONFIG), "model.safetensors.index.json": file_answer(json.dumps(
        {"weight_map": {f"w{i}": f"model-{i:05d}.safetensors" for i in range(513)}}).encode())},
     "the index names 513 shards, over rmlint's 512 cap"),
    ({"config.json": file_answer(CONFIG)}, "model.safetensors is not on the Hub: rmlint reads safetensors headers only"),
    ({"config.json": file_answer(CONFIG), "model.safetensors": file_answer(b"\x01\x02\x03")},
     "model.safetensors: 3 bytes returned, too few for a safetensors header"),
    ({"config.json": file_answer(CONFIG), "model.safetensors": file_answer(safetensors(300_000))},
     "model.safetensors: header of 300,000 bytes, over the 256 KB rmlint reads from one weight file"),
    ({"config.json": file_answer(CONFIG), "model.safetensors": file_answer(safetensors(100, b"{" * 12))},
     "model.safetensors: the response ended after 20 bytes, inside the header"),
    ({"config.json": file_answer(CONFIG), "model.safetensors": file_answer(safetensors(2, b"{}"), size=False)},
     "model.safetensors: the server did not say the file's size"),
    ({"config.json": file_answer(CONFIG), "model.safetensors": file_answer(safetensors(2, b"{}"), ranges=False)},
     "model.safetensors: the server ignores Range requests"),
])
def test_each_way_the_hub_read_fails_is_said(tmp_path, monkeypatch, files, reason):
    assert hub_reason(tmp_path, monkeypatch, files) == reason


def test_a_cache_folder_that_cannot_be_written_is_said_in_the_systems_words(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr("tempfile.mkdtemp", full)
    assert hub_reason(tmp_path, monkeypatch, {"config.json": file_answer(CONFIG)}) == \
        "cannot keep what was read: No space left on device"


def test_offline_and_without_huggingface_hub(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    assert hub_reason(tmp_path, monkeypatch, {}) == "--hub needs huggingface_hub (pip install 'rmlint[hub]')"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reason(tmp_path, monkeypatch, {}) == "HF_HUB_OFFLINE is set and rmlint's Hub cache holds no copy of it"


def test_a_path_not_here_and_a_hub_id_not_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    entries, notes = skipped(tmp_path, monkeypatch, None, "./reward")
    where = f"{tmp_path}/train_ppo.sh"
    assert entries == [{"model": "./reward", "path": where, "line": 4, "column": 4,
                        "reason": "no such file or folder from here or beside the script", "reason_kind": "not-found"}]
    assert notes == [f"note: checkpoint checks skipped for `./reward` ({where}:4:4): no such file or folder from "
                     "here or beside the script"]
    entries, notes = skipped(tmp_path, monkeypatch, None, "org/rm")
    assert entries == [{"model": "org/rm", "path": where, "line": 4, "column": 4, "reason_kind": "not-in-hf-cache",
                        "reason": f"not a local path and not in the Hugging Face cache ({tmp_path}/hf)"}]
    assert notes == [f"note: checkpoint checks skipped for `org/rm` ({where}:4:4): not a local path and not in the "
                     f"Hugging Face cache ({tmp_path}/hf)"]


def test_ckpt_reason_is_the_kind_and_a_number_format_groups_thousands(tmp_path, monkeypatch):
    from rmlint import inputs
    from rmlint.engine import render
    (tmp_path / "policy").mkdir()
    monkeypatch.chdir(tmp_path)
    subjects, _ = inputs.subjects_of_text(str(tmp_path / "train_ppo.sh"), PPO.format(reward="./reward"))
    assert [s.facts["ckpt"]["reason"] for s in subjects if s.facts["ckpt"]["use"] == "reward"] == ["not-found"]
    assert render("{item.size:,} bytes, {item.size} bytes", {"item": {"size": 16777216}}) == \
        "16,777,216 bytes, 16777216 bytes"


def kinds_named_in_python() -> dict:
    """kind -> first place (file:line) of each problems.skip(kind) or HubError(kind) call of the library."""
    import ast
    from test_no_wording_in_python import LIBRARY
    named = {}
    for path in sorted(LIBRARY.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(getattr(node, "func", None), "id", None) or getattr(getattr(node, "func", None), "attr", None)
            if isinstance(node, ast.Call) and name in ("skip", "HubError") and node.args \
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                named.setdefault(node.args[0].value, f"{path.relative_to(LIBRARY.parent)}:{node.lineno}")
    return named


def test_every_skip_kind_is_worded_and_every_wording_is_used():
    """A misspelt kind would be a KeyError on the input that meets it: caught here, before any input does."""
    from rmlint.formats import SKIPPED
    named = kinds_named_in_python()
    assert len(named) >= 20
    assert {kind: place for kind, place in named.items() if kind not in SKIPPED} == {}
    assert sorted(set(SKIPPED) - set(named)) == []


def test_a_script_reached_by_a_walk_and_by_a_source_is_noted_once(tmp_path, monkeypatch):
    """Under one name per file, as its findings are. OpenRLHF 0.0.1's slurm runner `source`s the PPO script: with
    their folder given by its absolute path from above it, each model of the PPO script was noted twice (once
    under each spelling of the file)."""
    import shutil
    from conftest import ROOT
    upstream = ROOT / "tests" / "fixtures" / "upstream" / "openrlhf" / "v0.0.1" / "examples" / "scripts"
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    for name in ("train_llama_slurm.sh", "train_ppo_llama.sh"):
        shutil.copy(upstream / name, folder / name)
    monkeypatch.chdir(tmp_path)
    notes = [line for line in cli("check", str(tmp_path / "a")).output.splitlines() if line.startswith("note: check")]
    where = f"{folder}/train_ppo_llama.sh"
    cache = "not a local path and not in the Hugging Face cache (/nonexistent/rmlint-tests/hf-hub)"
    assert notes == [f"note: checkpoint checks skipped for `meta-llama/Llama-2-7b-hf` ({where}:5:5): {cache}",
                     "note: checkpoint checks skipped for `./ckpt/7b_llama/rm_model_anthropic_oasst_lmsys_webgpt.pt` "
                     f"({where}:4:1): no such file or folder from here or beside the script",
                     f"note: checkpoint checks skipped for `meta-llama/Llama-2-7b-hf` ({where}:6:5): {cache}"]

"""The hostile inputs of issue 17, each built in a fresh folder and run as its own rmlint process
under a time and memory limit (tests/test_hostile.py asserts them; benchmarks/hostile.py measures
them on any checkout). A case returns how to run it and, optionally, what a right answer looks
like: `expect(run) -> None | str` (the string says what is wrong)."""

import io
import json
import os
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "checkpoints"
SHELL_OWNER = "issue 11a (shell reader)"   # cases whose fix belongs to the shell reader's rewrite


@dataclass
class Setup:
    argv: list                       # rmlint's arguments
    cwd: str
    env: dict = field(default_factory=dict)
    stdin: str | None = None         # a path opened as standard input
    as_nobody: bool = False          # permissions matter: root would bypass them
    file_limit: int = 0              # RLIMIT_FSIZE in bytes: writes fail midway (EFBIG)
    expect: object = None            # callable(Run) -> None | complaint
    seconds: float = 20.0


@dataclass
class Run:
    code: int | None                 # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    folder: Path


def _world(path: Path):
    """Files a case builds are usable by `nobody` too (a read-only file stays read-only)."""
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                mode = os.stat(full).st_mode
                os.chmod(full, 0o777 if os.path.isdir(full) else 0o666 if mode & 0o200 else 0o444)
    os.chmod(path, 0o777)


def _has(*needles):
    def check(run: Run):
        text = run.stdout + run.stderr
        missing = [n for n in needles if n not in text]
        return f"output lacks {missing}" if missing else None
    return check


def _secret_hidden(secret: bytes):
    number = int.from_bytes(secret[:8], "little")
    return _lacks(str(number), f"{number:,}")


def _lacks(*needles):
    def check(run: Run):
        text = run.stdout + run.stderr
        present = [n for n in needles if n in text]
        return f"output has {present}" if present else None
    return check


def _all(*checks):
    def check(run: Run):
        return next((c(run) for c in checks if c(run)), None)
    return check


def _safetensors(path: Path, tensors: dict, dtype_of=None):
    """tensors: name -> (dtype, shape, bytes)."""
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype if dtype_of is None else dtype_of, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)


def _head(hidden=8):
    return {"value_head.weight": ("F32", [1, hidden], struct.pack(f"<{hidden}f", *[0.01 * (i + 1) for i in range(hidden)]))}


def _config(folder: Path, **extra):
    config = {"architectures": ["RewardModel"], "hidden_size": 8, "value_head_prefix": "value_head", **extra}
    (folder / "config.json").write_text(json.dumps(config))


# -- a torch zip written by hand: the pickle torch.save would write, with any arguments ----------

def torch_pickle(entries: dict) -> bytes:
    """The bytes torch.save writes for {name: (storage dtype, key, numel, offset, size, stride)}; any
    field may be a wrong type on purpose."""
    out = io.BytesIO()
    out.write(b"\x80\x02")                             # PROTO 2
    out.write(b"ccollections\nOrderedDict\n)R")         # OrderedDict()
    for name, (storage, key, numel, offset, size, stride) in entries.items():
        out.write(b"X" + struct.pack("<I", len(name.encode())) + name.encode())
        out.write(b"ctorch._utils\n_rebuild_tensor_v2\n(")
        # persistent id ("storage", torch.<X>Storage, key, "cpu", numel)
        out.write(b"(X\x07\x00\x00\x00storage")
        out.write(b"ctorch\n" + storage.encode() + b"\n" if isinstance(storage, str) else pickle.dumps(storage, 2)[2:-1])
        out.write(pickle.dumps(key, 2)[2:-1] + b"X\x03\x00\x00\x00cpu" + pickle.dumps(numel, 2)[2:-1] + b"tQ")
        for value in (offset, size, stride):
            out.write(pickle.dumps(value, 2)[2:-1])
        out.write(b"\x89ccollections\nOrderedDict\n)Rt")   # requires_grad False, backward hooks
        out.write(b"R")
        out.write(b"s")                                  # SETITEM
    out.write(b".")
    return out.getvalue()


def torch_zip(path: Path, entries: dict, storages: dict, method=zipfile.ZIP_STORED, stem="archive"):
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr(f"{stem}/data.pkl", torch_pickle(entries))
        for key, raw in storages.items():
            archive.writestr(f"{stem}/data/{key}", raw)
        archive.writestr(f"{stem}/version", b"3\n")


def _bin_case(entries, storages=None):
    def build(folder: Path):
        model = folder / "m"
        model.mkdir()
        _config(model)
        torch_zip(model / "pytorch_model.bin", entries, storages if storages is not None else {"0": b"\0" * 32})
        return Setup(["inspect", str(model)], str(folder), expect=_has("RM001"))
    return build


def _patch_zip(path: Path, patch):
    """Rewrite fields of the first member's local and central headers (patch(bytearray, local, central))."""
    data = bytearray(path.read_bytes())
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    patch(data, local, central)
    path.write_bytes(bytes(data))


# -- the cases --------------------------------------------------------------------------------

def fifo_in_walk(folder):
    (folder / "d").mkdir()
    os.mkfifo(folder / "d" / "x.json")
    return Setup(["check", "d"], str(folder), seconds=2, expect=_has("RM052", "not a regular file"))


def fifo_named(folder):
    os.mkfifo(folder / "x.json")
    return Setup(["check", "x.json"], str(folder), seconds=2, expect=_has("RM052", "not a regular file"))


def _model_with_fifo(name):
    def build(folder):
        model = folder / "m"
        model.mkdir()
        if name != "pytorch_model.bin":
            _safetensors(model / "model.safetensors", _head())
        _config(model)
        os.remove(model / name) if (model / name).exists() else None
        if name == "latest":
            (model / "global_step1").mkdir()
        os.mkfifo(model / name)
        return Setup(["inspect", str(model)], str(folder), seconds=2,
                     expect=None if name == "latest" else _has("RM001", "not a regular file"))
    return build


# -- `source FILE` (shellsource.py; review-a): bounded, never a traceback, and a launch whose sourced
# file is not read is RM006 naming it, never "All checks passed" --------------------------------------

_LAUNCH = "deepspeed --module openrlhf.cli.train_rm $ARGS\n"
_BAD = 'ARGS="--pretrain m --no_such_flagz 1"\n'


def _sourcing(files: dict, script: str, expect, seconds: float = 5.0):
    """files: name -> bytes | str | ("fifo",) | ("dir",) | ("link", target)."""
    def build(folder: Path):
        for name, content in files.items():
            path = folder / name
            if isinstance(content, tuple):
                {"fifo": lambda: os.mkfifo(path), "dir": lambda: path.mkdir(),
                 "link": lambda: os.symlink(content[-1], path)}[content[0]]()
            else:
                path.write_bytes(content if isinstance(content, bytes) else content.encode())
        (folder / "go.sh").write_text(script)
        return Setup(["check", "go.sh"], str(folder), seconds=seconds, expect=expect)
    return build


def _not_read(*why):
    return _all(_has("RM006", *why), _lacks("All checks passed"))


_UNREAD = "\n".join(["ARGS=\"--pretrain m --bf16\"", "source ./x.sh", _LAUNCH])

SOURCE_CASES = {
    "source /dev/zero (symlink beside)": _sourcing({"x.sh": ("link", "/dev/zero")}, _UNREAD,
                                                   _not_read("./x.sh", "a character device")),
    "source a FIFO": _sourcing({"x.sh": ("fifo",)}, _UNREAD, _not_read("./x.sh", "a FIFO")),
    "source a folder": _sourcing({"x.sh": ("dir",)}, _UNREAD, _not_read("./x.sh", "a folder")),
    "source a 50 MB file": _sourcing({"x.sh": b"A=1\n" * 12_500_000}, _UNREAD,
                                     _not_read("./x.sh", "rmlint reads sourced scripts up to 262 KB")),
    "source a binary file": _sourcing({"x.sh": bytes(range(256)) * 400}, _UNREAD, _not_read("./x.sh", "binary")),
    "source a Latin-1 file": _sourcing({"x.sh": 'ARGS="--pretrain m\xe9"\n'.encode("latin-1")}, _UNREAD,
                                       _not_read("./x.sh", "not UTF-8")),
    # bash too fails on the loop, defines nothing and runs the launch with the ARGS above: understood
    "source a symlink loop": _sourcing({"x.sh": ("link", "y.sh"), "y.sh": ("link", "x.sh")}, _UNREAD,
                                       _lacks("RM006", "RM401")),
    "source a <-> b": _sourcing({"a.sh": "source ./b.sh\n" + _BAD, "b.sh": "source ./a.sh\n"},
                                "source ./a.sh\n" + _LAUNCH, _has("a.sh:2:20", "RM401")),
    "source itself": _sourcing({}, "source ./go.sh\n" + _BAD + _LAUNCH, _has("go.sh:2:20", "RM401")),
    "source of $(cmd) and $VAR": _sourcing({"x.sh": _BAD}, "source $(dirname $0)/x.sh\n. $HERE/x.sh\n" + _LAUNCH,
                                           _not_read("a file named by a word rmlint cannot read")),
    "source inside a function": _sourcing({"x.sh": _BAD}, "f() { source ./x.sh; }\nf\n" + _LAUNCH,
                                          _has("x.sh:1:20", "RM401")),
    "source inside a heredoc is text": _sourcing({"x.sh": _BAD}, 'ARGS="--pretrain m"\ncat <<EOF\nsource ./x.sh\nEOF\n'
                                                 + _LAUNCH, _lacks("RM401", "RM006")),
    "5,000 source lines of missing files": _sourcing(
        {}, "".join(f"source ./m{k}.sh\n" for k in range(5000)) + _LAUNCH,
        _all(_not_read("./m0.sh", "4996 more sourced files not read"), _lacks("./m4.sh"))),
    "5,000 sources of one file": _sourcing({"x.sh": _BAD}, "source ./x.sh\n" * 5000 + _LAUNCH,
                                           _lacks("All checks passed")),
    "17th sourced file": _sourcing({**{f"g{k}.sh": 'ARGS="--pretrain m"\n' for k in range(16)}, "x.sh": _BAD},
                                   "".join(f"source ./g{k}.sh\n" for k in range(16)) + "source ./x.sh\n" + _LAUNCH,
                                   _not_read("./x.sh: the script sources more than 16 files")),
    "chain of 500 sources": _sourcing({**{f"c{k}.sh": f"source ./c{k + 1}.sh\n" for k in range(500)}, "c500.sh": _BAD},
                                      'ARGS="--pretrain m"\nsource ./c0.sh\n' + _LAUNCH,
                                      _not_read("sourced files nest deeper than 6")),
    "source a CRLF file": _sourcing({"x.sh": _BAD.replace("\n", "\r\n")}, "source ./x.sh\n" + _LAUNCH,
                                    _has("x.sh:1:20", "RM401")),
    # bash stops reading x.sh at `return`; rmlint reads on (a false RM401, noted in review-a.md): bounded only
    "sourced file that exits or returns": _sourcing({"x.sh": "return 0\nexit 1\n" + _BAD}, "source ./x.sh\n" + _LAUNCH,
                                                    None),
}


def _hf_cache(folder: Path, ref: str | None = "0123abcd", fifo_ref=False):
    cache = folder / "hub"
    entry = cache / "models--acme--rm"
    snapshot = entry / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    _safetensors(snapshot / "model.safetensors", _head())
    _config(snapshot)
    (entry / "refs").mkdir()
    if fifo_ref:
        os.mkfifo(entry / "refs" / "main")
    elif ref is not None:
        (entry / "refs" / "main").write_text(ref)
    (folder / "serve.sh").write_text("deepspeed --module openrlhf.cli.serve_rm --reward_pretrain acme/rm --bf16\n")
    return entry


def fifo_hf_ref(folder):
    _hf_cache(folder, fifo_ref=True)
    return Setup(["check", "serve.sh"], str(folder), env={"HF_HUB_CACHE": str(folder / "hub")}, seconds=2)


def fifo_rule_pack(folder):
    (folder / "pyproject.toml").write_text('[tool.rmlint]\nrule-packs = ["lint"]\n')
    (folder / "lint").mkdir()
    os.mkfifo(folder / "lint" / "RM901-team.yaml")
    (folder / "ds.json").write_text('{"train_batch_size": 8}')
    return Setup(["check", "ds.json"], str(folder), seconds=2, expect=_has("RM901-team.yaml"))


def shell_a_hash(folder):
    (folder / "x.sh").write_text("a#" * 1_500_000)
    return Setup(["check", "x.sh"], str(folder), seconds=2)


def shell_assignments(folder):
    (folder / "x.sh").write_text("A=1 " * 20000)
    return Setup(["check", "x.sh"], str(folder), seconds=2)


def shell_doubling(folder):
    lines = ["V1=0123456789"] + [f"V{n}=" + f"$V{n - 1}" * 10 for n in range(2, 9)]
    (folder / "x.sh").write_text("\n".join(lines) + "\ndeepspeed --module openrlhf.cli.train_rm --pretrain $V8\n")
    return Setup(["check", "x.sh"], str(folder), seconds=2)


def suppressions(folder):
    (folder / "x.sh").write_text("# rmlint: ignore[RM201] on purpose  \\\n" * 10_000)
    return Setup(["check", "x.sh"], str(folder))


def stdin_zero(folder):
    return Setup(["check", "-"], str(folder), stdin="/dev/zero", expect=_has("RM001"))


def bin_dev_zero(folder):
    (folder / "m").mkdir()
    _config(folder / "m")
    (folder / "m" / "pytorch_model.bin").symlink_to("/dev/zero")
    return Setup(["inspect", "m"], str(folder), expect=_has("RM001"))


def big_bf16_head(folder):
    (folder / "m").mkdir()
    _config(folder / "m", hidden_size=32 * 1024 * 1024)
    n = 32 * 1024 * 1024
    _safetensors(folder / "m" / "model.safetensors", {"value_head.weight": ("BF16", [1, n], b"\x80\x3c" * n)})
    return Setup(["inspect", "m"], str(folder))


def adapter_negative_shape(folder):
    (folder / "a").mkdir()
    (folder / "a" / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "target_modules": ["q"], "r": 8, "modules_to_save": ["value_head"]}))
    entries = {"base_model.model.value_head.weight": ("FloatStorage", "0", 4, 0, (-1, -400_000_000), (1, 1))}
    with zipfile.ZipFile(folder / "a" / "adapter_model.bin", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", torch_pickle(entries))
        with archive.open("archive/data/0", "w", force_zip64=True) as member:
            for _ in range(1536):
                member.write(b"\0" * (1024 * 1024))
    return Setup(["inspect", "a"], str(folder), expect=_has("RM001"))


def zip_size_lies(folder):
    (folder / "m").mkdir()
    _config(folder / "m")
    entries = {"value_head.weight": ("FloatStorage", "0", 8, 0, (1, 8), (8, 1))}
    torch_zip(folder / "m" / "pytorch_model.bin", entries, {"0": b"\0" * 32})

    def patch(data, local, central):     # data.pkl says it is 2.1 GB (local and central headers)
        struct.pack_into("<I", data, local + 22, 2_100_000_000)
        struct.pack_into("<I", data, central + 24, 2_100_000_000)
    _patch_zip(folder / "m" / "pytorch_model.bin", patch)
    return Setup(["inspect", "m"], str(folder), expect=_has("RM001"))


def zip_encrypted(folder):
    build = _bin_case({"value_head.weight": ("FloatStorage", "0", 8, 0, (1, 8), (8, 1))})
    setup = build(folder)

    def patch(data, local, central):
        data[local + 6] |= 1
        data[central + 8] |= 1
    _patch_zip(folder / "m" / "pytorch_model.bin", patch)
    setup.expect = _has("RM001", "encrypted")
    return setup


def zip_method_99(folder):
    setup = _bin_case({"value_head.weight": ("FloatStorage", "0", 8, 0, (1, 8), (8, 1))})(folder)

    def patch(data, local, central):
        struct.pack_into("<H", data, local + 8, 99)
        struct.pack_into("<H", data, central + 10, 99)
    _patch_zip(folder / "m" / "pytorch_model.bin", patch)
    setup.expect = _has("RM001", "compression method 99")
    return setup


def _crafted(storage="FloatStorage", key="0", numel=8, offset=0, size=(1, 8), stride=(8, 1)):
    return _bin_case({"value_head.weight": (storage, key, numel, offset, size, stride)})


def safetensors_dtype_list(folder):
    (folder / "m").mkdir()
    _config(folder / "m")
    _safetensors(folder / "m" / "model.safetensors", _head(), dtype_of=["F32"])
    return Setup(["inspect", "m"], str(folder), expect=_has("RM001", "dtype"))


def _config_value(**values):
    def build(folder):
        (folder / "m").mkdir()
        _safetensors(folder / "m" / "model.safetensors", _head(32))
        _config(folder / "m", **{"hidden_size": 32, **values})
        return Setup(["inspect", "m"], str(folder))
    return build


def adapter_auto_mapping(folder):
    (folder / "a").mkdir()
    (folder / "a" / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "target_modules": ["q"], "r": 8, "auto_mapping": [1, 2]}))
    _safetensors(folder / "a" / "adapter_model.safetensors", _head())
    return Setup(["inspect", "a"], str(folder))


def hf_snapshot_loop(folder):
    entry = _hf_cache(folder)
    snapshot = entry / "snapshots" / "0123abcd"
    for child in snapshot.iterdir():
        child.unlink()
    snapshot.rmdir()
    snapshot.symlink_to("0123abcd")
    return Setup(["check", "serve.sh"], str(folder), env={"HF_HUB_CACHE": str(folder / "hub")})


def _hf_outside(ref_of):
    def build(folder):
        outside = folder / "outside"
        outside.mkdir()
        _config(outside)
        _safetensors(outside / "model.safetensors", {"value_head.weight": ("F32", [1, 8], b"\0" * 32)})
        entry = _hf_cache(folder, ref=ref_of(folder))
        return Setup(["check", "serve.sh"], str(folder), env={"HF_HUB_CACHE": str(folder / "hub")},
                     expect=_lacks("RM615", "all zeros"))
    return build


def hf_snapshot_symlink_outside(folder):
    secret = folder / "secret.safetensors"
    secret.write_bytes(b"SECRET=hunter2 and more text of the secret file")
    entry = _hf_cache(folder)
    target = entry / "snapshots" / "0123abcd" / "model.safetensors"
    target.unlink()
    target.symlink_to(secret)
    return Setup(["check", "serve.sh"], str(folder), env={"HF_HUB_CACHE": str(folder / "hub")},
                 expect=_secret_hidden(b"SECRET=h"))


def weight_symlink_secret(folder):
    secret = folder / "secret.txt"
    secret.write_bytes(b"SECRET=hunter2 and more text of the secret file")
    (folder / "m").mkdir()
    (folder / "m" / "model.safetensors").symlink_to(secret)
    return Setup(["inspect", "m"], str(folder), expect=_secret_hidden(b"SECRET=h"))


def yaml_stage_list(folder):
    (folder / "notes.yaml").write_text("stage: [rm]\nfinetuning_type: lora\n")
    return Setup(["check", "notes.yaml"], str(folder))


def cel_budget(folder):
    (folder / "pyproject.toml").write_text('[tool.rmlint]\nrule-packs = ["lint"]\n')
    (folder / "lint").mkdir()
    ten = "[" + ",".join(map(str, range(10))) + "]"
    when = "true"
    for var in "abcdef":
        when = f"{ten}.all({var}, {when})"
    (folder / "lint" / "RM901-slow.yaml").write_text(RULE_PACK.format(when=json.dumps(when)))
    (folder / "ds.json").write_text('{"train_batch_size": 8, "zero_optimization": {"stage": 2}}')
    return Setup(["check", "ds.json"], str(folder), expect=_has("RM901"))


def cel_runtime_error(folder):
    (folder / "pyproject.toml").write_text('[tool.rmlint]\nrule-packs = ["lint"]\n')
    (folder / "lint").mkdir()
    (folder / "lint" / "RM901-slow.yaml").write_text(RULE_PACK.format(when=json.dumps("ds.train_batch_size / 0 == 1")))
    (folder / "ds.json").write_text('{"train_batch_size": 8, "zero_optimization": {"stage": 2}}')
    return Setup(["check", "ds.json"], str(folder), expect=_has("RM901"))


RULE_PACK = """id: RM901
name: slow
severity: warning
scope: [deepspeed]
summary: A slow team rule
when: {when}
message: slow
why: Because.
fix: Nothing.
references: [https://example.org]
examples:
  bad: [{{deepspeed: {{train_batch_size: 8}}}}]
  good: [{{deepspeed: {{train_batch_size: 8}}}}]
"""


def cache_unexpected_keys(folder):
    cache = folder / "cache"
    cache.mkdir()
    (folder / "ds.json").write_text('{"train_batch_size": 8, "fp16": {"enabled": true}, "bf16": {"enabled": true}}')
    return Setup(["check", "ds.json"], str(folder), env={"RMLINT_CACHE_DIR": str(cache), "HOSTILE_CACHE": "keys"},
                 expect=_has("RM101"))


def cache_edited_severity(folder):
    setup = cache_unexpected_keys(folder)
    setup.env["HOSTILE_CACHE"] = "severity"
    setup.expect = _has("error RM101")
    return setup


def cache_edited_writable(folder):
    setup = cache_edited_severity(folder)
    setup.env["HOSTILE_CACHE"] = "severity+writable"
    return setup


def run_empty_command(folder):
    return Setup(["run", "--", ""], str(folder))


def _fixable(path: Path, size=0):
    """A DeepSpeed config with a misspelled key --fix renames; padded to `size` bytes."""
    text = '{"train_batch_size": 8, "zero_optimization": {"stage": 3, "overlap_com": true}'
    pad = f', "pad": "{"x" * size}"' if size else ""
    path.write_text(text + pad + "}\n")


def fix_read_only(folder):
    (folder / "d").mkdir()
    _fixable(folder / "d" / "a.json")
    _fixable(folder / "d" / "b.json")
    os.chmod(folder / "d" / "a.json", 0o444)
    return Setup(["check", "--fix", "d"], str(folder), as_nobody=True,
                 expect=_all(_has("d/a.json", "RM030"), lambda run: None if '"overlap_comm"' in
                             (run.folder / "d" / "b.json").read_text() else "b.json was not fixed"))


def fix_disk_full(folder):
    _fixable(folder / "ds.json", 2_400_000)
    before = (folder / "ds.json").read_bytes()
    return Setup(["check", "--fix", "ds.json"], str(folder), file_limit=100_000,
                 expect=_all(_has("RM030"), lambda run: None if (run.folder / "ds.json").read_bytes() == before
                             else "the file changed"))


def fix_through_symlink(folder):
    (folder / "outside").mkdir()
    _fixable(folder / "outside" / "ds.json")
    before = (folder / "outside" / "ds.json").read_bytes()
    (folder / "repo").mkdir()
    (folder / "repo" / "ds.json").symlink_to(folder / "outside" / "ds.json")
    return Setup(["check", "--fix", "repo"], str(folder),
                 expect=lambda run: None if (run.folder / "outside" / "ds.json").read_bytes() == before
                 else "the file outside the checked folder was rewritten")


def fix_parent_deepspeed(folder):
    _fixable(folder / "ds_config.json")
    before = (folder / "ds_config.json").read_bytes()
    (folder / ".git").mkdir()           # the repository's root: configs are found up to it
    (folder / "repo").mkdir()
    (folder / "repo" / "train.yaml").write_text(
        "model_name_or_path: m\nstage: rm\ndo_train: true\nfinetuning_type: full\ndeepspeed: ds_config.json\n")
    return Setup(["check", "--fix", "."], str(folder / "repo"),
                 expect=_all(_has("RM030"), lambda run: None if (run.folder / "ds_config.json").read_bytes() == before
                             else "the DeepSpeed file above the checked folder was rewritten"))


def fix_keeps_bom(folder):
    _fixable(folder / "ds.json")
    (folder / "ds.json").write_bytes(b"\xef\xbb\xbf" + (folder / "ds.json").read_bytes())
    return Setup(["check", "--fix", "ds.json"], str(folder),
                 expect=lambda run: None if (run.folder / "ds.json").read_bytes().startswith(b"\xef\xbb\xbf{")
                 and b"overlap_comm" in (run.folder / "ds.json").read_bytes() else "BOM dropped or not fixed")


def escapes_in_output(folder):
    name = "evil\x1b]0;pwned\x07.json"
    (folder / name).write_text('{"train_batch_size": 8, "zero_optimization": {"stage": 2, "\\u001b[2Jkey": 1}}')
    return Setup(["check", name], str(folder), expect=lambda run: "raw escape in output"
                 if "\x1b" in run.stdout + run.stderr else None)


def big_shard_index(folder):
    (folder / "m").mkdir()
    _config(folder / "m")
    _safetensors(folder / "m" / "model-00001-of-00001.safetensors", _head())
    weight_map = {f"model.layers.{i}.mlp.experts.{j}.w{k}.weight": "model-00001-of-00001.safetensors"
                  for i in range(100) for j in range(256) for k in range(3)}
    weight_map.update({"value_head.weight": "model-00001-of-00001.safetensors"})
    (folder / "m" / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return Setup(["inspect", "m"], str(folder), expect=_lacks("RM001"))


def storage_offset_outside(folder):
    return _crafted(offset=1000)(folder)


def negative_shape(folder):
    return _crafted(size=(-1, 8))(folder)


CASES = {
    "fifo in a folder walk": fifo_in_walk,
    "fifo named": fifo_named,
    "fifo as config.json": _model_with_fifo("config.json"),
    "fifo as model.safetensors": _model_with_fifo("model.safetensors"),
    "fifo as pytorch_model.bin": _model_with_fifo("pytorch_model.bin"),
    "fifo as DeepSpeed latest": _model_with_fifo("latest"),
    "fifo as HF refs/main": fifo_hf_ref,
    "fifo as rule-pack file": fifo_rule_pack,
    "shell a# x 1.5M": shell_a_hash,
    "shell A=1 x 20000": shell_assignments,
    "shell doubling variables": shell_doubling,
    "10,000 suppression lines": suppressions,
    "stdin from /dev/zero": stdin_zero,
    "pytorch_model.bin -> /dev/zero": bin_dev_zero,
    "64 MiB BF16 head": big_bf16_head,
    "adapter with negative shape, 1.5 GiB member": adapter_negative_shape,
    "zip member size lies": zip_size_lies,
    "zip encrypted flag": zip_encrypted,
    "zip compression method 99": zip_method_99,
    "pickle: wrong storage type": _crafted(storage=5),
    "pickle: bad dtype": _crafted(storage="NoSuchStorage"),
    "pickle: size as a string": _crafted(size="18"),
    "pickle: offset as a list": _crafted(offset=[1, 2]),
    "pickle: storage offset outside": storage_offset_outside,
    "pickle: negative shape": negative_shape,
    "safetensors dtype as list": safetensors_dtype_list,
    "config architectures: 5": _config_value(architectures=5),
    "config hidden_size: -1": _config_value(hidden_size=-1),
    "config hidden_size: -2**63": _config_value(hidden_size=-2 ** 63),
    "config bnb_4bit_quant_type: 4": _config_value(quantization_config={"load_in_4bit": True, "bnb_4bit_quant_type": 4}),
    "adapter auto_mapping: [1, 2]": adapter_auto_mapping,
    "HF snapshot symlink loop": hf_snapshot_loop,
    "HF refs/main ../outside": _hf_outside(lambda folder: "../../../outside"),
    "HF refs/main absolute": _hf_outside(lambda folder: str(folder / "outside")),
    "HF snapshot file -> outside": hf_snapshot_symlink_outside,
    "weight symlink to a secret": weight_symlink_secret,
    "YAML stage: [rm]": yaml_stage_list,
    "CEL iteration budget in a rule pack": cel_budget,
    "CEL runtime error in a rule pack": cel_runtime_error,
    "catalog cache with unexpected keys": cache_unexpected_keys,
    "catalog cache with edited severity": cache_edited_severity,
    "catalog cache re-sealed, writable by others": cache_edited_writable,
    "run -- ''": run_empty_command,
    "--fix on a read-only file (nobody)": fix_read_only,
    "--fix on a full disk": fix_disk_full,
    "--fix through a symlink outside": fix_through_symlink,
    "--fix of a DeepSpeed file above the folder": fix_parent_deepspeed,
    "--fix keeps a BOM": fix_keeps_bom,
    "escape sequences in names and keys": escapes_in_output,
    "shard index of 76,800 keys (5 MB)": big_shard_index,
    **SOURCE_CASES,
}
SHELL_CASES = {"shell a# x 1.5M", "shell A=1 x 20000", "shell doubling variables"}


# -- running one case -------------------------------------------------------------------------

def _edit_cache(cache: Path, how: str):
    """Edit what the catalog cache holds: `keys` adds a field to every rule, `severity` makes RM101 an
    info; by hand (the checksum no longer matches), or with `+writable` re-sealed in a file that group
    and others may write. Either way rmlint must not use it."""
    import marshal
    import zlib
    for path in cache.glob("catalog-*.bin"):
        data = path.read_bytes()
        head = data.index(b"\n") + 1 + 4
        key, entries = marshal.loads(data[head:])
        for entry in entries:
            if how.startswith("keys"):
                entry["fields"]["surprise"] = 1
            elif entry["file"].startswith("RM101"):
                entry["fields"]["severity"], entry["fields"]["message"] = "info", "edited"
        payload = marshal.dumps((key, entries))
        crc = zlib.crc32(payload) if how.endswith("+writable") else zlib.crc32(data[head:])
        path.write_bytes(data[:head - 4] + crc.to_bytes(4, "big") + payload)
        if how.endswith("+writable"):
            path.chmod(0o666)


def _limits(memory_bytes: int, file_limit: int):
    def apply():
        import resource
        import signal
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        if file_limit:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails (EFBIG), as on a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
    return apply


def run_case(build, folder: Path, checkout: str, python: str, memory_mb: int = 1024, scale: float = 1.0) -> tuple:
    """(Setup, Run) of one case built in `folder`, run with `checkout` first on PYTHONPATH."""
    import subprocess
    import time
    setup = build(folder)
    _world(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_", "RMLINT_", "PYTEST"))}
    env.update({"PYTHONPATH": checkout, "HF_HUB_CACHE": str(folder / "no-hf-cache"),
                "RMLINT_CACHE_DIR": str(folder / ".cache"), "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1", **setup.env})
    edit = env.pop("HOSTILE_CACHE", None)
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] \
        if setup.as_nobody and os.geteuid() == 0 else []
    command = [*prefix, python, "-m", "rmlint", *setup.argv]
    if edit:
        subprocess.run(command, cwd=setup.cwd, env=env, capture_output=True, timeout=60)
        _edit_cache(Path(env["RMLINT_CACHE_DIR"]), edit)
    out, err = folder / ".stdout", folder / ".stderr"
    with open(out, "wb") as stdout, open(err, "wb") as stderr, \
            open(setup.stdin or os.devnull, "rb") as stdin:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=setup.cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr,
                                   preexec_fn=_limits(memory_mb * 1024 * 1024, setup.file_limit), start_new_session=True)
        limit = setup.seconds * scale
        code, usage = None, None
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - started > limit:
                os.killpg(process.pid, 9)
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - started
        process.returncode = code if code is not None else -9
    peak = usage.ru_maxrss / 1024 if usage else 0.0
    return setup, Run(code, out.read_text(errors="replace"), err.read_text(errors="replace"), seconds, peak, folder)


def verdict(setup: Setup, run: Run) -> str:
    """ok | hang | memory | traceback | crash | wrong: <why>."""
    text = run.stdout + run.stderr
    if run.code is None:
        return "hang"
    if "MemoryError" in text:
        return "memory"
    if "Traceback" in text:
        return "traceback"
    if run.code not in (0, 1, 2):
        return f"crash (exit {run.code})"
    complaint = setup.expect(run) if setup.expect else None
    return f"wrong: {complaint}" if complaint else "ok"

"""Pickles that would run code, written opcode by opcode (never pickled from live objects, never
unpickled by the test): rmlint refuses each one with RM001 and runs nothing, through every pickle
protocol (0-5) and every opcode family that can reach a callable (GLOBAL, STACK_GLOBAL, INST, OBJ,
REDUCE, BUILD, NEWOBJ, NEWOBJ_EX, EXT1/EXT2/EXT4 through copyreg's extension registry), and the real
torch.load(weights_only=True) refuses the same bytes."""

import copyreg
import io
import pickle
import pickletools
import struct
import zipfile

import pytest

from conftest import cli

pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol")

# Globals that run code or reach something that does, as (module, name, arguments).
TARGETS = [
    ("builtins", "eval", ["open({marker!r}, 'w')"]),
    ("builtins", "exec", ["open({marker!r}, 'w')"]),
    ("builtins", "getattr", ["{marker}", "upper"]),
    ("builtins", "__import__", ["os"]),
    ("builtins", "open", ["{marker}", "w"]),
    ("builtins", "compile", ["1", "f", "eval"]),
    ("__builtin__", "eval", ["open({marker!r}, 'w')"]),       # the Python 2 name pickle maps to builtins
    ("os", "system", ["touch {marker}"]),
    ("posix", "system", ["touch {marker}"]),
    ("subprocess", "Popen", ["touch {marker}"]),
    ("subprocess", "check_output", ["touch {marker}"]),
    ("subprocess", "run", ["touch {marker}"]),
    ("subprocess", "getoutput", ["touch {marker}"]),
    ("collections", "OrderedDict.fromkeys", ["ab"]),         # an attribute path under an allowed global
    ("torch._utils", "_rebuild_tensor_v2.__globals__", []),
    ("torch", "FloatStorage.__class__", []),
]

PROTO = {op.name: op.proto for op in pickletools.opcodes}
EXTENSION_CODES = {"EXT1": 0xF1, "EXT2": 0x1F1, "EXT4": 0x1001F1}


def _string(text: str, protocol: int) -> bytes:
    data = text.encode("utf-8")
    if protocol >= 4:
        return b"\x8c" + bytes([len(data)]) + data                      # SHORT_BINUNICODE
    if protocol >= 1:
        return b"X" + struct.pack("<I", len(data)) + data               # BINUNICODE
    return b"V" + text.encode("raw-unicode-escape") + b"\n"             # UNICODE


def _global(module: str, name: str, family: str, protocol: int) -> bytes:
    """Push the global: by GLOBAL, by STACK_GLOBAL, or by an EXT code registered for it."""
    if family == "STACK_GLOBAL":
        return _string(module, protocol) + _string(name, protocol) + b"\x93"
    if family in EXTENSION_CODES:
        code = EXTENSION_CODES[family]
        opcode, size = {"EXT1": (b"\x82", "<B"), "EXT2": (b"\x83", "<H"), "EXT4": (b"\x84", "<i")}[family]
        return opcode + struct.pack(size, code)
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _call(module: str, name: str, args: list, family: str, protocol: int) -> bytes:
    """Opcodes that leave the global's call (or its use) on the stack."""
    strings = b"".join(_string(a, protocol) for a in args)
    if family == "INST":
        return b"(" + strings + b"i" + module.encode() + b"\n" + name.encode() + b"\n"
    if family == "OBJ":
        return b"(" + _global(module, name, "GLOBAL", protocol) + strings + b"o"
    push = _global(module, name, "GLOBAL" if family in ("REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX") else family,
                   protocol)
    arguments = b"(" + strings + b"t"
    if family == "NEWOBJ":
        return push + arguments + b"\x81"
    if family == "NEWOBJ_EX":
        return push + arguments + b"}" + b"\x92"
    if family == "BUILD":   # an allowed state dict whose state holds the global
        state = b"}" + _string("x", protocol) + push + b"s"
        return b"ccollections\nOrderedDict\n)R" + state + b"b"
    return push + arguments + b"R"   # REDUCE, also after STACK_GLOBAL and EXT*


FAMILIES = ["GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "BUILD", "NEWOBJ", "NEWOBJ_EX",
            "EXT1", "EXT2", "EXT4"]
OPCODE = {"GLOBAL": "GLOBAL", "STACK_GLOBAL": "STACK_GLOBAL", "INST": "INST", "OBJ": "OBJ", "REDUCE": "REDUCE",
          "BUILD": "BUILD", "NEWOBJ": "NEWOBJ", "NEWOBJ_EX": "NEWOBJ_EX", "EXT1": "EXT1", "EXT2": "EXT2",
          "EXT4": "EXT4"}


def hostile_pickle(module: str, name: str, args: list, family: str, protocol: int) -> bytes:
    """{"value_head.weight": <the call>} in the given protocol, opcode by opcode."""
    header = b"\x80" + bytes([protocol]) if protocol >= 2 else b""
    key = _string("value_head.weight", protocol)
    return header + b"(" + key + _call(module, name, args, family, protocol) + b"d."


CASES = [(module, name, args, family, protocol)
         for module, name, args in TARGETS for family in FAMILIES for protocol in range(6)
         if PROTO[OPCODE[family]] <= protocol]


def torch_zip(path, data_pkl: bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/version", b"3\n")
        archive.writestr("archive/byteorder", b"little")


@pytest.fixture
def extensions():
    """The EXT codes registered for a global, as copyreg.add_extension does; removed afterwards."""
    added = []

    def register(module, name, family):   # one at a time: a code names one global
        while added:
            copyreg.remove_extension(*added.pop())
        copyreg.add_extension(module, name, EXTENSION_CODES[family])
        added.append((module, name, EXTENSION_CODES[family]))
    yield register
    while added:
        copyreg.remove_extension(*added.pop())


def test_the_cases_cover_every_protocol_and_family():
    assert {protocol for *_, protocol in CASES} == set(range(6))
    assert {family for _, _, _, family, _ in CASES} == set(FAMILIES)
    assert len(CASES) == len(TARGETS) * sum(6 - PROTO[OPCODE[f]] for f in FAMILIES)


@pytest.mark.parametrize("module,name,args,family,protocol", CASES,
                         ids=[f"{m}.{n}-{f}-p{p}" for m, n, _, f, p in CASES])
def test_a_pickle_reaching_code_is_refused_and_never_run(tmp_path, extensions, module, name, args, family,
                                                         protocol):
    marker = tmp_path / "was-executed"
    data = hostile_pickle(module, name, [a.format(marker=str(marker)) for a in args], family, protocol)
    assert any(op.name == OPCODE[family] for op, _, _ in pickletools.genops(data))   # the family is really used
    if family in EXTENSION_CODES:
        extensions(module, name, family)
    folder = tmp_path / "rm"
    folder.mkdir()
    torch_zip(folder / "pytorch_model.bin", data)
    result = cli("inspect", str(folder))
    assert result.exit_code == 1
    assert (f"{folder}/pytorch_model.bin: error RM001 pickle refused, nothing was run: global {module}.{name} "
            "is not allowed") in result.output
    assert not marker.exists()


@pytest.mark.parametrize("family", FAMILIES)
def test_torch_weights_only_refuses_them_too(tmp_path, family):
    """The real torch.load(weights_only=True) on the same files: refused, nothing run."""
    import torch
    marker = tmp_path / "was-executed"
    for module, name, args in TARGETS:
        path = tmp_path / f"{module}.{name}.bin"
        torch_zip(path, hostile_pickle(module, name, [a.format(marker=str(marker)) for a in args], family,
                                       max(2, PROTO[OPCODE[family]])))
        codes = [EXTENSION_CODES[family]] if family in EXTENSION_CODES else []
        for code in codes:
            copyreg.add_extension(module, name, code)
        try:
            with pytest.raises(pickle.UnpicklingError):
                torch.load(path, weights_only=True)
        finally:
            for code in codes:
                copyreg.remove_extension(module, name, code)
    assert not marker.exists()


class _Recorder:
    """What a global would have been called with, had it been the real one (the pickle is live)."""
    calls = []

    def __new__(cls, *args, **kwargs):
        cls.calls.append(args)
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass


@pytest.mark.parametrize("family", FAMILIES)
def test_the_hostile_pickles_would_really_reach_their_global(extensions, family):
    """Read by an Unpickler that hands out a recorder for every global: each pickle asks for its global
    and (but for BUILD, which stores it) calls it with the arguments, so the refusals above are not
    refusals of broken bytes."""
    asked = []

    class Recording(pickle.Unpickler):
        def find_class(self, module, name):
            asked.append((module, name))
            return _Recorder

    for module, name, args in TARGETS[:8]:
        if family in EXTENSION_CODES:
            extensions(module, name, family)
        asked.clear()
        _Recorder.calls = []
        data = hostile_pickle(module, name, list(args), family, max(2, PROTO[OPCODE[family]]))
        result = Recording(io.BytesIO(data)).load()
        assert (module, name) in asked and set(result) == {"value_head.weight"}
        if family != "BUILD":
            assert tuple(args) in _Recorder.calls


# Every global rmlint's unpickler admits, exactly: anything added here is a decision to review.
ADMITTED = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state"} | {
    f"torch.{kind}Storage" for kind in ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char",
                                        "Byte", "Bool", "ComplexFloat")} | {
    # float8 and float4 tensors, as torch.save writes them (test_float8_checkpoints.py)
    "torch._utils._rebuild_tensor_v3", "torch.storage.UntypedStorage", "torch.float8_e4m3fn", "torch.float8_e4m3fnuz",
    "torch.float8_e5m2", "torch.float8_e5m2fnuz", "torch.float8_e8m0fnu", "torch.float4_e2m1fn_x2"}


def _admits(tmp_path, dotted: str) -> bool:
    module, name = dotted.rsplit(".", 1)
    folder = tmp_path / dotted
    folder.mkdir()
    torch_zip(folder / "pytorch_model.bin", b"\x80\x02}" + _string("x", 2) + b"c" + module.encode() + b"\n"
              + name.encode() + b"\ns.")
    return f"global {dotted} is not allowed" not in cli("inspect", str(folder)).output


def test_the_allowlist_is_exactly_the_state_dict_globals(tmp_path):
    from rmlint.frameworks.checkpoint.torch_pickle import _ALLOWED, STORAGE_DTYPES
    assert {f"{m}.{n}" for m, n in _ALLOWED} | {f"torch.{n}" for n in STORAGE_DTYPES} == ADMITTED
    near = {"builtins.eval", "collections.defaultdict", "torch.Tensor", "torch.nn.Parameter",
            "torch._utils._rebuild_qtensor", "torch.UntypedStorage", "torch.uint16", "torch.float32",
            "torch.Float8_e4m3fnStorage", "torch.Float8_e5m2Storage"}   # no such class in torch
    assert {g for g in ADMITTED | near if _admits(tmp_path, g)} == ADMITTED


def test_torch_weights_only_admits_every_global_rmlint_admits():
    """torch's own allowlist (torch.load(weights_only=True)) holds each global rmlint admits. (rmlint once
    admitted torch.Float8_e4m3fnStorage and torch.Float8_e5m2Storage, which torch neither has nor writes:
    float8 tensors are saved through _rebuild_tensor_v3 and an UntypedStorage.)"""
    import torch
    from torch._weights_only_unpickler import _get_allowed_globals
    assert ADMITTED <= set(_get_allowed_globals())
    assert not hasattr(torch, "Float8_e4m3fnStorage") and not hasattr(torch, "Float8_e5m2Storage")


BUILD_ON_A_GLOBAL = {
    # slot state {"items": 0} set on the OrderedDict class itself: every later state dict would break
    "collections.OrderedDict": b"\x80\x02ccollections\nOrderedDict\nN}X\x05\x00\x00\x00itemsK\x00s\x86b0}.",
    # {"__defaults__": (...)} set on the tensor rebuild function shared by every later file
    "torch._utils._rebuild_tensor_v2": b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nN}X\x0c\x00\x00\x00__defaults__"
                                       b"K\x01\x85s\x86b0}.",
}


@pytest.mark.parametrize("dotted", sorted(BUILD_ON_A_GLOBAL))
def test_build_on_an_allowed_global_is_refused_and_later_files_read_the_same(tmp_path, dotted):
    import torch
    clean = tmp_path / "clean"
    clean.mkdir()
    torch.save(torch.nn.Linear(4, 1).state_dict(), clean / "pytorch_model.bin")   # an OrderedDict
    before = cli("inspect", str(clean)).output
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    torch_zip(hostile / "pytorch_model.bin", BUILD_ON_A_GLOBAL[dotted])
    result = cli("inspect", str(hostile))
    assert (f"{hostile}/pytorch_model.bin: error RM001 pickle refused, nothing was run: BUILD on the global "
            f"{dotted} is not allowed") in result.output
    with pytest.raises(pickle.UnpicklingError):
        torch.load(hostile / "pytorch_model.bin", weights_only=True)
    assert cli("inspect", str(clean)).output == before

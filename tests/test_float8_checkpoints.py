"""float8 and float4 checkpoints, built with the real torch and safetensors: torch.save writes these dtypes as an
UntypedStorage rebuilt by torch._utils._rebuild_tensor_v3 with the dtype as a global (torch/storage.py
_new_dtypes); rmlint reads them as torch.load(weights_only=True) and safe_open do, with the dtype, shape and
bytes safetensors gives the same tensor, and refuses what torch refuses (the legacy format)."""

import zipfile

import pytest

torch = pytest.importorskip("torch")
from safetensors import safe_open                    # noqa: E402
from safetensors.torch import save_file              # noqa: E402

from conftest import cli                             # noqa: E402
from rmlint.frameworks.checkpoint.safetensors_file import read_header   # noqa: E402
from rmlint.frameworks.checkpoint.tensors import read_bytes             # noqa: E402
from rmlint.frameworks.checkpoint.torch_zip import read_index           # noqa: E402

# every dtype torch 2.13 saves through _rebuild_tensor_v3 that safetensors also stores
DTYPES = ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2"]


def tensor(name: str):
    dtype = getattr(torch, name)
    if name.startswith("float4"):   # no conversion to float4: its bytes, viewed (each byte two 4-bit values)
        return torch.arange(12, dtype=torch.uint8).reshape(3, 4).view(dtype)
    return (torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4).to(dtype)


def raw(value) -> bytes:
    return value.contiguous().view(torch.uint8).numpy().tobytes()


def both_formats(tmp_path, name: str) -> tuple:
    weights = {"w": tensor(name), "value_head.weight": torch.ones(1, 4, dtype=torch.bfloat16)}
    torch.save(weights, tmp_path / "pytorch_model.bin")
    save_file(weights, tmp_path / "model.safetensors")
    return weights, tmp_path / "pytorch_model.bin", tmp_path / "model.safetensors"


@pytest.mark.parametrize("name", DTYPES)
def test_rmlint_reads_what_torch_and_safetensors_write(tmp_path, name):
    weights, bin_path, st_path = both_formats(tmp_path, name)
    loaded = torch.load(bin_path, weights_only=True)["w"]                 # torch reads its own file
    assert loaded.dtype == weights["w"].dtype and raw(loaded) == raw(weights["w"])
    with safe_open(str(st_path), framework="pt") as handle:               # and safetensors its own
        assert raw(handle.get_tensor("w")) == raw(weights["w"])
    header = {t.name: t for t in read_header(str(st_path))[1]}["w"]
    from_bin = {t.name: t for t in read_index(str(bin_path))}["w"]
    assert (from_bin.dtype, from_bin.shape, from_bin.nbytes) == (header.dtype, header.shape, header.nbytes)
    assert read_bytes(from_bin, 1024) == read_bytes(header, 1024) == raw(weights["w"])


def test_dtype_names_and_shapes_are_safetensors_own(tmp_path):
    """The names safetensors writes in its header: a float4 pair is two F4 values, so [3, 4] pairs is [3, 8]."""
    seen = {}
    for name in DTYPES:
        folder = tmp_path / name
        folder.mkdir()
        _, bin_path, _ = both_formats(folder, name)
        found = {t.name: t for t in read_index(str(bin_path))}["w"]
        seen[name] = (found.dtype, found.shape, found.nbytes)
    assert seen == {"float8_e4m3fn": ("F8_E4M3", (3, 4), 12), "float8_e4m3fnuz": ("F8_E4M3FNUZ", (3, 4), 12),
                    "float8_e5m2": ("F8_E5M2", (3, 4), 12), "float8_e5m2fnuz": ("F8_E5M2FNUZ", (3, 4), 12),
                    "float8_e8m0fnu": ("F8_E8M0", (3, 4), 12), "float4_e2m1fn_x2": ("F4", (3, 8), 12)}


def test_a_view_into_a_float8_storage_reads_its_own_bytes(tmp_path):
    """torch.save keeps the whole storage of a view and its offset into it, in float8 elements."""
    whole = tensor("float8_e4m3fn")
    torch.save({"rows": whole[1:]}, tmp_path / "view.bin")
    assert raw(torch.load(tmp_path / "view.bin", weights_only=True)["rows"]) == raw(whole[1:])
    (rows,) = read_index(str(tmp_path / "view.bin"))
    assert (rows.dtype, rows.shape, rows.nbytes) == ("F8_E4M3", (2, 4), 8)
    assert read_bytes(rows, 1024) == raw(whole[1:])


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float4_e2m1fn_x2"])
def test_inspect_gives_no_unreadable_input_on_a_float8_checkpoint(tmp_path, name):
    both_formats(tmp_path, name)
    (tmp_path / "model.safetensors").unlink()
    result = cli("inspect", str(tmp_path / "pytorch_model.bin"))
    assert "RM001" not in result.output
    assert "  format        pytorch_model.bin (torch.save), 2 tensors," in result.output


def test_the_legacy_format_is_refused_as_torch_refuses_it(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    torch.save({"w": tensor("float8_e5m2")}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(AttributeError, match="UntypedStorage"):
        torch.load(path, weights_only=True)
    result = cli("inspect", str(path))
    assert result.exit_code == 1
    assert (f"{path}: error RM001 state dict pickle refused, nothing was run: an untyped storage (a float8 or "
            "float4 tensor) in the legacy format, which torch.load cannot read either  [unreadable-input]"
            ) in result.output


def _rewritten(tmp_path, old: bytes, new: bytes):
    """A torch.save float8 file whose data.pkl has `old` replaced by `new` (pickle's GLOBAL opcode is text)."""
    source = tmp_path / "source.bin"
    torch.save({"w": tensor("float8_e4m3fn")}, source)
    target = tmp_path / "pytorch_model.bin"
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename.endswith("data.pkl"):
                assert old in data
                data = data.replace(old, new)
            out.writestr(info.filename, data)
    return target


@pytest.mark.parametrize("old,new,why", [
    (b"ctorch.storage\nUntypedStorage\n", b"ctorch\nByteStorage\n",
     "_rebuild_tensor_v3 with a typed storage, or _rebuild_tensor_v2 with an untyped one: torch.save writes neither"),
    (b"ctorch._utils\n_rebuild_tensor_v3\n", b"ctorch._utils\n_rebuild_tensor_v2\n",
     "_rebuild_tensor_v3 with a typed storage, or _rebuild_tensor_v2 with an untyped one: torch.save writes neither"),
    (b"ctorch\nfloat8_e4m3fn\n", b"K\x05", "_rebuild_tensor_v3 without a float8 or float4 dtype"),
])
def test_a_rebuild_torch_save_never_writes_is_refused(tmp_path, old, new, why):
    path = _rewritten(tmp_path, old, new)
    result = cli("inspect", str(path))
    assert result.exit_code == 1
    assert f"{path}: error RM001 tensor `w` in data.pkl: {why}; refused  [unreadable-input]" in result.output


def test_a_dtype_global_outside_float8_and_float4_is_refused(tmp_path):
    path = _rewritten(tmp_path, b"ctorch\nfloat8_e4m3fn\n", b"ctorch\nuint16\n")
    assert "global torch.uint16 is not allowed" in cli("inspect", str(path)).output

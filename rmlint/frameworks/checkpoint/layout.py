"""What a checkpoint path is (full weights, shards, adapter, DeepSpeed folder) and its tensors,
read from headers and pickles' tensor descriptions only."""

import os
import re
from dataclasses import dataclass, field

from .tensors import CheckpointError

ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")   # PEFT loads safetensors first
FULL_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
VALUE_HEAD_FILES = ("value_head.safetensors", "value_head.bin")       # LLaMA-Factory
_MODEL_STATES = re.compile(r"^(zero_pp_rank_(\d+)_)?mp_rank_(\d+)_model_states\.pt$")
_OPTIM_STATES = re.compile(r"^(bf16_|fp16_)?zero_pp_rank_(\d+)_mp_rank_\d+_optim_states\.pt$")


@dataclass
class Checkpoint:
    path: str
    format: str = "none"        # safetensors | safetensors-sharded | pytorch-bin | pytorch-bin-sharded |
                                # peft-adapter | deepspeed | none
    tensors: list = field(default_factory=list)      # [Tensor], every weight file together
    files: list = field(default_factory=list)        # weight files read
    config: object = None       # Document of config.json
    adapter: object = None      # Document of adapter_config.json
    head_files: list = field(default_factory=list)   # value_head.safetensors & co. beside an adapter
    index: str = ""
    missing_shards: dict = field(default_factory=dict)   # shard file -> keys the index maps to it
    misplaced: list = field(default_factory=list)        # index/shard disagreements: {tensor, form, indexed, held, also}
    deepspeed: dict = field(default_factory=dict)        # {"tag", "stage", "ranks"} of a ZeRO folder
    errors: list = field(default_factory=list)           # [CheckpointError]
    size: int = 0
    within: str | None = None   # files are read only inside this folder (symlinks to elsewhere refused)


MAX_INDEX = 64 * 1024 * 1024   # shard indexes of the largest public MoE checkpoints are ~10 MB


def _sidecar(path: str) -> str:
    """The header sidecar of a weight file read from the Hub (hub_remote), "" for a file on disk."""
    from .tensors import HEADER_SUFFIX
    return path + HEADER_SUFFIX if not os.path.lexists(path) and os.path.isfile(path + HEADER_SUFFIX) else ""


def _size(path: str) -> int:
    sidecar = _sidecar(path)
    if not sidecar:
        return os.stat(path).st_size
    from ...sources.files import open_input
    with open_input(sidecar) as (handle, _):
        return int.from_bytes(handle.read(8), "little")


def _names(folder: str) -> set:
    from .tensors import HEADER_SUFFIX
    return {n[: -len(HEADER_SUFFIX)] if n.endswith(HEADER_SUFFIX) else n for n in os.listdir(folder)}


def read_weights(path: str, within: str | None = None) -> tuple:
    """(metadata, [Tensor]) of one weight file, by its format."""
    if path.endswith(".safetensors"):
        from .safetensors_file import read_header
        return read_header(path, within, _sidecar(path))
    from .torch_zip import read_index
    return {}, read_index(path, within)


def _json(path: str, within: str | None, index: bool = False):
    """A Document of config.json & co.; a shard index (large, read once) without key positions."""
    from ...finding import SourceError
    from ...sources.document import Document, load_json
    from ...sources.text import MAX_BYTES, decode, read_raw
    try:
        text = decode(read_raw(path, within, MAX_INDEX if index else MAX_BYTES), path)
        if index:
            import json
            try:
                return Document(path, json.loads(text)), None
            except (ValueError, RecursionError):
                pass   # load_json below says where it breaks
        return load_json(text, path), None
    except SourceError as err:   # the problem sources/ gives (kind, facts), worded by the rule that lists it
        kind, facts = err.problem
        return None, CheckpointError(kind, path, err.location.line, err.location.column, **facts)


def _add(checkpoint: Checkpoint, path: str, into: list | None = None):
    try:
        _, tensors = read_weights(path, checkpoint.within)
    except CheckpointError as err:
        checkpoint.errors.append(err)
        return []
    checkpoint.files.append(path)
    checkpoint.size += _size(path)
    (checkpoint.tensors if into is None else into).extend(tensors)
    return tensors


def inspect_path(path: str, within: str | None = None) -> Checkpoint:
    """`within`: where its files may be (a Hugging Face cache entry); the folder itself otherwise."""
    if not os.path.isdir(path):
        return _single_file(path)
    checkpoint = Checkpoint(path, within=within or os.path.realpath(path))
    names = _names(path)
    if "config.json" in names:
        checkpoint.config, error = _json(os.path.join(path, "config.json"), checkpoint.within)
        checkpoint.errors += [error] if error else []
    if "adapter_config.json" in names:
        _adapter(checkpoint, names)
    elif index := next((n for n in INDEXES if n in names), None):
        checkpoint.format = "safetensors-sharded" if index.startswith("model.") else "pytorch-bin-sharded"
        _sharded(checkpoint, os.path.join(path, index))
    elif weights := next((n for n in FULL_WEIGHTS if n in names), None):
        checkpoint.format = "safetensors" if weights.endswith(".safetensors") else "pytorch-bin"
        _add(checkpoint, os.path.join(path, weights))
    if checkpoint.format != "peft-adapter":   # LLaMA-Factory's full reward model keeps v_head beside the model
        extra = next((n for n in VALUE_HEAD_FILES if n in names), None)
        if extra:
            _add(checkpoint, os.path.join(path, extra), checkpoint.head_files)
    _deepspeed(checkpoint, names)
    if checkpoint.format == "none":   # loose weight files (variants such as model.fp16.safetensors)
        for name in sorted(n for n in names if n.endswith((".safetensors", ".bin"))):
            checkpoint.format = "safetensors" if name.endswith(".safetensors") else "pytorch-bin"
            _add(checkpoint, os.path.join(path, name))
    return checkpoint


def _single_file(path: str) -> Checkpoint:
    name = os.path.basename(path)
    folder = os.path.dirname(path) or "."
    if name in INDEXES or name in ("config.json", "adapter_config.json"):
        return inspect_path(folder)
    checkpoint = Checkpoint(path, "safetensors" if name.endswith(".safetensors") else "pytorch-bin")
    if os.path.lexists(os.path.join(folder, "config.json")):
        checkpoint.config, error = _json(os.path.join(folder, "config.json"), folder)
        checkpoint.errors += [error] if error else []
    _add(checkpoint, path)   # the file named is read wherever it is; what is beside it only inside its folder
    return checkpoint


def _adapter(checkpoint: Checkpoint, names: set):
    folder = checkpoint.path
    checkpoint.format = "peft-adapter"
    checkpoint.adapter, error = _json(os.path.join(folder, "adapter_config.json"), checkpoint.within)
    checkpoint.errors += [error] if error else []
    weights = next((n for n in ADAPTER_WEIGHTS if n in names), None)
    if weights:
        _add(checkpoint, os.path.join(folder, weights))
    else:
        checkpoint.errors.append(CheckpointError("adapter-weights-missing", os.path.join(folder, "adapter_config.json"),
                                                 expected=list(ADAPTER_WEIGHTS)))
    # LLaMA-Factory keeps the value head in value_head.*; TRL's PEFT save puts v_head.* in pytorch_model.bin
    for extra in (*VALUE_HEAD_FILES, "pytorch_model.bin"):
        if extra in names:
            _add(checkpoint, os.path.join(folder, extra), checkpoint.head_files)
            break


def _sharded(checkpoint: Checkpoint, index_path: str):
    checkpoint.index = index_path
    document, error = _json(index_path, checkpoint.within, index=True)
    weight_map = document.data.get("weight_map") if document and isinstance(document.data, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        checkpoint.errors.append(error or CheckpointError("index-without-weight-map", index_path))
        return
    by_shard = {}
    for key, shard in weight_map.items():
        by_shard.setdefault(shard, []).append(key)
    holder = {}
    for shard in sorted(by_shard):
        shard_path = os.path.join(checkpoint.path, shard)
        if os.sep in shard or "/" in shard or not (os.path.lexists(shard_path) or _sidecar(shard_path)):
            checkpoint.missing_shards[shard] = by_shard[shard]
            continue
        for tensor in _add(checkpoint, shard_path):
            if tensor.name in holder:
                checkpoint.misplaced.append({"tensor": tensor.name, "form": "twice", "indexed": "",
                                             "held": holder[tensor.name], "also": shard})
            holder[tensor.name] = shard
    for key, shard in weight_map.items():
        if shard in by_shard and shard not in checkpoint.missing_shards and holder.get(key) != shard:
            checkpoint.misplaced.append({"tensor": key, "form": "elsewhere" if key in holder else "nowhere",
                                         "indexed": shard, "held": holder.get(key, ""), "also": ""})
    for key, shard in holder.items():
        if key not in weight_map:
            checkpoint.misplaced.append({"tensor": key, "form": "unindexed", "indexed": "", "held": shard,
                                         "also": ""})


def _deepspeed(checkpoint: Checkpoint, names: set):
    """engine.save_checkpoint's layout (deepspeed/checkpoint/constants.py): `latest` names the tag folder."""
    tag = None
    if "latest" in names:
        from ...sources.files import read_input
        try:
            tag = read_input(os.path.join(checkpoint.path, "latest"), 256, checkpoint.within).decode(
                "utf-8", "replace").strip()
        except OSError:   # not a regular file, too long, outside: no tag, the folders are looked at instead
            tag = None
    folders = [tag] if tag and tag in names else sorted(n for n in names if n.startswith(("global_step",
                                                                                          "best_global_step")))
    for folder in folders[-1:]:
        try:
            files = os.listdir(os.path.join(checkpoint.path, folder))
        except OSError:
            continue
        model = [m for m in map(_MODEL_STATES.match, files) if m]
        optim = [m for m in map(_OPTIM_STATES.match, files) if m]
        if not model and not optim:
            continue
        zero3 = any(m.group(1) for m in model)
        stage = 3 if zero3 else (2 if optim else 0)   # names cannot tell ZeRO-1 from ZeRO-2
        ranks = len({m.group(2) for m in optim} | ({m.group(2) for m in model} if zero3 else set()))
        checkpoint.deepspeed = {"tag": folder, "stage": stage, "ranks": ranks}
        if checkpoint.format == "none":
            checkpoint.format = "deepspeed"

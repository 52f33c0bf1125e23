"""Every fact a rule may read, declared once: its name, type, meaning, the inputs that set it and its default.

The declaration is pydantic; only tools, tests and `rmlint facts` import it (pydantic costs ~100 ms of
start-up). The shapes a run needs (each root's defaults, each path's type, the CEL declarations) are
generated from it into rmlint/fact_shapes.json, which rmlint/fact_shapes.py reads (and each leaf's CEL type,
which rule files loaded with validation are type-checked against, into fact_cel_types.json); regenerate with
`python -m rmlint.fact_schema --write` (tests/test_fact_schema.py keeps the two in step, and checks that
the readers produce facts of these types). A field's meaning may be left empty where the block's meaning
says it; docs/facts.md then shows the block's.
"""

import copy
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from .frameworks.openrlhf.concepts import CONCEPTS, FALLBACK
from .versions import PACKAGES

RUNTIME = Path(__file__).resolve().parent / "fact_shapes.json"
CEL_TYPES = Path(__file__).resolve().parent / "fact_cel_types.json"

# which inputs set each root of the facts
SET_BY = {
    "input": "every input",
    "launch": "OpenRLHF launches (scripts, `rmlint check-args`, argument files)",
    "args": "OpenRLHF launches: flags resolved for the release they run",
    "role": "OpenRLHF launches: one subject per model of the launch",
    "ds": "DeepSpeed configs: files, accelerate configs, the config OpenRLHF or a trainer builds",
    "ckpt": "checkpoints: `rmlint inspect`, models and adapters named by launches and configs",
    "trainer": "LLaMA-Factory, TRL and axolotl configs and launches",
    "reward": "PPO launches (OpenRLHF, TRL, LLaMA-Factory) and `openrlhf.cli.lora_combiner --is_rm`",
    "versions": "every input: the releases it runs with (settings, installed distributions, repository pins)",
}


class Facts(BaseModel):
    """A block of facts: no key beyond those declared, and no value of another type (no coercion)."""
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


def fact(default, meaning: str = "", **extra):
    """A declared fact: its default (a block's class gives each subject a fresh block) and meaning."""
    meaning = " ".join(meaning.split())   # a block's docstring, wrapped, reads as one line
    if isinstance(default, type):
        return Field(default_factory=default, description=meaning, **extra)
    if isinstance(default, (list, dict)):
        return Field(default_factory=lambda: copy.deepcopy(default), description=meaning, **extra)
    return Field(default, description=meaning, **extra)


class Item(Facts):
    """An element of a list rules walk with `for_each`: each kind of item fills the fields it has."""


class FlagProblem(Item):
    """A flag no release in range accepts, or one of another CLI generation; each `kind` fills its fields."""
    kind: str = ""      # unknown-flag | newer-flag | ambiguous | other-release | bad-value | missing-value
                        # | bool-value | stray | missing-program
    flag: str = ""      # the flag (stray: the argument; missing-program: the program) as written
    file: str = ""      # the file the flag is written in: the script, or a file it sources
    line: int = 0
    column: int = 0
    entrypoint: str = ""
    suggestion: str = ""            # unknown-flag, newer-flag: the close flag name, or empty
    newest: str = ""                # newer-flag: the newest release rmlint knows
    matches: list[str] = []         # ambiguous: the flags the prefix matches (the first four)
    value: str = ""                 # bad-value, bool-value: the value as written
    type: str = ""                  # bad-value: the flag's type (int, float); `choices` when not one of them
    choices: list[str] = []
    count: int = 0                  # missing-value: the values the flag takes
    flag_releases: str = ""         # other-release: the releases that have the flag ...
    releases: str = ""              # ... and those the other flags fit (missing-program too)
    counterpart: str = ""           # other-release: the flag's name in those releases, or empty
    form: str = ""                  # missing-program: `module` or `script`, as launched ...
    have: str = ""                  # ... the releases that run it so (empty: none) ...
    run: str = ""                   # ... and the other form, when the releases the flags fit run it that way


class DsItem(Item):
    """A key DeepSpeed refuses, ignores or reads otherwise than written. When not every DeepSpeed release
    agrees: `target`/`target_source` (the target release, known) or `releases` (the ranges of releases it
    holds for, target unknown)."""
    path: str = ""
    key: str = ""
    releases: list[str] = []
    block: str | None = None
    suggestion: str | None = None     # the close name of a misspelled key, or empty
    error: str | None = None          # DeepSpeed's own words for a removed key
    new: str | None = None
    renamable: bool | None = None
    value: str | None = None
    expected: str | None = None       # the type DeepSpeed expects: int, float or bool
    accepted: bool | None = None
    other: str | None = None
    form: str | None = None           # conflicts: `alias` (two names of one field), `replacement` (old and new)
    choices: list[str] | None = None  # invalid: the values DeepSpeed accepts (JSON) ...
    bound: str | None = None          # ... or the bound it checks: `gt` or `ge` `limit`
    limit: float | None = None
    filled_by: str | None = None
    target: str | None = None
    target_source: str | None = None
    newest: str | None = None
    was: str | None = None
    line: int | None = None
    column: int | None = None


class Placed(Item):
    """Where a trainer setting is written."""
    file: str = ""
    line: int = 0
    column: int = 0


class Typo(Placed):
    key: str = ""
    path: str = ""
    suggestion: str = ""    # the known key it misspells


class Refusal(Placed):
    kind: str = ""
    key: str = ""
    error: str = ""         # the framework's own error text (Hydra's, argparse's)
    suggestion: str = ""    # a close known key, or empty
    release: str = ""       # the target release the key was checked against ("0.8.0"), "" for all ...
    source: str = ""        # ... and where it comes from ("requirements.txt:1")
    elsewhere: bool = False  # other releases have the key the target release refuses ...
    known_in: str = ""      # ... these ("0.9.0–0.9.1"; "" when only main commits between releases have it)


class FrameworkCheck(Placed):
    check: str = ""
    key: str = ""
    section: str = ""
    name: str = ""
    fix: str = ""
    a: int = 0
    b: int = 0
    c: int = 0
    d: int = 0
    micro: int = 0
    actor: str = ""
    main: str = ""
    commit: str = ""
    date: str = ""
    tp: int = 0              # verl Megatron: tensor, pipeline and context parallel sizes
    pp: int = 0
    cp: int = 0
    all_linear: bool = False   # verl critic LoRA: its target_modules, and whether that is all-linear
    targets: str = ""


class ReleaseProblem(Placed):
    """A LLaMA-Factory key of other releases (`key_releases`, gone in `removed_in`) than those the launch
    fits (`releases`)."""
    key: str = ""
    key_releases: str = ""
    removed_in: str = ""
    releases: str = ""


class TransformersKeyProblem(Placed):
    key: str = ""
    target: str = ""        # the transformers releases the launch runs with (`4.40.2`, `4.41 - 4.45`) ...
    target_source: str = ""  # ... and the pin that says so (`requirements.txt:3`), "" for what LLaMA-Factory allows
    had: str = ""
    removed: str = ""
    added: str = ""


class MissingShard(Item):
    """A shard file the index names that is not there."""
    shard: str = ""
    tensors: int = 0        # the tensors the index maps to it
    head: bool = False      # the head (`ckpt.prefix`.weight) is one of them


class MisplacedTensor(Item):
    """A tensor the index and the shards disagree about: `form` `elsewhere` (the index names `indexed`, it is
    in `held`), `nowhere` (no shard holds it), `twice` (in `held` and `also`), `unindexed` (in `held`, not in
    the weight_map)."""
    tensor: str = ""
    form: str = ""
    indexed: str = ""
    held: str = ""
    also: str = ""


class UnmatchedHead(Placed):
    head: str = ""
    name: str = ""


class Input(Facts):
    """What the subject was read from."""
    kind: str = fact("", "The reader that produced the subject (`deepspeed`, `openrlhf`, a trainer, a checkpoint).")


class Launch(Facts):
    """The OpenRLHF launch a model belongs to."""
    entrypoint: str = fact("", "The OpenRLHF entrypoint launched (`train_rm` for `openrlhf.cli.train_rm`, "
                               "`train_ppo_ray`, ...).")
    generation: int = fact(0, "OpenRLHF's command-line generation the flags belong to (1, 2 or 3).")
    releases: str = fact("", "The OpenRLHF releases whose flags the launch uses.")
    launcher: str = fact("", "The program that starts it: `deepspeed`, `torchrun`, `python`, `ray job submit`, ...")
    oldest_version: int = fact(0, "The oldest OpenRLHF release that accepts every flag given, as a number (0.9.1 is "
                                  "901).")
    newest_version: int = fact(0, "The newest OpenRLHF release that accepts every flag given, as a number (0.9.1 is "
                                  "901).")
    world_size: int = fact(0, "GPUs of the launch (0 when not known).")
    gpus_from: str = fact("", "Where the GPU count came from: the launcher's options (`--num_gpus 8`) or the machine "
                              "(`CUDA_VISIBLE_DEVICES=0,1,2`, `nvidia-smi -L`); empty when not known.")
    gpus_default: bool = fact(False, "`gpus_from` is the launcher's default, not written (torchrun's "
                                     "`--nproc_per_node 1`).")
    pinned: str = fact("", "The target OpenRLHF release (`0.5.0`), when the flag table holds it (else empty) ...")
    pinned_source: str = fact("", "... and where it comes from (settings, installed, a pin's file:line).")
    pin_missing: str = fact("", "The given flags the target OpenRLHF release does not have.")
    pin_conflict: bool = fact(False, "The target OpenRLHF release is not one the flags fit.")
    opaque: bool = fact(False, "The command holds words rmlint cannot read (`$ARGS`), so any flag may be set.")
    problems: list[FlagProblem] = fact([], "Flags that no release in range accepts, or that mix generations.")


class RoleBatch(Facts):
    """The role's batch arithmetic: global and micro batch, per-step samples, remainders, gradient accumulation."""
    global_: int = fact(0, alias="global")
    micro: int = fact(0)
    per_step: int = fact(0)
    remainder: int = fact(0)
    micro_remainder: int = fact(0)
    grad_accum: int = fact(0)


class Role(Facts):
    """One model of the launch (actor, critic, reward, reference, or the model of train_rm/sft/dpo)."""
    kind: str = fact("", "The model's role: `rm_train` (train_rm), `policy` (train_sft, train_dpo, ...), `actor`, "
                         "`critic`, `reward` (PPO, serve_rm), `ref`, `combiner` (lora_combiner's adapter), `inference` "
                         "(batch_inference, interactive_chat); rules word it with `launch.entrypoint`.")
    trained: bool = fact(False, "The launch trains this model.")
    path: str = fact("", "The model path or hub id the role loads.")
    value_head: bool = fact(False, "The model carries a value head (reward model or critic).")
    init_value_head: bool = fact(False, "The value head is initialised fresh at load.")
    same_model_as_actor: bool = fact(False, "The role loads the same path as the actor.")
    lora_rank: int = fact(0, "LoRA rank of this role (0 for a full model).")
    load_in_4bit: bool = fact(False, "This role is loaded in 4 bits.")
    gpus: int = fact(0, "GPUs this role runs on (0 when not known).")
    gpus_from: str = fact("", "Where that count came from: `ray` (the role's own `--<kind>_num_nodes` x "
                              "`--<kind>_num_gpus_per_node`), `launch` (the launch's count: `launch.gpus_from`), "
                              "empty when not known.")
    deepspeed: bool = fact(False, "This role runs under DeepSpeed.")
    saves_weights: bool = fact(False, "The launch saves this role's weights.")
    batch: RoleBatch = fact(RoleBatch, "The role's batch arithmetic: global and micro batch, per-step samples, "
                                       "remainders, gradient accumulation.")


class DsZeroOptimizationOffloadParam(Facts):
    """"""
    device: str = fact("none")
    nvme_path: str = fact("")
    ratio: float = fact(1.0)
    pin_memory: bool = fact(True)


class DsZeroOptimizationOffloadOptimizer(Facts):
    """"""
    device: str = fact("none")
    nvme_path: str = fact("")
    ratio: float = fact(1.0)
    pin_memory: bool = fact(True)


class DsZeroOptimization(Facts):
    """The `zero_optimization` block, with DeepSpeed's defaults."""
    stage: int = fact(0)
    offload_param: DsZeroOptimizationOffloadParam = fact(DsZeroOptimizationOffloadParam)
    offload_optimizer: DsZeroOptimizationOffloadOptimizer = fact(DsZeroOptimizationOffloadOptimizer)
    stage3_gather_16bit_weights_on_model_save: bool = fact(False)
    gather_written: bool = fact(False, "`stage3_gather_16bit_weights_on_model_save` is written in the file.")
    overlap_comm: bool = fact(False)
    reduce_scatter: bool = fact(True)
    zero_hpz_partition_size: int = fact(1)
    zero_quantized_weights: bool = fact(False)
    zero_quantized_gradients: bool = fact(False)
    compute_grad_norm: bool = fact(True)


class DsOptimizer(Facts):
    """The `optimizer` block (`present` false when absent; `params` as written)."""
    present: bool = fact(False)
    type_: str = fact("", alias="type")
    params: dict[str, Any] = fact({})


class DsScheduler(Facts):
    """The `scheduler` block (`present` false when absent; `params` as written)."""
    present: bool = fact(False)
    type_: str = fact("", alias="type")
    params: dict[str, Any] = fact({})


class DsItems(Facts):
    """Keys DeepSpeed would refuse or ignore, one list per kind: unknown, ignored, deprecated, removed, `auto` values,
    strings for numbers (slips), conflicting pairs, duplicates, invalid values. Each item has `path`, `key`, `line`,
    `column` and kind-specific fields."""
    unknown: list[DsItem] = fact([])
    ignored: list[DsItem] = fact([])
    deprecated: list[DsItem] = fact([])
    removed: list[DsItem] = fact([])
    autos: list[DsItem] = fact([])
    slips: list[DsItem] = fact([])
    conflicts: list[DsItem] = fact([])
    duplicates: list[DsItem] = fact([])
    invalid: list[DsItem] = fact([])
    beyond: list[DsItem] = fact([])


class DsFp16(Facts):
    """The `fp16` block (`present`: written in the file)."""
    enabled: bool = fact(False)
    present: bool = fact(False)


class DsBf16(Facts):
    """The `bf16` block (`present`: written in the file)."""
    enabled: bool = fact(False)
    present: bool = fact(False)


class DsBfloat16(Facts):
    """The legacy `bfloat16` block (`present`: written in the file)."""
    enabled: bool = fact(False)
    present: bool = fact(False)


class Ds(Facts):
    """The DeepSpeed config as DeepSpeed reads it (keys normalised, defaults filled in)."""
    present: bool = fact(False, "A DeepSpeed config exists for the subject.")
    consumer: str = fact("", "Who hands the config to DeepSpeed: `unknown` (a file), `accelerate`, `hf-trainer`, "
                             "`openrlhf`.")
    zero_optimization: DsZeroOptimization = fact(DsZeroOptimization, "The `zero_optimization` block, with DeepSpeed's "
                                                                     "defaults.")
    optimizer: DsOptimizer = fact(DsOptimizer, "The `optimizer` block (`present` false when absent; `params` as "
                                               "written).")
    scheduler: DsScheduler = fact(DsScheduler, "The `scheduler` block (`present` false when absent; `params` as "
                                               "written).")
    prescale_gradients: bool = fact(False)
    gradient_predivide_factor: float = fact(1.0)
    gradient_allreduce_op: str = fact("mean")
    communication_data_type: str = fact("")
    items: DsItems = fact(DsItems, "Keys DeepSpeed would refuse or ignore, one list per kind: unknown, ignored, "
                                   "deprecated, removed, `auto` values, strings for numbers (slips), conflicting "
                                   "pairs, duplicates, invalid values. Each item has `path`, `key`, `line`, `column` "
                                   "and kind-specific fields.")
    train_batch_size: int = fact(0)
    train_micro_batch_size_per_gpu: int = fact(0)
    gradient_accumulation_steps: int = fact(0)
    gradient_clipping: float = fact(1.0)
    fp16: DsFp16 = fact(DsFp16, "The `fp16` block (`present`: written in the file).")
    bf16: DsBf16 = fact(DsBf16, "The `bf16` block (`present`: written in the file).")
    bfloat16: DsBfloat16 = fact(DsBfloat16, "The legacy `bfloat16` block (`present`: written in the file).")


class Quantization(Facts):
    """How weights are quantized: `method` (`bitsandbytes`, ...; empty: not quantized), `bits`, and for 4-bit
    bitsandbytes the `scheme` (nf4, fp4), `double_quant` and `storage` (bnb_4bit_quant_storage)."""
    method: str = fact("")
    bits: int = fact(0)
    scheme: str = fact("")
    double_quant: bool = fact(False)
    storage: str = fact("")


class CkptHead(Facts):
    """The value or score head found in the weights: name, shape, dtype and what its values say (zeros, placeholder,
    fresh initialisation)."""
    kind: str = fact("", "Whose head it is, by its module: `openrlhf-value-head`, `trl-value-head`, "
                         "`llamafactory-value-head` (a value_head file), `deepspeed-chat-head`, `classifier`, `score`.")
    found: bool = fact(False)
    any: bool = fact(False)
    trained: bool = fact(False)
    name: str = fact("")
    file: str = fact("")
    shape: list[int] = fact([])
    rows: int = fact(0)
    cols: int = fact(0)
    dtype: str = fact("")
    empty: bool = fact(False)
    placeholder: bool = fact(False)
    zeros: bool = fact(False)
    nonfinite: bool = fact(False)
    bad_values: bool = fact(False)
    state: str = fact("", "What is wrong with the values: `zeros`, `constant` (every value is `value`), `nonfinite` "
                          "(`nonfinite_values` NaN/Inf), `empty` (shape [0]) or `placeholder` (a ZeRO-3 partition "
                          "where [1, hidden] belongs); empty when none of these.")
    nonfinite_values: int = fact(0)
    value: float = fact(0.0)
    shape_mismatch: bool = fact(False)
    init: str = fact("", "The initialisation the values are indistinguishable from: `openrlhf` (N(0, 1/(h+1))), `hf` "
                         "(N(0, initializer_range)), `linear` (nn.Linear's uniform), or empty.")
    confidence: str = fact("", "How sure `init` is: `low`, `medium` or `inconclusive`.")
    std: float = fact(0.0)
    values: int = fact(0, "The number of values read.")
    kurtosis: float = fact(0.0)
    init_ratio: float = fact(0.0, "std x (hidden + 1): 1 is exactly OpenRLHF's init.")


class CkptLora(Facts):
    """The PEFT adapter: rank, task type, modules_to_save, whether the head is saved or targeted."""
    r: int = fact(0)
    task_type: str = fact("")
    modules_to_save: list[str] = fact([])
    saves_head: bool = fact(False)
    targets_head: bool = fact(False)
    only_lora: bool = fact(False)
    base: str = fact("")


class Ckpt(Facts):
    """A checkpoint (folder or weight file) as `rmlint inspect` reads it: format, tensors, head, quantization, LoRA
    layout."""
    available: bool = fact(False, "The checkpoint is on this machine and was read.")
    reason: str = fact("", "Where it was read from (`local`, `hf-cache`, `hub`), or why not (`not-found`, `not-in-hf-cache`, "
                           "`hf-cache-partial`, `hub-unread`).")
    path: str = fact("", "The checkpoint's path.")
    use: str = fact("")
    format: str = fact("", "Weight format (`safetensors`, `bin`, DeepSpeed ZeRO shards, ...).")
    adapter: bool = fact(False, "The checkpoint is a PEFT adapter.")
    deepspeed: bool = fact(False, "The checkpoint is DeepSpeed ZeRO shards (`ds_stage`, `ds_ranks` describe them).")
    ds_stage: int = fact(0)
    ds_ranks: int = fact(0)
    ds_tag: str = fact("", "The tag folder (`global_step10`) the DeepSpeed states are in.")
    shards: int = fact(0, "Weight files present.")
    tensors: int = fact(0, "Number of tensors.")
    size: int = fact(0, "Size in bytes.")
    has_config: bool = fact(False, "A config.json is beside the weights.")
    architectures: str = fact("", "`architectures` of config.json.")
    hidden_size: int = fact(0)
    num_labels: int = fact(0)
    prefix: str = fact("", "The head prefix the consumer expects (`value_head_prefix`).")
    prefix_from: str = fact("", "Where `prefix` comes from: `config` (config.json), `flag` / `flag-default` "
                                "(`prefix_flag` given, or its default), `adapter`, `openrlhf-default`, `model-class`, "
                                "`checkpoint` (the head it holds), `live` (the guard's model).")
    prefix_flag: str = fact("--value_head_prefix")
    other_prefix: str = fact("")
    other_heads: list[str] = fact([], "Head-like tensors under another prefix.")
    head_expected: bool = fact(False)
    has_stats: bool = fact(False)
    normalize_reward: bool = fact(False)
    quantized: bool = fact(False, "The weights are quantized (`quantization` says how).")
    quantization: Quantization = fact(Quantization, "How the weights are quantized.")
    initializer_range: float = fact(0.02, "config.json's initializer_range (0.02 when it gives none).")
    missing_shards: list[str] = fact([], "Shards the index names that are not there.")
    missing: list[MissingShard] = fact([], "The missing shards with the tensors the index maps to each.")
    head_missing_shard: bool = fact(False)
    misplaced: list[MisplacedTensor] = fact([], "Tensors the index and the shards disagree about (the first 20).")
    empty_tensors: int = fact(0, "Tensors with no elements (ZeRO-3 saves without gathering).")
    empty_example: str = fact("", "The first of them.")
    tensorless_file: str = fact("", "A weight file that holds no tensors at all (a LoRA adapter saved under ZeRO-3 "
                                     "without gathering).")
    head: CkptHead = fact(CkptHead, "The value or score head found in the weights: name, shape, dtype and what its "
                                    "values say (zeros, placeholder, fresh initialisation).")
    lora: CkptLora = fact(CkptLora, "The PEFT adapter: rank, task type, modules_to_save, whether the head is saved or "
                                    "targeted.")


class TrainerBatch(Facts):
    """The run's batch arithmetic: micro batch, accumulation, mini batches, remainders."""
    micro: int = fact(0)
    grad_accum: int = fact(0)
    mini_batches: int = fact(0)
    local: int = fact(0)
    remainder: int = fact(0)
    fix: str = fact("")
    local_mini: int = fact(0)
    whiten: bool = fact(False)
    fields: list[str] = fact([])
    conflict: bool = fact(False)


class TrainerKeys(Facts):
    """The framework's own key names for each setting, for messages and fixes."""
    quantization: str = fact("")
    adapter: str = fact("")
    modules_to_save: str = fact("")
    targets: str = fact("")
    task_type: str = fact("")
    packing: str = fact("")
    reward_model: str = fact("reward_model")


class Trainer(Facts):
    """A LLaMA-Factory, TRL, axolotl, verl or DeepSpeed-Chat run (config file or command line), normalised."""
    framework: str = fact("", "`llamafactory`, `trl`, `axolotl`, `verl` or `deepspeed_chat`.")
    stage: str = fact("", "What is trained: `sft`, `rm`, `prm`, `ppo`, `dpo`, ...")
    finetuning: str = fact("", "Full, freeze or LoRA fine-tuning.")
    lora_rank: int = fact(0, "LoRA rank (0: no adapter).")
    lora_targets: list[str] = fact([], "LoRA target modules as the run names them.")
    modules_to_save: list[str] = fact([], "Modules trained and saved in full beside the adapter.")
    task_type: str = fact("", "PEFT task type (`SEQ_CLS`, `CAUSAL_LM`, ...).")
    head: str = fact("", "The model's score or value head name.")
    head_in_targets: bool = fact(False, "The LoRA targets include the head.")
    head_saved: bool = fact(True, "The adapter saves the head's weights.")
    unmatched_heads: list[UnmatchedHead] = fact([])
    quantization_bit: int = fact(0, "Bits of quantized loading (0: none).")
    quantization_method: str = fact("", "The quantization library (`bitsandbytes`, ...).")
    quant_storage: str = fact("", "bitsandbytes' `bnb_4bit_quant_storage` as the run sets it: a dtype, or `compute-dtype` "
                                   "(LLaMA-Factory stores 4-bit weights in the compute dtype).")
    quant_storage_ok: bool = fact(True)
    dtype: str = fact("", "The model's dtype as the run writes it (TRL's `dtype` or `torch_dtype`); empty when not given.")
    reward_model: str = fact("", "The reward model a PPO run scores with.")
    reward_head: str = fact("")
    model_quantization: Quantization = fact(Quantization, "How the model the run loads is saved quantized (its "
                                                          "checkpoint's quantization_config); `method` empty: not.")
    reward_model_type: str = fact("")
    pure_bf16: bool = fact(False, "LLaMA-Factory's `pure_bf16` (weights kept in bf16, no fp32 master copy).")
    bf16: bool = fact(False, "bf16 mixed precision is on.")
    fp16: bool = fact(False, "fp16 mixed precision is on.")
    deepspeed_file: str = fact("", "The DeepSpeed config file the run names.")
    deepspeed_bundled: bool = fact(False, "`deepspeed_file` is one of the accelerate configs TRL ships (`trl reward "
                                          "--accelerate_config zero3`), not a file of the user's.")
    zero_stage: int = fact(0, "ZeRO stage of the DeepSpeed config the run names (0: none).")
    gpus: int = fact(0, "GPUs of the run (0 when not known).")
    gradient_checkpointing: bool = fact(False)
    use_reentrant: str = fact("")
    rl: bool = fact(False)
    packing: bool = fact(False, "Sequence packing is on.")
    neat_packing: bool = fact(False)
    num_labels: int = fact(0)
    batch: TrainerBatch = fact(TrainerBatch, "The run's batch arithmetic: micro batch, accumulation, mini batches, "
                                             "remainders.")
    typos: list[Typo] = fact([], "Keys the framework does not know, each with the closest known key.")
    refused: list[Refusal] = fact([], "Command-line keys the framework refuses (verl's Hydra in struct mode, "
                                      "DeepSpeed-Chat's argparse): each with the error it prints, the closest known "
                                      "key (`suggestion`, may be empty) and its place.")
    checks: list[FrameworkCheck] = fact([], "Checks the framework makes after the GPUs are allocated that this run "
                                            "fails (verl's batch validation, DeepSpeed-Chat's parse_args checks, "
                                            "version-dependent head freezes): each with `check` (its name), the key it"
                                            " is reported at, its numbers (`a`..`d`) and the smallest fix.")
    reward_retokenizes: bool = fact(False, "The trainer decodes the rollouts and tokenises them again for the reward "
                                           "model (verl with reward_model.model.input_tokenizer set): a reward model "
                                           "of another family is fine.")
    releases: str = fact("", "LLaMA-Factory: the releases whose keys the run fits (`0.5.0 - 0.7.0`).")
    release_problems: list[ReleaseProblem] = fact([], "LLaMA-Factory: keys of other releases than those the rest fits.")
    transformers: str = fact("", "LLaMA-Factory: the transformers releases the run uses (`4.41 - 4.45`, `4.40.2`).")
    transformers_from: str = fact("", "LLaMA-Factory: the pin that gives them (`requirements.txt:3`); empty when they "
                                      "are what the LLaMA-Factory releases allow.")
    transformers_problems: list[TransformersKeyProblem] = fact(
        [], "LLaMA-Factory: TrainingArguments keys that only other transformers releases have, each with the "
            "releases that have it (`had`) and the minor that `removed` it or `added` it.")
    keys: TrainerKeys = fact(TrainerKeys, "The framework's own key names for each setting, for messages and fixes.")


class Reward(Facts):
    """Is the PPO reward model a reward model: told from the launch, and from config.json where readable."""
    path: str = fact("", "The reward model's path or hub id as written.")
    setting: str = fact("", "The flag or key that names it (`--reward_pretrain`, `reward_model_path`, `reward_model`).")
    policy: str = fact("", "The policy's model it is compared with.")
    policy_setting: str = fact("", "The flag or key that names the policy's model.")
    same_as_policy: bool = fact(False, "The reward model is the policy's own model (the same path, maybe written "
                                       "otherwise).")
    feeds_ids: bool = fact(False, "The framework feeds the reward model the policy's token ids (no re-tokenising).")
    family: str = fact("", 'The reward model\'s tokenizer family (`Llama-3`, `Qwen2`, ...; "" when not known).')
    family_from: str = fact("", "Where the family comes from: `config.json` or `name` (the path's name).")
    policy_family: str = fact("", "The policy's tokenizer family.")
    policy_family_from: str = fact("", "Where the policy's family comes from: `config.json` or `name`.")
    family_differs: bool = fact(False, "Both families are known, differ, and the framework feeds token ids.")
    chat_word: str = fact("", "The chat/instruct/base word of a reward model named like no reward model, when its "
                              "checkpoint was not read.")
    holds: str = fact("", "LLaMA-Factory: what the reward_model path holds that its reward_model_type cannot load: "
                          "`not-url`, `url`, `full-model`, `adapter-without-head`, `adapter` (\"\" when it fits).")
    combine: str = fact("", "lora_combiner --is_rm: `lora-on-head`, `head-saved`, `no-head` or `unread`.")
    combine_tensor: str = fact("", "The adapter tensor that does not fit the combiner's 2-output head.")
    combine_shape: list[int] = fact([], "Its shape ...")
    combine_model_shape: list[int] = fact([], "... and the one the combiner's model has.")



# OpenRLHF settings by concept (frameworks/openrlhf/concepts.py): the type each takes across the releases' flags;
# None where a release has no default and the flag is not given.
ARG_TYPES = {
    "pretrain": str | None, "reward_pretrain": str | None, "reward_model_path": str | None,
    "critic_pretrain": str | None, "ref_pretrain": str | None, "remote_rm_url": str | None,
    "value_head_prefix": str, "normalize_reward": bool, "zero_stage": int | None, "bf16": bool,
    "param_dtype": str | None, "flash_attn": bool, "attn_implementation": str | None, "load_in_4bit": bool | None,
    "lora_rank": int | None, "lora_alpha": int | None, "target_modules": list[str] | str | None,
    "adam_offload": bool | None, "zpg": int, "overlap_comm": bool, "grad_accum_dtype": str | None,
    "tensor_parallel_size": int, "ring_attn_size": int, "packing_samples": bool, "dynamic_batch": bool,
    "micro_train_batch_size": int | None, "train_batch_size": int | None, "micro_rollout_batch_size": int | None,
    "rollout_batch_size": int | None, "n_samples_per_prompt": int, "max_norm": float, "advantage_estimator": str,
    "init_kl_coef": float, "vllm_num_engines": int | None, "vllm_tensor_parallel_size": int | None,
    "actor_num_nodes": int | None, "actor_num_gpus_per_node": int | None, "critic_num_nodes": int | None,
    "critic_num_gpus_per_node": int | None, "ref_num_nodes": int | None, "ref_num_gpus_per_node": int | None,
    "reward_num_nodes": int | None, "reward_num_gpus_per_node": int | None, "colocate_actor_ref": bool | None,
    "colocate_critic_reward": bool | None, "colocate_all_models": bool, "async_train": bool,
    "ref_reward_offload": bool, "ref_offload": bool, "reward_offload": bool, "save_value_network": bool,
    "enable_sleep": bool, "eval_dataset": str | None, "deepcompile": bool, "use_ds_universal_ckpt": bool,
    "gradient_checkpointing": bool, "model_path": str | None, "lora_path": str | None, "is_rm": bool,
}
# defaults where no release is known (the flags of the oldest release that had each setting)
ARG_DEFAULTS = dict(zero_stage=0, lora_rank=0, lora_alpha=16, load_in_4bit=False, target_modules="all-linear",
                    micro_train_batch_size=1, train_batch_size=1, adam_offload=False, pretrain=None)
# what rmlint derives from the settings
DERIVED_ARGS = {
    "dtype": (str, "fp32", "The training dtype the flags give: `bf16`, `fp16` or `fp32`."),
    "attn": (str, "eager", "The attention implementation the flags give."),
    "packing_forces_flash": (bool, False, "Packing switches attention to flash attention in this release."),
    "critic_inits_head": (bool, True, "The critic is built with a fresh value head from its pretrain path."),
    "head_in_targets": (bool, False, "The LoRA targets include the value head."),
    "lora_head_wrapped": (str, "", "The releases (of those the flags fit) in which LoRA wraps the value head, "
                                   "\"\" for none."),
    "lora_head_frozen": (str, "", "The releases in which LoRA leaves the value head frozen and out of the adapter."),
    "lora_frozen_targets": (str, "", "What LoRA targets in those releases: the list; empty when find_all_linear_names "
                                     "picks them (the Linear4bit layers under 4-bit)."),
}
ARG_MEANINGS = {
    "zero_stage": "ZeRO stage (`--zero_stage`).",
    "load_in_4bit": "4-bit (QLoRA) loading of the trained model (`--load_in_4bit`).",
    "lora_rank": "LoRA rank; 0 trains the full model.",
    "target_modules": "LoRA target modules (`all-linear` or a list).",
}


def _arg(concept: str) -> tuple:
    flags = ", ".join(f"`{flag}`" for flag in CONCEPTS[concept])
    meaning = ARG_MEANINGS.get(concept) or (f"OpenRLHF's `{concept}` setting ({flags}): the flag for it in the "
                                            "release launched, else that release's default.")
    return ARG_TYPES[concept], fact(ARG_DEFAULTS.get(concept, FALLBACK.get(concept)), meaning)


Args = create_model("Args", __base__=Facts, **{concept: _arg(concept) for concept in CONCEPTS},
                    **{name: (kind, fact(default, meaning)) for name, (kind, default, meaning) in DERIVED_ARGS.items()})
Args.__doc__ = ("OpenRLHF settings by concept, whatever flag name the release uses; the release's default when "
                "not given.")


class Version(Facts):
    """The release of one package the input runs with."""
    text: str = fact("", "The release as written (`0.16.4`); empty when unknown.")
    number: int = fact(0, "The release as a number (0.16.4 is 1604; 0 when unknown), to compare in conditions.")
    source: str = fact("unknown", "Where it came from: settings, installed, a pin's file:line, or unknown.")


Versions = create_model("Versions", __base__=Facts, **{package: (Version, fact(Version, f"The `{package}` release."))
                                                         for package in PACKAGES})
Versions.__doc__ = ("The release of each package the input runs with: `text`, `number` (0.16.4 is 1604; 0 when "
                    "unknown), `source` (settings, installed, a pin's file:line, unknown).")


class Subject(Facts):
    """Every root a subject carries (CEL fails on absent keys, so each is there with its defaults)."""
    input: Input = fact(Input, Input.__doc__)
    launch: Launch = fact(Launch, Launch.__doc__)
    args: Args = fact(Args, Args.__doc__)
    role: Role = fact(Role, Role.__doc__)
    ds: Ds = fact(Ds, Ds.__doc__)
    ckpt: Ckpt = fact(Ckpt, Ckpt.__doc__)
    trainer: Trainer = fact(Trainer, Trainer.__doc__)
    reward: Reward = fact(Reward, Reward.__doc__)
    versions: Versions = fact(Versions, Versions.__doc__)


def _type(annotation) -> str:
    """A declared type as docs/facts.md and the CEL declarations name it."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "map"
    names = {bool: "bool", int: "int", float: "float", str: "string", type(None): "null"}
    if annotation in names:
        return names[annotation]
    origin = getattr(annotation, "__origin__", None)
    if origin is list:
        return "list"
    if origin is dict:
        return "map"
    members = getattr(annotation, "__args__", ())
    return " or ".join(dict.fromkeys(_type(member) for member in members))


def _walk(model: type, prefix: str, found: dict, meanings: dict):
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}" if prefix else field.alias or name
        found[path] = _type(field.annotation)
        meanings[path] = field.description or ""
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            _walk(field.annotation, path, found, meanings)


# CEL's names for the declared leaf types; a fact that may be null is CEL's wrapper of its type (compares with
# null and with its type's values), a fact of several types is `dyn`
_CEL_SCALARS = {bool: "bool", int: "int", float: "double", str: "string"}
_CEL_NULLABLE = {bool: "google.protobuf.BoolValue", int: "google.protobuf.Int64Value",
                 float: "google.protobuf.DoubleValue", str: "google.protobuf.StringValue"}


def _cel_type(annotation) -> str:
    """The CEL type signature of a declared leaf (cel_expr_python's `cel.Type(signature)`)."""
    if annotation in _CEL_SCALARS:
        return _CEL_SCALARS[annotation]
    origin, members = getattr(annotation, "__origin__", None), getattr(annotation, "__args__", ())
    if origin is list:
        element = members[0]
        return f"list({_CEL_SCALARS.get(element, 'dyn')})"   # a list of items: `item` is typed per rule
    if origin is dict:
        return "map(string, dyn)"   # free keys as written (ds.optimizer.params)
    others = [m for m in members if m is not type(None)]
    if len(others) == 1 and len(members) == 2 and others[0] in _CEL_NULLABLE:
        return _CEL_NULLABLE[others[0]]
    return "dyn"


def _is_block(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _cel_leaves(model: type, prefix: str, found: dict, items: dict):
    for name, field in model.model_fields.items():
        path = f"{prefix}.{field.alias or name}" if prefix else field.alias or name
        if _is_block(field.annotation):
            _cel_leaves(field.annotation, path, found, items)
            continue
        found[path] = _cel_type(field.annotation)
        element = (getattr(field.annotation, "__args__", None) or (None,))[0]
        if getattr(field.annotation, "__origin__", None) is list and _is_block(element):
            items[path] = {}
            _cel_leaves(element, "", items[path], {})


def cel_leaves() -> tuple:
    """({leaf path: CEL type}, {list path: {item field: CEL type}}): what a condition may read, typed to the
    leaf, and the fields of the items a `for_each` over each list of items binds to `item`."""
    found, items = {}, {}
    _cel_leaves(Subject, "", found, items)
    return found, items


def types() -> dict:
    """fact path -> its type, for every path (a block's own path too)."""
    found = {}
    _walk(Subject, "", found, {})
    return found


def meanings() -> dict:
    """fact path -> its declared meaning ("" where the block's meaning says it)."""
    found = {}
    _walk(Subject, "", {}, found)
    return found


def runtime() -> dict:
    """What a run needs, generated into fact_shapes.json: each root's defaults, each path's type, and the
    CEL declarations (every root a map; `item`, the element a `for_each` walks, of any type)."""
    return {"defaults": Subject().model_dump(by_alias=True), "types": types(),
            "cel": {**{root: "map" for root in Subject.model_fields}, "item": "dyn"}}


def rendered() -> str:
    return json.dumps(runtime(), indent=1, sort_keys=False) + "\n"


def rendered_cel_types() -> str:
    """fact_cel_types.json: each leaf's CEL type and each list's item fields, which a rule file loaded with
    validation is type-checked against (a file of its own: a run never reads it)."""
    leaves, items = cel_leaves()
    return json.dumps({"leaves": leaves, "items": items}, indent=1) + "\n"


if __name__ == "__main__":   # python -m rmlint.fact_schema --write
    if sys.argv[1:] == ["--write"]:
        RUNTIME.write_text(rendered())
        CEL_TYPES.write_text(rendered_cel_types())
    else:
        sys.stdout.write(rendered())

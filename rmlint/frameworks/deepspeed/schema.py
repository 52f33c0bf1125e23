"""DeepSpeed's config keys, from the snapshot tools/snapshot_deepspeed_schema.py takes of DeepSpeed.

Strict blocks are DeepSpeed pydantic models with extra="forbid": an unknown key there makes
DeepSpeed raise. Everything else is read with dict.get: an unknown key there is ignored
without a word, which is why a typo at the top level is worth a finding of its own.
"""

import json
from dataclasses import dataclass
from functools import lru_cache

from ...data import TABLES

DATA = TABLES / "deepspeed_schema.json"

# Lenient blocks whose keys DeepSpeed reads one by one (a typo there is ignored); blocks not
# listed here (optimizer.params, autotuning, data_efficiency, pipeline, ...) take free-form keys.
CHECKED_LENIENT_BLOCKS = ("activation_checkpointing", "flops_profiler", "aio", "data_types", "torch_autocast",
                          "checkpoint", "optimizer", "scheduler", "timers")
EXTRA_LENIENT_KEYS = {"optimizer.legacy_fusion"}  # read through a helper the probe does not reach
# strict block -> the pydantic model DeepSpeed validates it with (read by the snapshot tool and by exact mode)
STRICT_BLOCKS = {
    "zero_optimization": "deepspeed.runtime.zero.config:DeepSpeedZeroConfig",
    "fp16": "deepspeed.runtime.precision_config:DeepSpeedFP16Config",
    "bf16": "deepspeed.runtime.precision_config:DeepSpeedBF16Config",
    "hybrid_engine": "deepspeed.runtime.config:HybridEngineConfig",
    "compile": "deepspeed.runtime.config:CompileConfig",
    "tensorboard": "deepspeed.monitor.config:TensorBoardConfig",
    "wandb": "deepspeed.monitor.config:WandbConfig",
    "csv_monitor": "deepspeed.monitor.config:CSVConfig",
    "comet": "deepspeed.monitor.config:CometConfig",
    "comms_logger": "deepspeed.comm.config:CommsLoggerConfig",
    "tensor_parallel": "deepspeed.runtime.tensor_parallel.config:TPTrainingConfig",
}
# "auto" is a legitimate value here (DeepSpeed's own defaults), not a placeholder.
AUTO_IS_A_VALUE = {"replace_method", "select_strategy", "keep_in_fp32_modules"}


@dataclass(eq=False, repr=False)   # read-only by use; lean to build at start-up
class Field:
    """One key of a strict DeepSpeed config block, as DeepSpeed's pydantic model declares it."""
    name: str
    alias: str | None
    default: object
    deprecated: bool
    new_param: str | None
    fields: dict | None     # nested strict block
    choices: tuple | None = None    # an Enum/Literal field's values
    gt: float | None = None         # numeric bounds (pydantic Field(gt=/ge=))
    ge: float | None = None
    converts: bool = False          # a deprecated field whose value DeepSpeed converts for its replacement


class Schema:
    def __init__(self, raw: dict):
        self.version = raw["deepspeed_version"]
        self.strict = {block: self._fields(fields) for block, fields in raw["strict"].items()}
        self.lenient = set(raw["lenient"]) | EXTRA_LENIENT_KEYS
        self.removed = raw["removed"]
        self.top_level = set(self.strict) | {k for k in self.lenient if "." not in k}

    def _fields(self, raw: dict) -> dict:
        return {name: Field(name, spec.get("alias"), spec.get("default"), spec.get("deprecated", False),
                            spec.get("new_param"), self._fields(spec["fields"]) if "fields" in spec else None,
                            tuple(spec["choices"]) if "choices" in spec else None, spec.get("gt"), spec.get("ge"),
                            spec.get("converts", False))
                for name, spec in raw.items()}

    def lenient_children(self, block: str) -> set:
        prefix = block + "."
        return {k[len(prefix):].split(".")[0] for k in self.lenient if k.startswith(prefix)}


def lookup(fields: dict, key: str) -> Field | None:
    """A strict block's field by its name or its alias (DeepSpeed's populate_by_name)."""
    if key in fields:
        return fields[key]
    return next((f for f in fields.values() if f.alias == key), None)


@lru_cache(maxsize=1)
def schema() -> Schema:
    return Schema(json.loads(DATA.read_text()))

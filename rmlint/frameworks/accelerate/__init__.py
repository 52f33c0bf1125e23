"""accelerate config YAML (`accelerate launch --config_file`): its own checks, and the DeepSpeed
config its DeepSpeedPlugin builds (or the `deepspeed_config_file` it names), linted as DeepSpeed.

Sources (accelerate 1.15.0): ClusterConfig fields and "had unknown keys" (commands/config/
config_args.py); the deepspeed_config keys of the questionnaire and `accelerate launch`
(commands/config/cluster.py, commands/launch.py; others are copied onto args and never read);
DeepSpeedPlugin's generated config and `_deepspeed_config_checks` (utils/dataclasses.py).
"""

from ...suggest import suggest
import os

from ...finding import Location

TOP_LEVEL = {"command_file", "commands", "compute_environment", "debug", "deepspeed_config", "distributed_type",
             "downcast_bf16", "dynamo_config", "enable_cpu_affinity", "fp8_config", "fsdp_config", "gpu_ids",
             "machine_rank", "main_process_ip", "main_process_port", "main_training_function", "megatron_lm_config",
             "mixed_precision", "mpirun_config", "num_machines", "num_processes", "parallelism_config",
             "rdzv_backend", "same_network", "tpu_env", "tpu_name", "tpu_use_cluster", "tpu_use_sudo", "tpu_vm",
             "tpu_zone", "use_cpu", "ipex_config", "mps", "dynamo_backend"}
DEEPSPEED_KEYS = {"deepspeed_config_file", "zero_stage", "offload_optimizer_device", "offload_param_device",
                  "offload_optimizer_nvme_path", "offload_param_nvme_path", "gradient_accumulation_steps",
                  "gradient_clipping", "zero3_init_flag", "zero3_save_16bit_model", "deepspeed_moe_layer_cls_names",
                  "deepspeed_multinode_launcher", "deepspeed_hostfile", "deepspeed_exclusion_filter",
                  "deepspeed_inclusion_filter"}
# keys `_deepspeed_config_checks` refuses next to deepspeed_config_file
PLUGIN_FIELDS = ("gradient_accumulation_steps", "gradient_clipping", "zero_stage", "offload_optimizer_device",
                 "offload_param_device", "offload_param_nvme_path", "offload_optimizer_nvme_path",
                 "zero3_save_16bit_model")


def is_accelerate_config(data) -> bool:
    return isinstance(data, dict) and "distributed_type" in data and (
        "compute_environment" in data or "num_processes" in data or "deepspeed_config" in data)


def subjects(document) -> tuple:
    """(subjects, reader findings) of one accelerate config."""
    from ...problems import finding as problem
    data, findings = document.data, []
    for key in data:
        if key not in TOP_LEVEL:
            findings.append(problem("accelerate-unknown-key", document.locate((key,)), key=key,
                                    suggestion=suggest(str(key), sorted(TOP_LEVEL)) or ""))
    plugin = data.get("deepspeed_config") if isinstance(data.get("deepspeed_config"), dict) else {}
    if str(data.get("distributed_type", "")).upper() != "DEEPSPEED":
        return [], findings
    for key in plugin:
        if key not in DEEPSPEED_KEYS:
            findings.append(problem("accelerate-ignored-deepspeed-key", document.locate(("deepspeed_config", key)),
                                    key=key, suggestion=suggest(str(key), sorted(DEEPSPEED_KEYS)) or ""))
    file = plugin.get("deepspeed_config_file")
    if file:
        clashing = [k for k in PLUGIN_FIELDS if k in plugin] + (["mixed_precision"] if data.get("mixed_precision")
                                                                 not in (None, "no") else [])
        if clashing:
            findings.append(problem("accelerate-file-and-plugin-keys",
                                    document.locate(("deepspeed_config", "deepspeed_config_file")),
                                    keys=clashing))
        return _referenced(document, str(file), findings)
    return [_generated(document, plugin)], findings


def _referenced(document, file: str, findings: list) -> tuple:
    """The DeepSpeed file the config names, read relative to the config, as accelerate consumes it."""
    from ..deepspeed.subjects import deepspeed_subject
    from ...problems import unreadable
    from ...problems import finding as problem
    from ...finding import SourceError
    from ...sources.document import read_config
    from ...sources.walk import project_folders
    candidates = [file] if os.path.isabs(file) else [*(os.path.join(folder, file) for folder in
                                                       project_folders(document.path)), file]
    path = next((p for p in candidates if os.path.isfile(p)), None)
    if path is None:
        findings.append(problem("accelerate-deepspeed-file-missing",
                                document.locate(("deepspeed_config", "deepspeed_config_file")), file=file))
        return [], findings
    try:
        config = read_config(path)
    except SourceError as err:
        findings.append(unreadable(err))
        return [], findings
    if not isinstance(config.data, dict):
        return [], findings
    return [deepspeed_subject(config, "accelerate")], findings


def _generated(document, plugin: dict):
    """DeepSpeedPlugin's config when no file is given (utils/dataclasses.py __post_init__)."""
    from ..deepspeed.subjects import deepspeed_subject
    from ...sources.document import Document
    zero = {"stage": plugin.get("zero_stage", 2),
            "offload_optimizer": {"device": plugin.get("offload_optimizer_device", "none")},
            "offload_param": {"device": plugin.get("offload_param_device", "none")},
            "stage3_gather_16bit_weights_on_model_save": plugin.get("zero3_save_16bit_model", False)}
    config = {"train_batch_size": "auto", "train_micro_batch_size_per_gpu": "auto",
              "gradient_accumulation_steps": plugin.get("gradient_accumulation_steps", "auto"),
              "gradient_clipping": plugin.get("gradient_clipping", "auto"), "zero_optimization": zero}
    precision = str(document.data.get("mixed_precision") or "no")
    if precision in ("bf16", "fp16"):
        config[precision] = {"enabled": True}
    where = {("zero_optimization", "stage"): ("deepspeed_config", "zero_stage"),
             ("zero_optimization", "offload_optimizer", "device"): ("deepspeed_config", "offload_optimizer_device"),
             ("zero_optimization", "offload_param", "device"): ("deepspeed_config", "offload_param_device"),
             ("zero_optimization", "stage3_gather_16bit_weights_on_model_save"): ("deepspeed_config",
                                                                                  "zero3_save_16bit_model"),
             ("gradient_accumulation_steps",): ("deepspeed_config", "gradient_accumulation_steps"),
             ("gradient_clipping",): ("deepspeed_config", "gradient_clipping")}
    positions = {path: document.positions[source] for path, source in where.items() if source in document.positions}
    for path in list(where):
        for depth in range(1, len(path)):
            positions.setdefault(path[:depth], document.positions.get(("deepspeed_config",), (1, 1)))
    subject = deepspeed_subject(Document(document.path, config, positions), "hf")
    subject.anchor = Location(document.path, *document.positions.get(("deepspeed_config",), (1, 1)))
    return subject

"""Checkpoint facts as subjects: one for `rmlint inspect PATH`, and the `ckpt` facts of each model
of a launch whose path is on this machine."""

import os
from functools import lru_cache

from ...finding import Finding, Location
from .defaults import keys

KNOWN_WHEN_ABSENT = {"available", "reason", "path", "use"}   # the rest is unknown when the files are not here


def _unknown_except(kept: set) -> set:
    """The `ckpt` facts rules must not rely on, all but `kept`."""
    return {f"ckpt.{key}" for key in keys() if key not in kept}


def _unreadable(error, where: Location) -> Finding:
    """The refusal (a CheckpointError) as the unreadable-input rule's finding at `where`."""
    from ...problems import finding as problem
    return problem(error.kind, where, **error.facts)


@lru_cache(maxsize=64)
def _read(path: str, within: str | None = None):
    from .layout import Checkpoint, inspect_path
    from .tensors import unreadable
    try:
        return inspect_path(path, within)
    except OSError as err:
        checkpoint = Checkpoint(path)
        checkpoint.errors.append(unreadable(err, path))
        return checkpoint


def _positions(checkpoint) -> dict:
    """Where facts are written inside the checkpoint, for findings of `rmlint inspect`."""
    main = checkpoint.index or (checkpoint.files[0] if checkpoint.files else checkpoint.path)
    provenance = {"ckpt": Location(main, 0, 0)}
    if checkpoint.config:
        for fact, key in (("ckpt.prefix", "value_head_prefix"), ("ckpt.normalize_reward", "normalize_reward"),
                          ("ckpt.num_labels", "id2label"), ("ckpt.quantized", "quantization_config")):
            if (key,) in checkpoint.config.positions:
                provenance[fact] = checkpoint.config.locate((key,))
    if checkpoint.adapter:
        provenance["ckpt.lora"] = checkpoint.adapter.locate(("modules_to_save",))
        provenance["ckpt.adapter"] = Location(checkpoint.adapter.path, 1, 1)
    if checkpoint.index:
        provenance["ckpt.missing_shards"] = Location(checkpoint.index, 1, 1)
    return provenance


def inspect_subject(path: str, use: str = "inspect", flag_prefix: str | None = None, cached: bool = True):
    """(subject, checkpoint, reader findings) for one checkpoint path, read for `use` ("inspect", or
    the role of the model loaded from it, with the head prefix that model uses). A training process
    rewrites its checkpoints: it reads them uncached."""
    from ...facts import defaults
    from ...subject import Subject
    checkpoint = (_read if cached else _read.__wrapped__)(os.path.normpath(path))
    facts = defaults()
    facts["input"]["kind"] = "checkpoint"
    from .facts import describe
    facts["ckpt"] = describe(checkpoint, use, flag_prefix)
    provenance = _positions(checkpoint)
    if "ckpt.head" not in provenance and facts["ckpt"]["head"]["found"]:
        head_file = next(t.file for t in checkpoint.tensors + checkpoint.head_files
                         if t.name == facts["ckpt"]["head"]["name"])
        provenance["ckpt.head"] = Location(head_file, 0, 0)
    findings = [_unreadable(e, Location(e.path, e.line, e.column)) for e in checkpoint.errors]
    unknown = _unknown_except({"available"}) if checkpoint.errors else set()
    return Subject("checkpoint", facts, provenance["ckpt"], provenance, unknown), checkpoint, findings


def attach(subject, role, settings: dict, base_dirs: list, dotted: bool):
    """Give a launch subject the `ckpt` facts of the model its role loads, located at the path's flag."""
    from .hub_cache import resolve
    ckpt = subject.facts["ckpt"]
    ckpt["use"] = role.kind
    if "role.path" in subject.unknown:
        subject.unknown.add("ckpt")
        return
    absent = _unknown_except(KNOWN_WHEN_ABSENT)
    if not isinstance(role.path, str) or not role.path:
        subject.unknown |= absent
        return
    ckpt["path"] = role.path
    local, how = resolve(role.path, base_dirs)
    if local is None:
        ckpt["reason"] = how["kind"]
        subject.unknown |= absent
        subject.skipped.append((role.path, subject.locate("role.path"), how))
        return
    from .facts import describe
    from .hub_cache import entry_of
    checkpoint = _read(os.path.normpath(local), entry_of(local) if how == "hf-cache" else None)
    if how == "hf-cache" and (checkpoint.format == "none" or checkpoint.missing_shards):
        # a partial download: from_pretrained fetches the rest, so what is missing here is no finding
        from ...problems import skip
        ckpt["reason"] = "hf-cache-partial"
        subject.unknown |= absent
        subject.skipped.append((role.path, subject.locate("role.path"), skip("hf-cache-partial")))
        return
    value_role = role.kind in ("reward", "critic") and not role.init_value_head
    facts = describe(checkpoint, role.kind, settings.get("value_head_prefix"),
                     settings.get("normalize_reward") if value_role else False)
    facts["head_expected"] = facts["head_expected"] and value_role
    flag = facts["prefix_flag"] = "--ds.value_head_prefix" if dotted else "--value_head_prefix"
    if facts["prefix_from"] == "flag":
        facts["prefix_from"] = "flag" if "args.value_head_prefix" in subject.provenance else "flag-default"
    facts["path"], facts["reason"] = role.path, how
    subject.facts["ckpt"] = facts
    where = subject.locate("role.path")
    subject.provenance["ckpt"] = where
    if "args.normalize_reward" in subject.provenance:
        subject.provenance["ckpt.normalize_reward"] = subject.provenance["args.normalize_reward"]
    from ...problems import finding as problem
    subject.reader_findings += [problem("checkpoint-unreadable", where, checkpoint=role.path,
                                        file=os.path.basename(e.path), reason=[e.reason]) for e in checkpoint.errors]
    if checkpoint.errors:   # a half-read checkpoint is not judged: `unreadable` says what could not be read
        subject.unknown |= _unknown_except({"available"})

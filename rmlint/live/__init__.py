"""rmlint.guard (rmlint/live): the last check before the first step, on the model a script is about to train or
score with (torch is imported by this call only, never by `import rmlint`).

    model = get_llm_for_sequence_regression(args.pretrain, "reward", ...)
    rmlint.guard(model, checkpoint=args.pretrain, role="reward")   # LintError on errors

It reads what only the live process knows: which head exists and where it is, whether it will be
trained and saved, what the checkpoint's own head holds (read with rmlint's torch-free reader,
the head only), and gathers a ZeRO-3 head through DeepSpeed for that one parameter.
"""

import os

from ..engine import render
from ..finding import Finding, Location, UsageError

ROLES = ("reward", "critic", "train_rm")


def _finding(policy, kind: str, facts: dict, where: Location) -> Finding:
    """A problem the guard found, reported by the rule the YAML names for its kind (a rule pack's
    version of it when one overrides it), worded with the facts it sees."""
    rule = policy.rule_for(kind)
    message = render(rule.problem_message(kind), facts)
    return Finding(rule.id, rule.name, rule.severity, message, where.path, where.line, where.column, rule.fix)


def _checkpoint(path: str, role: str | None, prefix: str, policy) -> tuple:
    """(ckpt facts, the stored head's values or None, findings of the static checkpoint rules, skipped).
    A Hub id is read from the Hugging Face cache, as from_pretrained found it."""
    from .. import engine
    from ..frameworks.checkpoint.subjects import inspect_subject
    from ..frameworks.checkpoint.tensors import read_bytes
    from ..frameworks.checkpoint.values import MAX_HEAD_BYTES, decode
    from ..frameworks.checkpoint.hub_cache import is_local_path, resolve
    local, how = resolve(path, [os.getcwd()], "working-directory")
    if local is None and is_local_path(path):   # the process was told to load from a path that is not there
        found = _finding(policy, "live-checkpoint-missing", {"ckpt": {"path": path}}, Location(path, 0, 0))
        return None, None, [found], []
    if local is None:   # a Hub id not downloaded here: nothing to compare with (listed in Result.skipped)
        from ..formats import skip_reason
        return None, None, [], [(path, Location(path, 0, 0), skip_reason(how))]
    path = local
    use = role if role in ("reward", "critic") else "train_rm" if role == "train_rm" else "reward"
    subject, checkpoint, findings = inspect_subject(path, use, prefix or None, cached=False)
    ckpt = subject.facts["ckpt"]
    if ckpt["prefix_from"] == "flag":
        ckpt["prefix_from"] = "live"
    subject.facts["role"].update(kind=use, name=use, value_head=use != "train_rm")
    rules = [r for r in policy.rules if r.emitted_by == "condition"]
    findings += engine.run([subject], rules)
    stored = None
    if ckpt["head"]["found"] and not subject.unknown:
        tensor = next(t for t in checkpoint.tensors + checkpoint.head_files if t.name == ckpt["head"]["name"])
        stored = decode(read_bytes(tensor, MAX_HEAD_BYTES) or b"", tensor.dtype)
    return ckpt, stored, findings, []


def _training(model, role: str | None, training) -> bool:
    if training is not None:
        return bool(training)
    if role is not None:
        return role in ("train_rm", "critic")   # PPO trains the critic, never the reward model
    return bool(getattr(model, "training", False))


def guard(model, checkpoint=None, role: str | None = None, training: bool | None = None, *,
          rank0_only: bool = True, select=None, ignore=None, settings=None):
    """Check a live reward model, critic or value-head model (plain transformers, PEFT, OpenRLHF,
    TRL, a DeepSpeed engine). `checkpoint` is the path it was loaded from; `role` one of "reward",
    "critic", "train_rm"; `training` whether it is about to be trained (default: train_rm and critic
    are, a reward model is not; without a role, the model's own train/eval mode). Raises
    rmlint.LintError on error findings; warnings go to logging and warnings (on rank 0 only unless
    rank0_only=False). Returns the Result."""
    from ..launcher import report
    result = findings(model, checkpoint, role, training, select=select, ignore=ignore, settings=settings)
    return report(result, quiet=rank0_only and _rank() != 0)


def findings(model, checkpoint=None, role: str | None = None, training: bool | None = None, *,
             select=None, ignore=None, settings=None):
    """What `guard` reports, as a Result, without raising or logging."""
    if role is not None and role not in ROLES:
        raise UsageError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not hasattr(model, "named_parameters"):
        raise UsageError(f"rmlint.guard checks a torch model (or a DeepSpeed engine, a PEFT model), not a "
                         f"{type(model).__name__}")
    from ..lint import Result, _policy
    from .checks import decide, view_of
    from .model import describe
    policy = _policy(select, ignore, settings)
    live = describe(model)
    result, ckpt, stored = Result(files=1), None, None
    if checkpoint is not None:
        ckpt, stored, result.findings, result.skipped = _checkpoint(os.fspath(checkpoint), role,
                                                                     live["head"]["prefix"], policy)
    view = view_of(live, role, ckpt)
    where = Location(f"<{live['model']}>", 0, 0)
    for kind in decide(live, role, _training(model, role, training), ckpt, stored):
        result.findings.append(_finding(policy, kind, view, where))
    result.findings = policy.finish(list(dict.fromkeys(result.findings)), {})
    return result


def _rank() -> int:
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0") or 0)

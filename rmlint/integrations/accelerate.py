"""rmlint.guard in a custom accelerate loop, after accelerator.prepare(...) and before the first step:

    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    rmlint.integrations.accelerate.guard_prepared(accelerator, model, checkpoint=path, role="train_rm")

Every process checks (so every process stops on an error); only the main process logs warnings."""


def guard_prepared(accelerator, model, checkpoint=None, role: str | None = "train_rm", training: bool | None = True,
                   select=None, ignore=None):
    """The guard's Result for the prepared model (DDP, FSDP and DeepSpeed wrappers are unwrapped by
    accelerate; a ZeRO-3 head is gathered alone); raises rmlint.LintError on errors."""
    from ..live import findings
    from ..launcher import report
    result = findings(accelerator.unwrap_model(model), checkpoint, role, training, select=select, ignore=ignore)
    return report(result, quiet=not accelerator.is_main_process)

"""rmlint.guard as a transformers TrainerCallback, for every HF and TRL trainer:

    from rmlint.integrations.transformers import Guard
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[Guard()])

At on_train_begin (the model loaded, wrapped and, under DeepSpeed, partitioned; no step taken) it
checks the model the trainer is about to train: an error finding raises rmlint.LintError out of
trainer.train() before the first step; warnings are logged by the main process only."""

from transformers import TrainerCallback


class Guard(TrainerCallback):
    """`role` defaults to "train_rm" (a trainer trains the model it holds); pass `checkpoint` to
    compare the head with the one the model was loaded from."""

    def __init__(self, checkpoint=None, role: str = "train_rm", select=None, ignore=None):
        self.checkpoint, self.role, self.select, self.ignore = checkpoint, role, select, ignore

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        from ..live import findings
        from ..launcher import report
        result = findings(model, self.checkpoint, self.role, training=True, select=self.select, ignore=self.ignore)
        report(result, quiet=not state.is_world_process_zero)
        return control

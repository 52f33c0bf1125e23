"""A PEFT LoraConfig dump (adapter_config.json with no weights beside it) as `trainer` facts: what
PEFT will train and save, read from task_type, target_modules and modules_to_save. It is taken for a
reward or classification adapter when its task type is SEQ_CLS or it names a head."""

from ..trainer.common import TrainerSettings, as_int, as_list, is_head_like, subject
from ..trainer.defaults import defaults


def subjects(document) -> tuple:
    settings = TrainerSettings.of(document)
    get = settings.get
    saved, targets = as_list(get("modules_to_save")), as_list(get("target_modules"))
    task_type = str(get("task_type") or "")
    names_head = any(map(is_head_like, saved + targets))
    trainer = defaults()
    trainer.update(framework="peft", stage="rm" if task_type == "SEQ_CLS" or names_head else "",
                   finetuning="lora" if str(get("peft_type", "LORA")).upper() == "LORA" else str(get("peft_type")).lower(),
                   lora_rank=as_int(get("r")), lora_targets=targets, modules_to_save=saved, task_type=task_type or "None")
    trainer["keys"].update(modules_to_save="modules_to_save", targets="target_modules", task_type="task_type")
    provenance = {"task_type": "task_type", "lora_targets": "target_modules", "modules_to_save": "modules_to_save"}
    return [subject(settings, trainer, provenance, set(), "adapter")], []

"""rmlint's TrainerCallback and accelerate function on real transformers/PEFT/accelerate training on
the CPU: the guard stops a LoRA reward model whose head PEFT would neither train nor save before the
first step, and lets the correct one train."""

import pytest
import torch

import rmlint
from rmlint.integrations.accelerate import guard_prepared
from rmlint.integrations.transformers import Guard
from test_guard import seqcls


def lora_reward_model(**lora):
    from peft import LoraConfig, get_peft_model
    return get_peft_model(seqcls(), LoraConfig(r=4, target_modules=["q_proj", "v_proj"], **lora))


def trainer(model, tmp_path):
    from transformers import Trainer, TrainingArguments
    torch.manual_seed(0)
    data = [{"input_ids": torch.randint(1, 128, (8,)), "attention_mask": torch.ones(8, dtype=torch.long),
             "labels": torch.tensor(float(i % 2))} for i in range(8)]
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=2, report_to=[],
                             use_cpu=True, save_strategy="no", logging_strategy="no", disable_tqdm=True)
    return Trainer(model=model, args=args, train_dataset=data, callbacks=[Guard()])


def test_trainer_stops_before_the_first_step_on_a_lora_model_without_its_head(tmp_path):
    run = trainer(lora_reward_model(), tmp_path)
    with pytest.raises(rmlint.LintError) as raised:
        run.train()
    assert [f.rule for f in raised.value.findings] == ["RM624"]
    assert run.state.global_step == 0


def test_trainer_trains_the_model_whose_head_peft_saves(tmp_path):
    model = lora_reward_model(task_type="SEQ_CLS")
    before = model.base_model.model.score.modules_to_save["default"].weight.detach().clone()
    run = trainer(model, tmp_path)
    run.train()
    assert run.state.global_step == 2
    assert not torch.equal(before, model.base_model.model.score.modules_to_save["default"].weight)


def test_accelerate_prepared_model():
    from accelerate import Accelerator
    accelerator = Accelerator(cpu=True)
    model = accelerator.prepare(lora_reward_model())
    with pytest.raises(rmlint.LintError, match="RM624"):
        guard_prepared(accelerator, model)
    assert guard_prepared(accelerator, accelerator.prepare(lora_reward_model(modules_to_save=["score"]))).findings == []

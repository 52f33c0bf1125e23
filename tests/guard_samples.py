"""Tiny models for the `guard:` examples of rule files (a test helper, not part of rmlint): a two-layer Llama built on the CPU (or on the
meta device), shaped by the example's keys, and the guard's findings over it."""

import tempfile

HIDDEN = 64


def _config(labels: int):
    from transformers import LlamaConfig
    return LlamaConfig(hidden_size=HIDDEN, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=4, vocab_size=128, num_labels=labels, pad_token_id=0)


def build(spec: dict):
    """The model an example describes: `model` seqcls (default) or base (no head), `labels`, `meta`,
    `frozen`, `normalize` {mean, std, config_mean, config_std}."""
    import torch
    from transformers import LlamaForSequenceClassification, LlamaModel
    torch.manual_seed(0)
    config = _config(spec.get("labels", 1))
    norm = spec.get("normalize")
    if norm and "config_mean" in norm:
        config.mean, config.std = norm["config_mean"], norm["config_std"]
    cls = LlamaModel if spec.get("model") == "base" else LlamaForSequenceClassification
    if spec.get("meta"):
        with torch.device("meta"):
            model = cls(config)
    else:
        model = cls(config)
    if spec.get("frozen"):
        model.score.weight.requires_grad_(False)
    if norm:   # OpenRLHF's RewardModel layout: normalize_reward and mean/std buffers
        model.normalize_reward = True
        model.register_buffer("mean", torch.tensor([float(norm["mean"])]), persistent=False)
        model.register_buffer("std", torch.tensor([float(norm["std"])]), persistent=False)
    return model


def run(spec: dict, select=None, ignore=None):
    """The guard's findings (a Result) for one example; `checkpoint` loaded | redrawn saves the model
    first, and for redrawn draws a new head after the save; missing names a folder that is not there."""
    import torch
    from rmlint.live import findings
    model = build(spec)
    with tempfile.TemporaryDirectory(prefix="rmlint-guard-example-") as folder:
        checkpoint = None
        if spec.get("checkpoint"):
            with torch.no_grad():
                model.score.weight.normal_(0.0, 0.3)   # a trained head: far outside every initialisation
            model.save_pretrained(folder)
            checkpoint = folder if spec["checkpoint"] != "missing" else folder + "/not-saved-here"
            if spec["checkpoint"] == "redrawn":
                torch.nn.init.kaiming_uniform_(model.score.weight)
        return findings(model, checkpoint, spec.get("role"), spec.get("training"), select=select, ignore=ignore)

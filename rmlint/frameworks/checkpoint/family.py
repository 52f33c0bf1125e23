"""Which tokenizer family a model belongs to: from its config.json (`model_type`, and `vocab_size` where
one model type spans tokenizers) when it is readable, else from its name. Families are tokenizers, not
architectures: two models of one family give the same token ids to the same text.

A name that matches no family, or more than one, has no family: rules about families stay quiet then.
"""

import re

# model_type -> family, or {vocab_size: family} where a model type spans tokenizers
_BY_TYPE = {
    "llama": {32000: "Llama-2", 32001: "Llama-2", 128256: "Llama-3"},
    "qwen2": "Qwen2", "qwen2_moe": "Qwen2", "qwen3": "Qwen2", "qwen3_moe": "Qwen2",
    "mistral": {32000: "Mistral", 32768: "Mistral", 131072: "Mistral-Nemo"}, "mixtral": "Mistral",
    "gemma": "Gemma", "gemma2": "Gemma", "gemma3": "Gemma-3", "gemma3_text": "Gemma-3",
    "phi3": {32064: "Phi-3", 100352: "Phi-4"}, "phi": "Phi-2",
    "deepseek_v2": "DeepSeek-V2/V3", "deepseek_v3": "DeepSeek-V2/V3",
    "internlm2": "InternLM2", "gpt_neox": "GPT-NeoX", "gpt2": "GPT-2",
}

# name pattern -> family; Qwen covers Qwen1.5 to Qwen3 (one vocabulary); distilled DeepSeek models take
# their student's family, so `deepseek-r1-distill-qwen` is Qwen2 only
_BY_NAME = (
    (re.compile(r"llama[-_ ]?2|llama2"), "Llama-2"),
    (re.compile(r"llama[-_ ]?3|llama3"), "Llama-3"),
    (re.compile(r"qwen[-_ ]?(1\.5|2|2\.5|3)(?![\d])"), "Qwen2"),
    (re.compile(r"mistral-nemo"), "Mistral-Nemo"),
    (re.compile(r"(mistral|mixtral)(?!-nemo)"), "Mistral"),
    (re.compile(r"gemma[-_ ]?(1\.1|2)?(?![-_ ]?3)(?=[-_ ]|$)"), "Gemma"),
    (re.compile(r"gemma[-_ ]?3"), "Gemma-3"),
    (re.compile(r"phi[-_ ]?3"), "Phi-3"),
    (re.compile(r"phi[-_ ]?4"), "Phi-4"),
    (re.compile(r"phi[-_ ]?2(?![\d])"), "Phi-2"),
    (re.compile(r"deepseek[-_ ]?(v2|v3|r1)(?!-distill)"), "DeepSeek-V2/V3"),
    (re.compile(r"internlm2"), "InternLM2"),
    (re.compile(r"pythia"), "GPT-NeoX"),
)


def of_config(config: dict) -> str:
    family = _BY_TYPE.get(str(config.get("model_type") or ""))
    if isinstance(family, dict):
        vocab = config.get("vocab_size")
        return family.get(vocab, "") if isinstance(vocab, int) else ""
    return family or ""


def of_name(name: str) -> str:
    """The one family a model id or path names ("" for none or several)."""
    text = name.lower().rstrip("/")
    if "distill-qwen" in text:
        text = text.replace("deepseek-r1", "")
    found = {family for pattern, family in _BY_NAME if pattern.search(text)}
    return found.pop() if len(found) == 1 else ""


_CHAT_WORDS = ("chat", "instruct", "it", "base")
_RM_WORDS = re.compile(r"reward|(^|[-_./ ])\w*rm([-_./ ]|v?\d|$)|(^|[-_./ ])(rm|prm|orm)")


def chat_word(name: str) -> str:
    """The chat/instruct/base word of a model name that names no reward model (`-Instruct`), else ""."""
    last = name.rstrip("/").split("/")[-1]
    if _RM_WORDS.search(last.lower()):
        return ""
    for word in re.split(r"[-_. ]", last):
        if word.lower() in _CHAT_WORDS:
            return f"-{word}"
    return ""

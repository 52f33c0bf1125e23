"""The subjects of a rule file's `examples:` entries, read as rmlint reads files and launches: `rmlint facts`
shows real values from them (fact_docs). Only what that command needs is here; the test suite's example
runner (tests/lint_examples.py) and guard models (tests/guard_samples.py) live under tests/."""

import os

from .inputs import subjects_of_text
from .versions import target


def checkout() -> str:
    """The folder rmlint's package sits in: the checkout (or site-packages, for an installed wheel)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def placeholders() -> dict:
    """What the placeholders of rule examples stand for: `{root}` the checkout, `{fixtures}` its checkpoint
    fixtures (tests/fixtures/checkpoints: in a checkout only, so a wheel's `rmlint facts` shows no checkpoint
    example values). fact_docs writes paths back as placeholders, so docs/facts.md is the same everywhere."""
    return {"{fixtures}": os.path.join(checkout(), "tests", "fixtures", "checkpoints"), "{root}": checkout()}


def _expanded(text: str) -> str:
    for placeholder, value in placeholders().items():
        text = text.replace(placeholder, value)
    return text


def example_subjects(example: dict) -> tuple:
    """(subjects, reader findings, suppression texts) of one `examples:` entry of a rule file, read with
    its `versions` ({package: version}) as the target versions."""
    from .versions import Version, Versions
    pinned = Versions({p: Version(str(v), "the example") for p, v in (example.get("versions") or {}).items()})
    with target(pinned):
        return _example_subjects(example)


def _example_subjects(example: dict) -> tuple:
    texts = {}
    if "namespace" in example or "guard" in example or "walk" in example:   # no static subject of its own
        return [], [], texts
    if "checkpoint" in example:
        from .frameworks.checkpoint.subjects import inspect_subject
        subject, _, problems = inspect_subject(os.path.join(placeholders()["{fixtures}"], example["checkpoint"]))
        return [subject], problems, texts
    if "argv" in example:
        argv = _expanded(example["argv"])
        found, problems = subjects_of_text("<example>.sh", argv + "\n", texts=texts)
    elif "deepspeed" in example:
        import json
        from .frameworks.deepspeed.subjects import deepspeed_subject
        from .sources.document import load_json
        # Written out one key per line and read back as a file is, so a finding's line names its key.
        text = json.dumps(example["deepspeed"], indent=2)
        found, problems = [deepspeed_subject(load_json(text, "<example>.json"),
                                             example.get("consumer", "unknown"))], []
    else:
        text = _expanded(example["file"]["text"])
        found, problems = subjects_of_text(example["file"]["name"], text, texts=texts)
    return found, problems, texts

"""A DeepSpeed config as a subject: its keys normalised as DeepSpeed reads them (config.py), each with its line:col."""

from ...facts import defaults
from ...finding import Location
from ...subject import Subject
from .config import normalize


def deepspeed_subject(document, consumer: str) -> Subject:
    """A DeepSpeed config file (or mapping) as a subject; every key keeps its line:col."""
    facts = defaults()
    ds, unknown, written = normalize(document.data, consumer)
    ds["items"]["duplicates"] = [{"path": ".".join(map(str, path)), "key": str(path[-1]),
                                  "line": where[0], "column": where[1]} for path, where in document.duplicates]
    facts["ds"] = ds
    facts["input"]["kind"] = "deepspeed"
    provenance = {"ds." + ".".join(map(str, path)): Location(document.path, *where)
                  for path, where in document.positions.items()}
    for fact, keypath in written.items():
        provenance[fact] = document.locate(keypath)
    subject = Subject("deepspeed", facts, Location(document.path, 1, 1), provenance, unknown)
    subject.deepspeed = document.data if isinstance(document.data, dict) else None
    subject.source = document if document.text else None   # a file's own text, not a config made from flags
    return subject

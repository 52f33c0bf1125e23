"""What a reader (or the live guard) records when it cannot read or check something: a problem of
a named kind, with its place and its facts. The readers sit below the rule catalog, so a problem is
a finding to be completed: the rule whose YAML lists that kind under `problems:` gives its id, name,
severity, fix and message template (policy.Policy.complete). Python names the kind, never the rule."""

from .finding import Finding, Location, SourceError


def finding(kind: str, where: Location, **facts) -> Finding:
    """One problem of `kind` at `where`; its message is the rule's template for the kind, filled from
    `facts` as `{item.<fact>}` once the catalog completes it."""
    return Finding(kind, "", "", repr(sorted(facts.items())), where.path, where.line, where.column,
                   problem=(kind, facts))


def reason(kind: str, **facts) -> "Reason":
    """Why a launch is not understood: a kind the rule's YAML words under `problems:`, with its facts; a
    launch's reasons are worded (joined by "; ") in its finding and in the `launches` record alike."""
    return Reason(kind=kind, **facts)


class Reason(dict):
    """One reason (kind and facts) a launch is not understood, worded once the catalog is at hand."""


def skip(kind: str, **facts) -> "Skip":
    """Why a checkpoint's checks are skipped (not on this machine, not read from the Hub): no rule's finding but a
    note, worded by the output (formats.SKIPPED) for the text and JSON alike; a fact may be a Skip itself."""
    return Skip(kind=kind, **facts)


class Skip(dict):
    """One reason (kind and facts) a checkpoint was not read."""


def unreadable(err: SourceError) -> Finding:
    """The problem of a file (or part of one) that cannot be read, at the place the reader stopped."""
    kind, facts = err.problem
    return finding(kind, err.location, **facts)


def reported_by(found: Finding, kind: str) -> bool:
    """Whether a finding is (or was, before completion) a problem of `kind`."""
    return bool(found.problem) and found.problem[0] == kind

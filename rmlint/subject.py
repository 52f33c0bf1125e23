"""A Subject is what rules look at: one normalized set of facts (a DeepSpeed config, or one model
of an OpenRLHF launch), where each fact came from, and which facts cannot be known."""

from dataclasses import dataclass, field

from .finding import Location


def _target_versions() -> dict:
    from .versions import current
    return current().facts()


@dataclass(eq=False)
class Subject:
    """What the rules judge: one launch, config or checkpoint as facts, with where each fact is written."""
    kind: str                      # "openrlhf" | "deepspeed"
    facts: dict
    anchor: Location               # where a finding goes when its fact has no better place
    provenance: dict = field(default_factory=dict)   # fact path -> Location
    unknown: set = field(default_factory=set)        # fact paths rules must not rely on
    reader_findings: list = field(default_factory=list)   # unreadable-input findings met while gathering the facts
    skipped: list = field(default_factory=list)   # (model path, Location, reason): checkpoints not on this machine
    deepspeed: dict | None = None      # the DeepSpeed config as DeepSpeed receives it (exact mode validates it)
    world_size: int = 0                # its data-parallel size, 0 when not known
    settings_files: list = field(default_factory=list)   # config files a launch reads its settings from
    versions: dict = field(default_factory=_target_versions)   # the target versions where it was read
    source: object = None              # the Document (path, text) of the file it was read from, for fixes

    def place_of(self, fact_path: str) -> Location | None:
        """Where the setting behind `fact_path` (or its nearest ancestor) is written; None when no
        input sets it."""
        path = fact_path
        while path:
            if path in self.provenance:
                return self.provenance[path]
            path = path.rpartition(".")[0]
        return None

    def locate(self, fact_path: str) -> Location:
        """place_of(fact_path), else the subject's anchor."""
        return self.place_of(fact_path) or self.anchor

    def knows(self, fact_path: str) -> bool:
        """False when the path, an ancestor or a descendant of it is unknown. Memoised: every rule of
        the catalog asks about the same few hundred paths."""
        if getattr(self, "_seen_size", None) != len(self.unknown):
            self._seen_size, self._answers = len(self.unknown), {}
            self._blocked = {".".join(path.split(".")[:i]) for path in self.unknown
                             for i in range(1, path.count(".") + 1)}   # proper ancestors of unknown paths
        answer = self._answers.get(fact_path)
        if answer is None:
            parts = fact_path.split(".")
            answer = fact_path not in self._blocked and not any(
                ".".join(parts[:i]) in self.unknown for i in range(1, len(parts) + 1))
            self._answers[fact_path] = answer
        return answer

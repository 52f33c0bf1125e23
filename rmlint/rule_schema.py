"""The schema of a rule file (pydantic), checked by the catalog tests and for user rule packs."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ExpectedFinding(BaseModel):
    """Where and what a bad example raises: `at` is line:col within the example (`file` for a finding
    about a whole file or folder), `message` the exact words ({fixtures}, {root}, {tmp} for paths)."""
    model_config = ConfigDict(extra="forbid")
    at: str = Field(pattern=r"^(file|[0-9]+:[0-9]+)$")
    message: str = Field(min_length=1)


class ExamplesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bad: list[dict] = Field(min_length=1)
    good: list[dict] = Field(min_length=1)

    @field_validator("bad")
    @classmethod
    def _expectations(cls, value):
        for example in value:
            for expected in example.get("expect") or []:
                ExpectedFinding.model_validate(expected)
        return value


class RuleModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^RM\d{3}$")
    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    severity: Literal["error", "warning", "info"]
    scope: list[Literal["openrlhf", "deepspeed", "checkpoint", "trainer", "live"]] = Field(min_length=1)
    summary: str = Field(min_length=1)
    when: str = Field(min_length=1)
    emitted_by: Literal["condition", "reader", "guard"] = "condition"
    for_each: str | None = None
    problems: dict[str, str | None] | None = None
    fix_safety: Literal["safe", "unsafe"] | None = None
    fix_edit: str | None = Field(default=None, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    fix_title: str | None = Field(default=None, min_length=1)
    at: list[str] = []
    message: str = Field(min_length=1)
    why: str = Field(min_length=1)
    fix: str
    references: list[str] = Field(min_length=1)
    examples: ExamplesModel

    @field_validator("problems")
    @classmethod
    def _kinds(cls, value):
        import re
        for kind in value or {}:
            if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", kind):
                raise ValueError(f"problem kind {kind!r} is not lower-case words joined by dashes")
        return value

    @model_validator(mode="after")
    def _fix_declared_whole(self):
        from .fix import EDITS
        if self.fix_edit is not None and self.fix_edit not in EDITS:
            raise ValueError(f"fix_edit {self.fix_edit!r} is not an edit rmlint makes ({', '.join(sorted(EDITS))})")
        if len({self.fix_safety is None, self.fix_edit is None, self.fix_title is None}) > 1:
            raise ValueError("fix_safety and fix_edit go together, with fix_title: a fix says how safe it is, which "
                             "edit it makes and the words that list it")
        import re
        for fact in re.findall(r"\{(?:if |elif )?([a-z_][A-Za-z0-9_.]*)", self.fix_title or ""):
            if fact not in ("else", "end") and (fact[:5] != "edit." or fact[5:] not in EDITS[self.fix_edit]):
                raise ValueError(f"fix_title: `{fact}` is not a fact of the {self.fix_edit} edit (its facts: "
                                 f"{', '.join('edit.' + name for name in EDITS[self.fix_edit])})")
        return self

    @field_validator("summary")
    @classmethod
    def _no_period(cls, value):
        if value.endswith("."):
            raise ValueError("a summary has no trailing period")
        return value

    @field_validator("fix")
    @classmethod
    def _period(cls, value):
        if not value.rstrip().endswith("."):
            raise ValueError("a fix is a sentence ending with a period")
        return value

    @field_validator("references")
    @classmethod
    def _https(cls, value):
        for ref in value:
            if not ref.startswith("https://"):
                raise ValueError(f"reference {ref!r} is not an https URL")
        return value

"""Explanation models: why a result is what it is, why not something else, and what would change it.

Every text field is in a clinician's words (``Ruleset.vocabulary``); ids (rules, facts,
conditions) sit beside them for the auditor and for programs. The same case, ruleset and
engine always give the same explanation, byte for byte (nothing timed is in it).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..conclusions.result import EngineInfo, RulesetInfo

Value = bool | int | float | str | None
"""A finding's value (``None``: unknown)."""


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Grounds(_Out):
    """The findings behind one triage level or differential entry, in words.

    ``supporting`` argue for it, ``conflicting`` argue against it, ``unconfirmed`` are
    unknown and would matter if known (never counted either way).
    """

    supporting: list[str]
    conflicting: list[str]
    unconfirmed: list[str]
    rules: list[str] = Field(description="The fired rules behind the supporting findings.")


class TriageGrounds(Grounds):
    """Why the triage is at its level.

    The level is the highest any fired rule sets, so nothing found argues against it:
    ``conflicting`` is always empty here. Findings behind fired rules that set a lower level
    are in ``lower_level``: they were found too, but are outweighed, not contrary.
    """

    level: str
    label: str
    lower_level: list[str] = Field(
        description="Findings behind fired rules that set a lower level (outweighed by this "
        "one, not against it).")


class ConditionGrounds(Grounds):
    """Why one condition is in the differential."""

    condition: str
    title: str
    support: str = Field(description="The score in words, e.g. 'strong support'.")


class FailedTest(_Out):
    """One test of a rule's condition that is not true on this case."""

    fact: str
    wanted: str = Field(description="What the rule asks for, in words.")
    actual: str = Field(description="What the case says, in words ('unknown' when not given).")
    unknown: bool = Field(description="True when the case leaves the finding unknown.")


class NearMiss(_Out):
    """A rule that did not fire, with the fewest of its tests that failed."""

    rule: str
    title: str
    failed: list[FailedTest]


class WhyNotLevel(_Out):
    """Why the triage is not at a higher level: the nearest rules that set that level."""

    level: str
    label: str
    nearest: list[NearMiss]


class WhyNotCondition(_Out):
    """Why a condition is not in the differential: the nearest rules that would support it."""

    condition: str
    title: str
    nearest: list[NearMiss]


class Change(_Out):
    """One finding changed or made known."""

    input: str = Field(description="The contract input name, e.g. 'weakness' or 'twitching.course'.")
    before: Value
    after: Value
    words: str = Field(description="The change in words, e.g. 'muscle weakness (was: no)'.")


class WhatIf(_Out):
    """A smallest set of changes (one or two findings) that changes the result, found by the engine."""

    changes: list[Change]
    triage_before: str
    triage_after: str
    conditions_added: list[str]
    conditions_dropped: list[str]
    rules_fired: list[str] = Field(description="Rules that fire on the changed case and did not before.")
    rules_stopped: list[str] = Field(description="Rules that fired before and no longer do.")
    summary: str = Field(description="What would change, in words.")


class WhatIfSearch(_Out):
    """How far the what-if search went: candidates proposed, engine runs made, the cap."""

    candidates: int = Field(ge=0)
    engine_runs: int = Field(ge=0)
    cap: int = Field(ge=1)
    capped: bool = Field(description="True when candidates were left untried because of the cap.")


class Explanation(_Out):
    """Why a case's result is what it is, why not more, and what would change it."""

    ruleset: RulesetInfo
    engine: EngineInfo
    triage: TriageGrounds
    differential: list[ConditionGrounds]
    why_not_levels: list[WhyNotLevel]
    why_not_conditions: list[WhyNotCondition]
    what_if: list[WhatIf]
    search: WhatIfSearch
    kind: Literal["twitchrules-explanation"] = "twitchrules-explanation"

    def to_dict(self) -> dict[str, Any]:
        """The explanation as plain JSON values."""
        return self.model_dump(mode="json")

    def to_json(self, indent: int | None = 2) -> str:
        """The explanation as JSON text (the same case, ruleset and engine: the same bytes)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

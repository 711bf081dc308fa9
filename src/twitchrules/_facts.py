"""Facts: a validated case -> the flat, named facts that rule conditions match.

Inputs that the case does not give are left out: absent is unknown, never false.
Qualifiers declared in ``definitions.qualifiers`` (e.g. ``weakness_progressive`` under
``weakness``) are taken as false when their parent is known false: a logical consequence,
not a default. Computed facts (durations, segments, sides) always have a value, since the contract makes
regions and dates required. The segment map and the "persists" threshold come from the
ruleset's ``definitions``, so a reviewer sees them next to the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._case import Case
from ._vocabulary import (
    BOOLEAN_FINDINGS,
    COURSES,
    ENUM_FINDINGS,
    LAB_FINDINGS,
    NUMERIC_FINDINGS,
    REGIONS,
    SEXES,
)

FactValue = bool | int | float | str


@dataclass(frozen=True)
class FactSpec:
    """What a fact name holds: its kind, its type and, for words, the allowed values."""

    name: str
    kind: str  # "input" (may be unknown) or "computed" (always known)
    type: str  # "boolean", "number" or "enum"
    values: tuple[str, ...] = ()
    input_name: str = ""  # the contract name reported in missing_information


COUNTERS: tuple[str, ...] = ("checklist_met_count",)
"""Counters maintained by the engine from conclusions (tested with gte/gt only)."""


def fact_catalogue(segments: Mapping[str, Any]) -> dict[str, FactSpec]:
    """Every fact a condition may name (besides derived facts and counters)."""
    specs: list[FactSpec] = []
    for name in BOOLEAN_FINDINGS:
        specs.append(FactSpec(name, "input", "boolean", input_name=name))
    for name in (*NUMERIC_FINDINGS, *LAB_FINDINGS):
        specs.append(FactSpec(name, "input", "number", input_name=name))
    for name, values in ENUM_FINDINGS.items():
        specs.append(FactSpec(name, "input", "enum", values, input_name=name))
    specs.append(
        FactSpec("course", "input", "enum", COURSES[:-1], input_name="twitching.course")
    )
    specs.append(
        FactSpec("relieved_by_rest", "input", "boolean", input_name="twitching.relieved_by_rest")
    )
    specs.append(FactSpec("age", "computed", "number"))
    specs.append(FactSpec("sex", "computed", "enum", SEXES))
    for name in ("duration_days", "region_count", "segment_count", "head_region_count"):
        specs.append(FactSpec(name, "computed", "number"))
    for name in ("sides_left", "sides_right"):
        specs.append(FactSpec(name, "computed", "boolean"))
    for region in REGIONS:
        specs.append(FactSpec(f"region_{region}", "computed", "boolean"))
    for segment in segments:
        specs.append(FactSpec(f"segment_{segment}", "computed", "boolean"))
    return {spec.name: spec for spec in specs}


def build_facts(case: Case, definitions: Mapping[str, Any]) -> dict[str, FactValue]:
    """The known facts of a case, by name; unknown inputs are absent."""
    segments: Mapping[str, list[str]] = definitions["segments"]
    facts: dict[str, FactValue] = dict(case.known_findings())
    for parent, qualifiers in definitions.get("qualifiers", {}).items():
        if facts.get(parent) is False:  # e.g. no weakness: no progressive weakness either
            for qualifier in qualifiers:
                facts.setdefault(qualifier, False)
    twitching = case.twitching
    if twitching.course != "unknown":
        facts["course"] = twitching.course
    if twitching.relieved_by_rest is not None:
        facts["relieved_by_rest"] = twitching.relieved_by_rest
    facts["age"] = case.patient.age
    facts["sex"] = case.patient.sex

    regions = {entry.region for entry in twitching.regions}
    earliest = min(entry.since for entry in twitching.regions)
    facts["duration_days"] = (case.assessed_on - earliest).days
    facts["region_count"] = len(regions)
    segment_of = {region: seg for seg, members in segments.items() for region in members}
    touched = {segment_of[region] for region in regions if region in segment_of}
    facts["segment_count"] = len(touched)
    facts["head_region_count"] = len(regions & set(segments.get("head", ())))
    sides = {entry.side for entry in twitching.regions}
    facts["sides_left"] = bool(sides & {"left", "both"})
    facts["sides_right"] = bool(sides & {"right", "both"})
    for region in REGIONS:
        facts[f"region_{region}"] = region in regions
    for segment in segments:
        facts[f"segment_{segment}"] = segment in touched
    return facts

"""Facts: a validated case -> the flat, named facts that rule conditions match.

Inputs that the case does not give are left out: absent is unknown, never false.
Qualifiers declared in ``definitions.qualifiers`` (e.g. ``weakness_progressive`` under
``weakness``) are taken as false when their parent is known false: a logical consequence,
not a default. Computed facts (durations, segments, sides) always have a value, since the
contract makes regions and dates required. The segment map and the qualifiers come from the
ruleset's ``definitions`` (so a reviewer sees them next to the rules), prepared once per
ruleset as ``FactDefinitions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import vocabulary as words
from .model import Case

FactValue = bool | int | float | str
"""The value of one known fact."""

COUNTERS: tuple[str, ...] = (words.CHECKLIST_COUNTER,)
"""Counters maintained by the engine from conclusions (tested with gte/gt only)."""


@dataclass(frozen=True)
class FactSpec:
    """What a fact name holds: its kind, its type and, for words, the allowed values."""

    name: str
    kind: Literal["input", "computed"]  # an input may be unknown; a computed fact never is
    type: Literal["boolean", "number", "enum"]
    values: tuple[str, ...] = ()
    input_name: str = ""  # the contract name reported in missing_information


@dataclass(frozen=True)
class FactDefinitions:
    """The parts of a ruleset's ``definitions`` that turn a case into facts, prepared once."""

    segments: Mapping[str, tuple[str, ...]]
    segment_of: Mapping[str, str]
    head_regions: frozenset[str]
    qualifiers: Mapping[str, tuple[str, ...]]
    region_facts: tuple[tuple[str, str], ...]  # (region, its fact), every region
    segment_facts: tuple[tuple[str, str], ...]  # (segment, its fact)
    number_facts: tuple[str, ...]  # the facts of type number: the only ones a float can be

    @classmethod
    def from_definitions(cls, definitions: Mapping[str, Any]) -> FactDefinitions:
        """Prepare the segment map and qualifiers of a ruleset's ``definitions``."""
        segments = {name: tuple(members) for name, members in definitions["segments"].items()}
        return cls(
            segments=segments,
            segment_of={region: seg for seg, members in segments.items() for region in members},
            head_regions=frozenset(segments.get("head", ())),
            qualifiers={parent: tuple(names)
                        for parent, names in definitions.get("qualifiers", {}).items()},
            region_facts=tuple((region, f"region_{region}") for region in words.REGIONS),
            segment_facts=tuple((segment, f"segment_{segment}") for segment in segments),
            number_facts=tuple(name for name, spec in fact_catalogue(segments).items()
                               if spec.type == "number"),
        )


def fact_catalogue(segments: Mapping[str, Any]) -> dict[str, FactSpec]:
    """Every fact a condition may name (besides derived facts and counters)."""
    specs: list[FactSpec] = []
    for name in words.BOOLEAN_FINDINGS:
        specs.append(FactSpec(name, "input", "boolean", input_name=name))
    for name in words.NUMBER_FINDINGS:
        specs.append(FactSpec(name, "input", "number", input_name=name))
    for name, values in words.ENUM_FINDINGS.items():
        specs.append(FactSpec(name, "input", "enum", values, input_name=name))
    for name, fact in words.DATE_FINDINGS.items():
        specs.append(FactSpec(fact, "input", "number", input_name=name))
    specs.append(
        FactSpec("course", "input", "enum", words.COURSES[:-1], input_name="twitching.course")
    )
    specs.append(
        FactSpec("relieved_by_rest", "input", "boolean", input_name="twitching.relieved_by_rest")
    )
    specs.append(FactSpec("age", "computed", "number"))
    specs.append(FactSpec("sex", "computed", "enum", words.SEXES))
    for name in ("duration_days", "region_count", "segment_count", "head_region_count"):
        specs.append(FactSpec(name, "computed", "number"))
    for name in ("sides_left", "sides_right"):
        specs.append(FactSpec(name, "computed", "boolean"))
    for region in words.REGIONS:
        specs.append(FactSpec(f"region_{region}", "computed", "boolean"))
    for segment in segments:
        specs.append(FactSpec(f"segment_{segment}", "computed", "boolean"))
    return {spec.name: spec for spec in specs}


def build_facts(case: Case, definitions: FactDefinitions) -> dict[str, FactValue]:
    """The known facts of a case, by name; unknown inputs are absent."""
    facts: dict[str, FactValue] = {}
    for name, value in case.known_findings().items():
        if name in words.DATE_FINDINGS:  # a date becomes the days from it to the assessment
            facts[words.DATE_FINDINGS[name]] = case.days_since(value)
        else:
            facts[name] = value
    for parent, qualifiers in definitions.qualifiers.items():
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
    segment_of = definitions.segment_of
    touched = {segment_of[region] for region in regions if region in segment_of}
    facts["segment_count"] = len(touched)
    facts["head_region_count"] = len(regions & definitions.head_regions)
    sides = {entry.side for entry in twitching.regions}
    facts["sides_left"] = bool(sides & {"left", "both"})
    facts["sides_right"] = bool(sides & {"right", "both"})
    for region, fact in definitions.region_facts:
        facts[fact] = region in regions
    for segment, fact in definitions.segment_facts:
        facts[fact] = segment in touched
    return facts

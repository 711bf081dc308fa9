"""Vocabulary: the one place a fact, a condition, a rule or a value becomes a clinician's words.

It joins the contract's words (``case/words.yaml``: every input's label, question and
phrases, the computed facts, levels and values) with the ruleset's own ``words`` (a phrase
for each fact its rules derive, the words of its body segments) and its titles (each
condition's and each rule's). Every output takes its words from here::

    vocabulary = ruleset.vocabulary
    vocabulary.phrase("segment_arms", True)       # 'twitching in the arms'
    vocabulary.phrase("numbness", False)          # 'no numbness'
    vocabulary.phrase("potassium_mmol_l", 3.1)    # 'potassium 3.1 mmol/L (low)'
    vocabulary.value("weakness", None)            # 'unknown'
    vocabulary.question("twitching.course")       # the Questionnaire item's text

``missing_words()`` lists whatever has no words (a test keeps it empty for the bundled
ruleset). A ruleset without ``words`` still reads in words: a derived fact then reads as
the title of the rule that asserts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, Protocol

from ..case.facts import COUNTERS, FactDefinitions, FactSpec, FactValue
from ..case.vocabulary import LAB_FINDINGS, REGIONS
from ..case.words import ContractWords, FactWords, LevelWords, contract_words


class TitledRule(Protocol):
    """What the vocabulary reads of a rule: its id and its title."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...


class WordedRuleset(Protocol):
    """What the vocabulary reads of a ruleset (``ruleset.model.Ruleset`` is one).

    A protocol, not the model itself: the model builds its vocabulary, so the vocabulary
    must not import the model.
    """

    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def catalogue(self) -> Mapping[str, FactSpec]: ...
    @property
    def derived_names(self) -> frozenset[str]: ...
    @property
    def rules(self) -> Sequence[TitledRule]: ...
    @property
    def definitions(self) -> Mapping[str, Any]: ...
    @property
    def fact_definitions(self) -> FactDefinitions: ...
    @property
    def input_names(self) -> Mapping[str, str]: ...
    @property
    def producers(self) -> Mapping[str, Sequence[TitledRule]]: ...
    @property
    def triage_default(self) -> Mapping[str, Any]: ...

    def rule(self, rule_id: str) -> TitledRule: ...

_REGION, _SEGMENT = "region_", "segment_"


def number_words(value: float) -> str:
    """A number as people write it: ``92`` not ``92.0``, ``3.1`` not ``3.1000000000000001``."""
    if isinstance(value, bool):  # pragma: no cover - callers pass numbers
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"


class Vocabulary:
    """The words of one ruleset: contract words, the ruleset's ``words``, its titles."""

    def __init__(self, ruleset: WordedRuleset) -> None:
        self.ruleset = ruleset
        self.contract: ContractWords = contract_words()
        words: Mapping[str, Any] = ruleset.data.get("words", {})
        self.derived: Mapping[str, str] = words.get("facts", {})
        self.segments: Mapping[str, str] = words.get("segments", {})

    # --- facts ------------------------------------------------------------------------
    @cached_property
    def _input_of(self) -> dict[str, str]:
        return dict(self.ruleset.input_names)

    def fact_words(self, fact: str) -> FactWords | None:
        """The words of a fact (an input, a computed or a derived fact), ``None`` if it has none."""
        contract = self.contract
        if fact in self._input_of:
            return contract.inputs.get(self._input_of[fact])
        if fact in self.ruleset.derived_names:
            phrase = self.derived.get(fact) or self._producer_title(fact)
            return FactWords(label=_upper_first(phrase), present=phrase) if phrase else None
        if fact in contract.computed:
            return contract.computed[fact]
        name = fact.removeprefix(_REGION)
        if fact.startswith(_REGION) and name in REGIONS:
            return self._placed(_REGION, "{region}", self.region(name))
        name = fact.removeprefix(_SEGMENT)
        if fact.startswith(_SEGMENT) and name in self.ruleset.fact_definitions.segments:
            return self._placed(_SEGMENT, "{segment}", self.segment(name))
        return None

    def _placed(self, prefix: str, slot: str, place: str) -> FactWords | None:
        """The words of ``region_<r>``/``segment_<s>``: the prefix's template, the place put in."""
        template = self.contract.computed.get(prefix)
        if template is None:
            return None
        filled = {key: text.replace(slot, place)
                  for key, text in template.model_dump(exclude_none=True).items()
                  if isinstance(text, str)}
        return FactWords(**filled)

    def _producer_title(self, fact: str) -> str | None:
        producers = self.ruleset.producers.get(fact)
        if not producers:
            return None
        return _lower_first(producers[0].title)

    def label(self, fact: str) -> str:
        """A fact's label, e.g. ``Muscle wasting`` (an input name also works: ``twitching.course``)."""
        words = self.fact_words(fact) or self.contract.inputs.get(fact)
        return words.label if words else _fallback(fact)

    def question(self, input_name: str) -> str:
        """The question that asks for an input (the Questionnaire item's text)."""
        words = self.contract.inputs.get(input_name)
        if words is None or not words.question:
            return f"{self.label(input_name)}?"
        return words.question

    def phrase(self, fact: str, value: FactValue | None) -> str:
        """The short clinical phrase of a fact with its value, e.g. ``no numbness``."""
        words = self.fact_words(fact)
        if words is None:
            return f"{_fallback(fact)}: {self.value(fact, value)}"
        if value is None:
            return f"{_lower_first(words.label)}: {self.contract.answers['unknown']}"
        if isinstance(value, bool):
            if value:
                return words.present or words.label
            return words.absent or f"no {words.present or _lower_first(words.label)}"
        if isinstance(value, (int, float)):
            template = (words.value_one if value == 1 and words.value_one else words.value)
            text = (template or f"{words.label} {{value}}").replace("{value}", number_words(value))
            flag = self.lab_flag(fact, value)
            return f"{text} ({flag})" if flag else text
        return words.values.get(value, f"{words.label}: {value}")

    def value(self, fact: str, value: FactValue | None) -> str:
        """A fact's value alone, in words: ``present``, ``absent``, ``unknown``, ``3.1 mmol/L (low)``."""
        answers = self.contract.answers
        if value is None:
            return answers["unknown"]
        if isinstance(value, bool):
            return answers["yes" if value else "no"]
        if isinstance(value, (int, float)):
            unit = LAB_FINDINGS[fact].unit if fact in LAB_FINDINGS else ""
            text = f"{number_words(value)} {unit}".strip()
            flag = self.lab_flag(fact, value)
            return f"{text} ({flag})" if flag else text
        words = self.fact_words(fact)
        return words.values.get(value, value) if words else value

    def lab_flag(self, fact: str, value: float) -> str | None:
        """A laboratory value's flag against the ruleset's limits (``low``, ``in range`` ...)."""
        limits = self.ruleset.definitions.get("lab_limits", {}).get(fact)
        if not limits:
            return None
        flags = self.contract.lab_flags
        # Critical limits are inclusive (a potassium of exactly 6.5 mmol/L is critical).
        checks = (("critical_low", value <= limits.get("critical_low", float("-inf"))),
                  ("critical_high", value >= limits.get("critical_high", float("inf"))),
                  ("low", value < limits.get("low", float("-inf"))),
                  ("high", value > limits.get("high", float("inf"))),
                  ("deficient", value < limits.get("deficient_below", float("-inf"))),
                  ("indeterminate", value <= limits.get("indeterminate_up_to", float("-inf"))))
        for flag, holds in checks:
            if holds:
                return flags[flag]
        return flags["normal"]

    # --- places, titles, levels ----------------------------------------------------------
    def region(self, region: str) -> str:
        """A body region in words (``upper arm``)."""
        return self.contract.regions.get(region, _fallback(region))

    def segment(self, segment: str) -> str:
        """A body segment of the ruleset in words (``the arms``)."""
        return self.segments.get(segment) or f"the {_fallback(segment)}"

    def condition_title(self, condition: str) -> str:
        """A differential condition's title (``Multifocal motor neuropathy``)."""
        meta = self.ruleset.data["conditions"].get(condition)
        return str(meta["title"]) if meta else _fallback(condition)

    def rule_title(self, rule_id: str) -> str:
        """A rule's title; the default triage reads as its reason's first words."""
        default = self.ruleset.triage_default
        if rule_id == default["id"]:
            return str(default.get("title") or "No triage rule applies (the default level)")
        try:
            return self.ruleset.rule(rule_id).title
        except KeyError:
            return "a rule of another ruleset"

    def level(self, level: str) -> LevelWords:
        """A triage level's label and what it calls for."""
        return self.contract.triage_levels[level]

    def support(self, score: float) -> str:
        """A differential score in words (``strong support``)."""
        return self.contract.support.words_for(score)

    def checklist_status(self, status: str) -> str:
        """A checklist item's status in words (``applies``)."""
        return self.contract.checklist_status[status]

    # --- completeness -----------------------------------------------------------------
    def missing_words(self) -> list[str]:
        """Every fact, condition, rule, level and value that has no words (empty: complete)."""
        problems = []
        ruleset = self.ruleset
        for fact, input_name in ruleset.input_names.items():
            words = self.contract.inputs.get(input_name)
            if words is None or not words.question:
                problems.append(f"input '{input_name}' has no label and question")
                continue
            spec = ruleset.catalogue[fact]
            if spec.type == "boolean" and not (words.present and words.absent):
                problems.append(f"input '{input_name}' needs 'present' and 'absent' phrases")
            if spec.type == "number" and not words.value:
                problems.append(f"input '{input_name}' needs a 'value' phrase")
            for value in spec.values:
                if value not in words.values:
                    problems.append(f"input '{input_name}' has no words for '{value}'")
        for fact, spec in ruleset.catalogue.items():
            if spec.kind == "computed" and self.fact_words(fact) is None:
                problems.append(f"computed fact '{fact}' has no words")
            for value in spec.values if spec.kind == "computed" else ():
                words = self.fact_words(fact)
                if words is not None and value not in words.values:
                    problems.append(f"computed fact '{fact}' has no words for '{value}'")
        for segment in ruleset.fact_definitions.segments:
            if segment not in self.segments:
                problems.append(f"segment '{segment}' has no words (words.segments)")
        for fact in sorted(ruleset.derived_names):
            if not self.derived.get(fact):
                problems.append(f"derived fact '{fact}' has no phrase (words.facts)")
        problems += [f"counter '{name}' has no words" for name in COUNTERS
                     if name not in self.contract.computed]
        for condition, meta in ruleset.data["conditions"].items():
            if not str(meta.get("title", "")).strip():
                problems.append(f"condition '{condition}' has no title")
        problems += [f"rule '{rule.id}' has no title" for rule in ruleset.rules if not rule.title.strip()]
        for level in ruleset.definitions.get("triage_levels", ()):
            if level not in self.contract.triage_levels:
                problems.append(f"triage level '{level}' has no words")
        return problems


def _fallback(name: str) -> str:
    """A name no words were given for, made readable (used only for rulesets without words)."""
    return name.replace("_", " ").replace("-", " ")


def _lower_first(text: str) -> str:
    """``Muscle wasting`` -> ``muscle wasting``; an acronym stays (``TSH``, ``CK``)."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]

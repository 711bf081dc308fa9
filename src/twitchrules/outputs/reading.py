"""Reading: a result as a clinician reads it, in the vocabulary's words, for every output.

The text and HTML reports, the CDS Hooks card and the GuidanceResponse narrative all render
one ``Reading``: the evidence for and against each condition as short clinical phrases
("asymmetric weakness, twitching in the arms; no numbness or tingling"), each score as
words ("strong support"), the missing information as the questions to ask, most
consequential first and grouped by what the answer could change, and the trace for the
auditor. Ids (rule, condition, fact names) appear only in the parts kept for the auditor:
``Reading.trace`` and each line's ``rules``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..case.vocabulary import TRIAGE_LEVELS, level_rank
from ..conclusions import Result
from ..conclusions.result import DifferentialEntry, EvidenceItem, MissingInput
from ..errors import RulesetError
from ..ruleset.conditions import Atom, atoms
from ..ruleset.load import load_ruleset
from ..ruleset.model import Rule, Ruleset
from ..ruleset.sources import resolve_ruleset
from ..ruleset.vocabulary import Vocabulary


@dataclass(frozen=True)
class ConditionReading:
    """One differential entry in words."""

    rank: int
    title: str
    support: str
    score: float
    supported_by: str
    against: str
    unconfirmed: list[str]
    tests: list[str]
    rules: list[str]


@dataclass(frozen=True)
class Question:
    """One question to ask: the Questionnaire's words, what a yes could mean, what it bears on."""

    input: str
    text: str
    consequence: str
    bears_on: list[str]
    rules: list[str]
    reach: str | None = None  # the triage level the answer could lead to (None: differential only)


@dataclass(frozen=True)
class QuestionGroup:
    """The questions whose answers could change the same thing (a triage level, the differential)."""

    heading: str
    questions: list[Question]


@dataclass(frozen=True)
class ChecklistLine:
    """One checklist item: a finding about the patient and whether it applies."""

    text: str
    status: str
    status_words: str
    evidence: list[str]
    rules: list[str]


@dataclass(frozen=True)
class TraceLine:
    """One fired rule for the auditor: id, version, title, matched facts in words, conclusions."""

    rule: str
    version: str
    title: str
    matched: list[str]
    concluded: list[str]
    source: str


@dataclass(frozen=True)
class Reading:
    """What every output shows of one result, in the vocabulary's words."""

    result: Result
    vocabulary: Vocabulary
    level_label: str
    triage_rules: list[str]
    differential: list[ConditionReading]
    support_explained: str
    checklist: list[ChecklistLine]
    questions: list[QuestionGroup]
    trace: list[TraceLine]


@lru_cache(maxsize=1)
def _bundled() -> Ruleset:
    return load_ruleset()


@lru_cache(maxsize=8)
def _released(sha256: str) -> Ruleset | None:
    try:
        return resolve_ruleset(f"sha256:{sha256}")
    except RulesetError:
        return None


def ruleset_of(result: Result, ruleset: Ruleset | None = None) -> Ruleset:
    """The ruleset that produced ``result``: the one given, the bundled one, or a release.

    Raises ``ValueError`` when the ruleset given is another one, or when none is given and
    the result's ruleset is neither the bundled ruleset nor one of its releases.
    """
    sha256 = result.ruleset.sha256
    if ruleset is not None:
        if ruleset.sha256 != sha256:
            raise ValueError("the ruleset given is not the one that produced this result "
                             f"({ruleset.sha256[:12]}... vs {sha256[:12]}...)")
        return ruleset
    if _bundled().sha256 == sha256:
        return _bundled()
    released = _released(sha256)
    if released is None:
        raise ValueError(f"the words of ruleset {result.ruleset.name} {result.ruleset.version} "
                         "are needed: pass the ruleset that produced this result")
    return released


def read_result(result: Result, ruleset: Ruleset | None = None) -> Reading:
    """The reading of a result; ``ruleset`` is the one that produced it (found if omitted)."""
    found = ruleset_of(result, ruleset)
    vocabulary = found.vocabulary
    return Reading(
        result=result, vocabulary=vocabulary,
        level_label=vocabulary.level(result.triage.level).label,
        triage_rules=list(result.triage.rules),
        differential=[_condition(entry, vocabulary) for entry in result.differential],
        support_explained=vocabulary.contract.support.explained,
        checklist=[ChecklistLine(item.text, item.status, vocabulary.checklist_status(item.status),
                                 list(item.evidence), list(item.rules))
                   for item in result.checklist.items],
        questions=questions(result, found),
        trace=[TraceLine(entry.rule, entry.version, vocabulary.rule_title(entry.rule),
                         [f"{name}: {vocabulary.value(name, value)}"
                          for name, value in entry.matched.items()],
                         list(entry.concluded), entry.source)
               for entry in result.trace],
    )


# --- evidence ----------------------------------------------------------------------------
def _condition(entry: DifferentialEntry, vocabulary: Vocabulary) -> ConditionReading:
    return ConditionReading(
        rank=entry.rank, title=entry.title, support=vocabulary.support(entry.score),
        score=entry.score,
        supported_by=evidence_words(entry.evidence, "for", vocabulary),
        against=evidence_words(entry.evidence, "against", vocabulary),
        unconfirmed=[vocabulary.label(name) for name in entry.unconfirmed],
        tests=list(entry.tests), rules=list(entry.rules))


def evidence_words(items: Iterable[EvidenceItem], direction: str, vocabulary: Vocabulary) -> str:
    """The findings on one side as short phrases: ``asymmetric weakness; no numbness or tingling``.

    A finding named by several rules reads once; a parent finding implied by a qualifier
    (``muscle weakness`` beside ``asymmetric weakness``) or a qualifier implied by its absent
    parent (``no asymmetric weakness`` beside ``no muscle weakness``) is left out; the
    absent findings are joined (``no numbness or tingling``).
    """
    values: dict[str, Any] = {}
    for item in items:
        if item.direction == direction and item.value is not None:
            values.setdefault(item.finding, item.value)
    qualifiers: Mapping[str, Sequence[str]] = vocabulary.ruleset.definitions.get("qualifiers", {})
    for parent, names in qualifiers.items():
        if values.get(parent) is True and any(values.get(name) is True for name in names):
            del values[parent]
        if values.get(parent) is False:
            for name in names:
                if values.get(name) is False:
                    del values[name]
    phrases = [vocabulary.phrase(name, value) for name, value in values.items()]
    present = [phrase for phrase in phrases if not phrase.startswith("no ")]
    absent = [phrase.removeprefix("no ") for phrase in phrases if phrase.startswith("no ")]
    parts = [", ".join(present)] if present else []
    if absent:
        parts.append("no " + or_list(absent))
    return "; ".join(parts)


def or_list(words: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} or {words[-1]}"


# --- missing information as questions ----------------------------------------------------
def _asked(atom: Atom) -> list[Any]:
    """The values an atom is true for (``None`` for a comparison)."""
    if atom.op == "in":
        return list(atom.value)
    return [atom.value] if atom.op == "is" else [None]


def _answer_values(rule: Rule, fact: str, ruleset: Ruleset, seen: set[str]) -> set[Any]:
    """The values the atoms on ``fact`` ask for, in a rule and the rules behind its derived facts."""
    found: set[Any] = set()
    for atom in atoms(rule.condition):
        if atom.fact == fact:
            found.update(_asked(atom))
        elif atom.fact in ruleset.derived_names and atom.fact not in seen:
            seen.add(atom.fact)
            for producer in ruleset.producers.get(atom.fact, []):
                found |= _answer_values(producer, fact, ruleset, seen)
        elif atom.fact not in ruleset.catalogue and atom.fact not in seen:  # the counter
            seen.add(atom.fact)
            for producer in ruleset.checklist_producers:
                found |= _answer_values(producer, fact, ruleset, seen)
    return found


class _QuestionPlan:
    """What the questions of any result of one ruleset need, prepared once per ruleset.

    Per rule: the triage level it sets (and its rank) and its evidence as (condition,
    direction) pairs; per input: the fact it reports and the question's words; per (rule,
    fact): the values the rule's atoms ask of the fact (``_answer_values``).
    """

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.vocabulary = ruleset.vocabulary
        self.fact_of_input: dict[str, str] = {}
        for fact, name in ruleset.input_names.items():
            self.fact_of_input.setdefault(name, fact)
        self.triage_of: dict[str, tuple[str, int] | None] = {}
        self.evidence_of: dict[str, tuple[tuple[str, str], ...]] = {}
        self.supports_of: dict[str, tuple[str, ...]] = {}
        for rule in ruleset.rules:
            body = rule.triage
            self.triage_of[rule.id] = (None if body is None
                                       else (body["level"], level_rank(body["level"])))
            self.evidence_of[rule.id] = tuple((evidence["condition"], evidence["direction"])
                                              for evidence in rule.evidence)
            self.supports_of[rule.id] = tuple(condition for condition, direction
                                              in self.evidence_of[rule.id] if direction == "for")
        self._values: dict[tuple[str, str], frozenset[Any]] = {}
        self._headings: dict[tuple[str, str], str] = {}

    def answer_values(self, rule_id: str, fact: str) -> frozenset[Any]:
        """The values the atoms on ``fact`` ask for in the rule and the rules behind it."""
        key = (rule_id, fact)
        found = self._values.get(key)
        if found is None:
            found = frozenset(_answer_values(self.ruleset.rule(rule_id), fact, self.ruleset, set()))
            self._values[key] = found
        return found

    def heading(self, name: str, level: str) -> str:
        """The heading of the group of questions that could change ``name``."""
        key = (name, level)
        heading = self._headings.get(key)
        if heading is None:
            heading = self._headings[key] = _group_heading(name, level, self.vocabulary)
        return heading


_PLANS: dict[str, _QuestionPlan] = {}
"""Question plans by ruleset sha256 (the same content gives the same plan)."""
_PLANS_KEPT = 8


def _plan(ruleset: Ruleset) -> _QuestionPlan:
    plan = _PLANS.get(ruleset.sha256)
    if plan is None or plan.ruleset is not ruleset:
        if len(_PLANS) >= _PLANS_KEPT:
            _PLANS.pop(next(iter(_PLANS)))
        plan = _PLANS[ruleset.sha256] = _QuestionPlan(ruleset)
    return plan


def questions(result: Result, ruleset: Ruleset) -> list[QuestionGroup]:
    """The missing information as questions, grouped by what the answer could change.

    Groups: each triage level an answer could lead to, highest first (an answer that could
    lower a default triage comes after the raising ones), then the differential alone.
    Within a group the order is the result's (most consequential first).
    """
    plan = _plan(ruleset)
    level = result.triage.level
    default_used = result.triage.rules == [ruleset.triage_default["id"]]
    listed = {entry.condition for entry in result.differential}
    missing = result.missing_information
    culprits: dict[str, int] = {}
    supported: set[str] = set()
    for entry in missing:
        for rule_id in entry.rules:
            culprits[rule_id] = culprits.get(rule_id, 0) + 1
            supported.update(plan.supports_of[rule_id])
    in_play = listed | supported
    groups: dict[str, list[Question]] = {}
    for entry in missing:
        reach, question = _question(entry, plan, level, default_used, in_play, culprits)
        groups.setdefault(reach, []).append(question)
    order = [*reversed(TRIAGE_LEVELS), "differential"]
    return [QuestionGroup(plan.heading(name, level), groups[name])
            for name in _group_order(order, level) if name in groups]


def _group_order(order: list[str], level: str) -> list[str]:
    """Raising levels highest first, then lowering ones, then the differential."""
    raising = [name for name in order[:-1] if level_rank(name) > level_rank(level)]
    lowering = [name for name in order[:-1] if level_rank(name) <= level_rank(level)]
    return [*raising, *lowering, "differential"]


def _group_heading(name: str, level: str, vocabulary: Vocabulary) -> str:
    if name == "differential":
        return "Could change the differential"
    words = vocabulary.level(name)
    verb = "raise" if level_rank(name) > level_rank(level) else "change"
    return f"Could {verb} the triage to {words.label.lower()} ({words.need})"


def _question(entry: MissingInput, plan: _QuestionPlan, level: str, default_used: bool,
              conditions_in_play: set[str], culprits: Mapping[str, int]) -> tuple[str, Question]:
    """One missing input as a question, and the group it belongs to."""
    vocabulary = plan.vocabulary
    fact = plan.fact_of_input.get(entry.input, entry.input)
    rank = level_rank(level)
    reach: str | None = None
    reach_rank = -1
    reach_rules: list[str] = []
    bears_on: list[str] = []
    for rule_id in entry.rules:
        triage = plan.triage_of[rule_id]
        if triage is not None:
            rule_level, rule_rank = triage
            if rule_rank > rank or (default_used and rule_level != level):
                if reach is None or rule_rank > reach_rank:
                    reach, reach_rank, reach_rules = rule_level, rule_rank, [rule_id]
                elif rule_level == reach:
                    reach_rules.append(rule_id)
        for condition, direction in plan.evidence_of[rule_id]:
            if (direction == "for" or condition in conditions_in_play) \
                    and condition not in bears_on:
                bears_on.append(condition)
    titles = [vocabulary.condition_title(condition) for condition in bears_on]
    consequence = ""
    if reach is not None:
        consequence = _consequence(fact, reach, level, reach_rules, plan, culprits)
    question = Question(input=entry.input, text=vocabulary.question(entry.input),
                        consequence=consequence, bears_on=titles, rules=list(entry.rules),
                        reach=reach)
    return reach or "differential", question


def _consequence(fact: str, reach: str, level: str, rule_ids: list[str], plan: _QuestionPlan,
                 culprits: Mapping[str, int]) -> str:
    """``If yes, this needs immediate evaluation.`` (``could need`` when more is unknown)."""
    need = plan.vocabulary.level(reach).need
    values: frozenset[Any] = frozenset()
    for rule_id in rule_ids:
        values |= plan.answer_values(rule_id, fact)
    decided = any(culprits.get(rule_id) == 1 for rule_id in rule_ids)  # this answer alone decides
    answer = {frozenset({True}): "If yes", frozenset({False}): "If no"}.get(values)
    if level_rank(reach) < level_rank(level) or reach == "self-care":
        return f"{answer or 'Depending on the answer'}, {need} may be enough."
    verb = "needs" if decided and answer else "could need"
    return f"{answer or 'Depending on the answer'}, this {verb} {need}."

"""Plan: what the conclusions read of each rule, prepared once per ruleset, not once per case.

Per rule (by index): the triage it sets and the words of the effect its firing would have on
the triage, its evidence with the words of its effect on the differential (and, when every
evidence supports, its effects with and without the triage's), its conclusions of each kind
as the result's parts read them, and, when its condition is flat (one atom, or all/any of
atoms), that condition's atoms with the input each reports as, so the blame of an undecided
rule needs no walk of the tree. A plan is content only (ids, ranks, words, atoms, and the
reasons missing information has worded), so it is kept by the ruleset's content hash, in
the one cache that keeps the compiled engines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..case.facts import COUNTERS
from ..case.vocabulary import level_rank
from ..engine.cache import prepared_for
from ..ruleset.conditions import All, Any_, Atom, Condition, atoms
from ..ruleset.model import Rule, Ruleset
from ..ruleset.words import conclusion_text

_NONE: frozenset[str] = frozenset()
TRIAGE_EFFECT = "could make the triage"
DIFFERENTIAL_EFFECT = "could change the differential"


class TriageEffect(NamedTuple):
    """The triage a rule sets: its level, that level's rank, and the effect in words."""

    level: str
    rank: int
    effect: str


@dataclass(frozen=True)
class EvidenceEffect:
    """One evidence conclusion of a rule: its condition, direction, and the effect in words."""

    condition: str
    supports: bool  # direction "for"
    effect: str


@dataclass(frozen=True)
class RulePlan:
    """What the conclusions read of one rule."""

    id: str
    triage: TriageEffect | None
    evidence: tuple[EvidenceEffect, ...]
    evidence_effects: tuple[str, ...]  # the effect of each evidence, in order
    supports: tuple[str, ...]  # the conditions its "for" evidence names
    all_support: bool  # every evidence is "for": each changes the differential, whatever the case
    flat: FlatCondition | None  # its condition, when it is one level deep
    reads_case_only: bool  # its condition names no derived fact and no counter
    # When all_support: its effects in order, each once, with the triage's effect first and
    # without it.
    effects_with_triage: tuple[str, ...]
    effects_without_triage: tuple[str, ...]
    triage_rank: int  # the rank of the level it sets, -1 when it sets none
    case_blame: frozenset[str] | None  # flat on case facts, each named as its input: those facts
    case_tree: CaseTree | None  # its condition, when it is deeper but on case facts only
    # Its conclusions of each kind, in order, as the result's parts read them.
    evidence_rows: tuple[EvidenceRow, ...]
    checklist_rows: tuple[tuple[str, str, str], ...]  # (item, status, evidence)
    recommend_rows: tuple[RecommendRow, ...]
    notice_rows: tuple[tuple[str, str], ...]  # (code, message)


class EvidenceRow(NamedTuple):
    """One evidence conclusion of a rule as the differential reads it."""

    condition: str
    supports: bool  # direction "for"
    direction: str
    findings: tuple[str, ...]
    weight: float


class RecommendRow(NamedTuple):
    """One recommendation of a rule, with where it belongs (``advice``)."""

    id: str
    text: str
    source: str
    up_to_rank: int | None  # not given above this triage level's rank
    unless: tuple[str, ...]  # not given when one of these facts is known true


@dataclass(frozen=True)
class FlatCondition:
    """A condition that is one atom, or an ``all``/``any`` of atoms: its atoms, each with the
    input it reports as when unknown (empty: never unknown, or not a case fact) and whether it
    tests a fact the engine makes (a derived fact or a counter)."""

    every: bool  # all (or a single atom); else any
    atoms: tuple[tuple[str, Atom, frozenset[str], bool], ...]
    case_only: bool  # no atom tests a fact the engine makes
    inputs: tuple[tuple[str, str], ...]  # (fact, input it reports as) of each atom on an input
    input_facts: frozenset[str]  # the facts of those atoms
    named_as_inputs: bool  # each of those facts reports as the input of its own name


@dataclass(frozen=True)
class CaseTree:
    """A condition on case facts only, as missing information judges it: an ``all`` (or an
    atom) or an ``any`` of atoms, each with the input it reports as when unknown (empty:
    never unknown), and of deeper parts."""

    every: bool
    atoms: tuple[tuple[str, Atom, frozenset[str]], ...]
    parts: tuple[CaseTree, ...]


def _case_tree(condition: Condition, ruleset: Ruleset) -> CaseTree | None:
    if any(atom.fact in ruleset.derived_names or atom.fact in COUNTERS
           for atom in atoms(condition)):
        return None
    return _tree(condition, ruleset.input_names)


def _tree(condition: Condition, inputs: Mapping[str, str]) -> CaseTree:
    if isinstance(condition, Atom):
        return _tree(All((condition,)), inputs)
    assert isinstance(condition, (All, Any_))  # rules hold no Unknown: compiled forms only
    return CaseTree(
        every=isinstance(condition, All),
        atoms=tuple((part.fact, part, frozenset({inputs[part.fact]}) if part.fact in inputs
                     else _NONE) for part in condition.parts if isinstance(part, Atom)),
        parts=tuple(_tree(part, inputs) for part in condition.parts
                    if not isinstance(part, Atom)))


@dataclass(frozen=True)
class Plan:
    """A ruleset's rule plans, by rule index."""

    rules: tuple[RulePlan, ...]
    effectful: frozenset[int]  # the rules that set a triage or give evidence
    ids: tuple[str, ...]  # each rule's id (unique: the ruleset's checks say so)
    conditions: dict[str, tuple[int, str, tuple[str, ...]]]  # id -> (position, title, tests)
    checklist_items: tuple[tuple[str, str], ...]  # (id, text), in the ruleset's order
    checklist_threshold: int
    default_entry: tuple[str, str, str, str]  # the default triage's trace entry's fields
    producers: dict[str, tuple[int, ...]]  # derived fact -> the rules that assert it
    acyclic: bool  # no rule reads, through derived facts or counters, what it concludes itself
    # Per rule, what missing information reads first: (triage rank, all_support, effects with
    # and without the triage's, case_blame), as one tuple.
    missing_rows: tuple[tuple[int, bool, tuple[str, ...], tuple[str, ...],
                              frozenset[str] | None], ...]
    supporting: frozenset[int]  # the rules with evidence for a condition
    input_rank: dict[str, int]  # input -> its place among equals: ask_first ones, then contract order
    # Per rule, its trace entry's fields (id, version, concluded, source) and the facts its
    # condition reads when they are all case facts (else None: the trace looks them up).
    trace_rows: tuple[tuple[str, str, tuple[str, ...], str, tuple[str, ...] | None], ...]
    # Missing information's reasons, kept as they are first worded: content too (the same
    # rules and effects always give the same words), bounded by ``missing.REASONS_KEPT``.
    reasons: dict[Any, tuple[str, tuple[str, ...]]] = field(default_factory=dict, compare=False,
                                                          repr=False)


def _flat(condition: Condition, ruleset: Ruleset) -> FlatCondition | None:
    parts = (condition,) if isinstance(condition, Atom) else getattr(condition, "parts", None)
    if parts is None or not all(isinstance(part, Atom) for part in parts):
        return None
    inputs = ruleset.input_names
    atoms = []
    for part in parts:
        engine_made = part.fact in ruleset.derived_names or part.fact in COUNTERS
        reported = frozenset({inputs[part.fact]}) if part.fact in inputs and not engine_made else _NONE
        atoms.append((part.fact, part, reported, engine_made))
    pairs = [(fact, name) for fact, _, reported, _ in atoms for name in reported]
    return FlatCondition(every=not isinstance(condition, Any_), atoms=tuple(atoms),
                         case_only=not any(atom[3] for atom in atoms),
                         inputs=tuple(dict.fromkeys(pairs)),
                         input_facts=frozenset(fact for fact, _ in pairs),
                         named_as_inputs=all(fact == name for fact, name in pairs))


def _rule_plan(rule: Rule, ruleset: Ruleset) -> RulePlan:
    triage = rule.triage
    sets = None
    if triage is not None:
        level = str(triage["level"])
        sets = TriageEffect(level=level, rank=level_rank(level), effect=f"{TRIAGE_EFFECT} {level}")
    effects = tuple(
        EvidenceEffect(condition=str(body["condition"]), supports=body["direction"] == "for",
                       effect=f"{DIFFERENTIAL_EFFECT}: {body['condition']}")
        for body in rule.evidence)
    evidence_effects = tuple(effect.effect for effect in effects)
    with_triage = tuple(dict.fromkeys(((sets.effect,) if sets else ()) + evidence_effects))
    without_triage = tuple(dict.fromkeys(evidence_effects))
    flat = _flat(rule.condition, ruleset)
    return RulePlan(id=rule.id, triage=sets, evidence=effects,
                    evidence_effects=evidence_effects,
                    supports=tuple(effect.condition for effect in effects if effect.supports),
                    all_support=all(effect.supports for effect in effects),
                    flat=flat,
                    reads_case_only=not any(fact in ruleset.derived_names or fact in COUNTERS
                                            for fact in rule.condition_facts),
                    effects_with_triage=with_triage, effects_without_triage=without_triage,
                    triage_rank=-1 if sets is None else sets.rank,
                    case_blame=flat.input_facts if flat is not None and flat.case_only
                    and flat.named_as_inputs else None,
                    case_tree=_case_tree(rule.condition, ruleset) if flat is None else None,
                    evidence_rows=tuple(
                        EvidenceRow(str(body["condition"]), body["direction"] == "for",
                                    str(body["direction"]), tuple(body["findings"]),
                                    body["weight"])
                        for body in rule.evidence),
                    checklist_rows=tuple((body["item"], body["status"], body["evidence"])
                                         for body in rule.conclusions("checklist")),
                    recommend_rows=tuple(
                        RecommendRow(body["id"], body["text"], body["source"],
                                     None if body.get("up_to_level") is None
                                     else level_rank(body["up_to_level"]),
                                     tuple(body.get("unless", ())))
                        for body in rule.conclusions("recommend")),
                    notice_rows=tuple((body["code"], body["message"])
                                      for body in rule.conclusions("notice")))


def _acyclic(ruleset: Ruleset) -> bool:
    """Whether no rule depends on itself: a rule depends on the producers of the derived facts
    its condition reads, and on the checklist's producers if it reads a counter."""
    item_makers = [rule.index for rule in ruleset.checklist_producers]
    needs = [[producer.index for fact in rule.condition_facts
              for producer in ruleset.producers.get(fact, ())]
             + (item_makers if any(fact in COUNTERS for fact in rule.condition_facts) else [])
             for rule in ruleset.rules]
    state = [0] * len(needs)  # 0: not seen, 1: on the path, 2: done
    for start in range(len(needs)):
        if state[start]:
            continue
        state[start] = 1
        path = [(start, iter(needs[start]))]
        while path:
            node, following = path[-1]
            step = next(following, None)
            if step is None:
                state[node] = 2
                path.pop()
            elif state[step] == 1:
                return False
            elif state[step] == 0:
                state[step] = 1
                path.append((step, iter(needs[step])))
    return True


def _make_plan(ruleset: Ruleset) -> Plan:
    rules = tuple(_rule_plan(rule, ruleset) for rule in ruleset.rules)
    checklist = ruleset.data["checklist"]
    default = ruleset.triage_default
    triage = {key: default[key] for key in ("level", "timeframe")}
    return Plan(
        rules=rules, effectful=frozenset(
            index for index, rule in enumerate(rules) if rule.triage is not None or rule.evidence),
        ids=tuple(rule.id for rule in rules),
        conditions={condition: (position, meta["title"], tuple(meta["tests"])) for position,
                    (condition, meta) in enumerate(ruleset.data["conditions"].items())},
        checklist_items=tuple((item["id"], item["text"]) for item in checklist["items"]),
        checklist_threshold=checklist["threshold"],
        trace_rows=tuple((rule.id, rule.version, rule.concluded, ruleset.source_labels[rule.index],
                          rule.condition_facts if rules[rule.index].reads_case_only else None)
                         for rule in ruleset.rules),
        acyclic=_acyclic(ruleset),
        missing_rows=tuple((rule.triage_rank, rule.all_support, rule.effects_with_triage,
                            rule.effects_without_triage, rule.case_blame) for rule in rules),
        supporting=frozenset(index for index, rule in enumerate(rules) if rule.supports),
        input_rank={name: ruleset.ask_first.get(name, len(ruleset.ask_first))
                    * len(ruleset.input_order) + position
                    for name, position in ruleset.input_order.items()},
        producers={name: tuple(rule.index for rule in rules)
                   for name, rules in ruleset.producers.items()},
        default_entry=(default["id"], default["version"],
                       conclusion_text({"triage": triage}, "trace") + " (no triage rule fired)",
                       ruleset.source_label(default["provenance"])))


def plan_of(ruleset: Ruleset) -> Plan:
    """The plan of a ruleset, made on first use and kept by its content hash (``engine.cache``)."""
    return prepared_for(ruleset, "plan", _make_plan)

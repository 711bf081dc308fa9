"""Impact: every case on an old and a new ruleset -> who moves, what changed, and why.

``impact(cases, old, new)`` evaluates each case on both rulesets in one pass on the workers
(``work.compare_chunk``) and aggregates what the ``delta`` of each changed case says into an
``ImpactReport``: the triage transition matrix, every down-triage (listed first), changes in
the differential, the checklist, recommendations, notices and missing information, and the
*attribution* of each change to its causes.

Attribution joins the rules that fired on one side only (and changed rules that fired on
both) with ``ruleset diff`` of the two rulesets: a rule that was changed, added or removed
is a cause, with the fields that changed; a changed definition is a cause when the facts it
builds (segments, qualifiers) differ for the case, or when its old and new values are the
ones a changed rule's threshold moved between (``definitions.persist_days: 14 -> 21`` with
``when.gt: 14 -> 21``); other changes outside the rules (the checklist, the conditions'
tests, the passages) are causes of changes in their part of the result. A change with no
cause found is reported as ``unattributed``, never hidden.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..case.vocabulary import TRIAGE_LEVELS, level_rank
from ..engine import cached_ruleset, choose_engine
from ..errors import ReplayError
from ..ruleset.diff import FieldChange, RulesetDiff, diff_rulesets
from ..ruleset.model import Ruleset
from ..ruleset.sources import RulesetSpec
from ..version import __version__
from .batch import DEFAULT_CHUNK_SIZE, Progress, ProgressCallback
from .delta import CaseDelta
from .lines import InputSource, RecordId, chunked
from .runners import CONNECT_TIMEOUT_S, Runner, open_runner
from .work import ChunkComparison, Shipment, compare_chunk

IMPACT_FORMAT: Literal["twitchrules-impact/1"] = "twitchrules-impact/1"
"""The ``format`` of an impact report's JSON; its keys only grow within a format."""

EXAMPLES = 5
"""Example lines kept per cause and per change (every down-triage is kept)."""

FAIL_ON: tuple[str, ...] = ("under-triage", "any-change")
"""Release-gate conditions for ``--fail-on``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Example(_Model):
    """A case named by its input line and its id (``None`` when the line gave none)."""

    line: int
    id: RecordId


class RulesetRef(_Model):
    """One side of the comparison: the ruleset's name, version and content sha256."""

    name: str
    version: str
    sha256: str


class Move(_Model):
    """A case whose triage level changed, with the causes found for its change."""

    line: int
    id: RecordId
    old: str
    new: str
    causes: list[str]


class TriageSummary(_Model):
    """The triage transition matrix (``matrix[old][new]``, levels in rising order) and its totals."""

    levels: list[str]
    matrix: list[list[int]]
    up: int
    down: int
    same: int


class ConditionChange(_Model):
    """How often a condition entered, left or moved in the differential."""

    condition: str
    entered: int = 0
    left: int = 0
    rank_changed: int = 0
    score_changed: int = 0
    examples: list[Example] = Field(default_factory=list)


class ChecklistChange(_Model):
    """A checklist item whose status went from ``old`` to ``new`` in ``cases`` cases."""

    item: str
    old: str
    new: str
    cases: int
    examples: list[Example]


class ItemChange(_Model):
    """A recommendation id, notice code or missing input added to or removed from results."""

    id: str
    added: int = 0
    removed: int = 0
    reworded: int = 0
    examples: list[Example] = Field(default_factory=list)


CauseKind = Literal["rule-changed", "rule-added", "rule-removed", "definition", "ruleset", "unattributed"]


class Cause(_Model):
    """One change between the rulesets and the cases it changed (``up``/``down``: triage moves)."""

    cause: str
    kind: CauseKind
    changes: list[str]
    cases: int
    down: int
    up: int
    other: int
    examples: list[Example]


class OneSideRule(_Model):
    """A rule that fired on one side only in some changed cases, with its status in the diff."""

    rule: str
    diff: Literal["changed", "added", "removed", "unchanged"]
    old_only: int
    new_only: int


class RefusedLine(_Model):
    """An input line that is not a valid case, with the errors ``evaluate`` gives."""

    line: int
    id: RecordId
    errors: list[dict[str, str]]


class CaseCounts(_Model):
    """How many lines were read, compared, refused, changed and unchanged."""

    read: int
    compared: int
    refused: int
    changed: int
    unchanged: int


class ImpactReport(_Model):
    """The impact of replacing ruleset ``old`` with ``new`` on a population of cases.

    ``to_json()`` is the documented ``--format json`` (``format`` names its version);
    ``under_triage`` and ``changed`` are what ``--fail-on`` tests.
    """

    format: Literal["twitchrules-impact/1"] = IMPACT_FORMAT
    package_version: str
    engine: str
    input: str
    old: RulesetRef
    new: RulesetRef
    cases: CaseCounts
    triage: TriageSummary
    down_triage: list[Move]
    up_triage: list[Move]
    differential: list[ConditionChange]
    checklist: list[ChecklistChange]
    recommendations: list[ItemChange]
    notices: list[ItemChange]
    missing_information: list[ItemChange]
    causes: list[Cause]
    rules_fired_one_side: list[OneSideRule]
    ruleset_diff: dict[str, Any]
    refused: list[RefusedLine]
    seconds: float
    runner: str

    @property
    def under_triage(self) -> bool:
        """Whether any case moved to a lower triage level."""
        return self.triage.down > 0

    @property
    def changed(self) -> bool:
        """Whether any case's result changed at all."""
        return self.cases.changed > 0

    def gate_fails(self, fail_on: Iterable[str]) -> list[str]:
        """The release-gate conditions (``under-triage``, ``any-change``) this report breaks."""
        broken = []
        for condition in fail_on:
            if condition not in FAIL_ON:
                raise ValueError(f"unknown --fail-on {condition!r} (known: {', '.join(FAIL_ON)})")
            if (condition == "under-triage" and self.under_triage) or (
                    condition == "any-change" and self.changed):
                broken.append(condition)
        return broken

    def to_json(self, indent: int | None = 2) -> str:
        """The report as JSON text (stable keys; the same inputs give the same bytes but ``seconds``)."""
        return self.model_dump_json(indent=indent)


@dataclass
class _Plan:
    """What the ruleset diff says, prepared once for joining with each changed case."""

    diff: RulesetDiff
    rule_status: dict[str, str]
    rule_changes: dict[str, list[str]]
    linked_definitions: dict[str, list[str]]  # rule id -> definition causes its change matches
    fact_definitions: dict[str, frozenset[str]]  # definition cause -> facts it builds
    other_parts: dict[str, frozenset[str]]  # other cause -> result parts it can change
    words: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # cause -> kind, changes


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _change_words(change: FieldChange) -> str:
    return f"{change.path}: {_shown(change.old)} -> {_shown(change.new)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _definition_cause(path: str) -> str:
    """``definitions.lab_limits.potassium_mmol_l.low`` -> the definition it belongs to."""
    parts = path.split(".")
    return ".".join(parts[:2]) if parts[1] in ("segments", "qualifiers") else path


_OTHER_PARTS = {
    "checklist": frozenset({"checklist", "triage", "trace"}),
    "conditions": frozenset({"differential"}),
    "passages": frozenset({"trace", "recommendations"}),
}


def _plan(old: Ruleset, new: Ruleset) -> _Plan:
    diff = diff_rulesets(old, new)
    status: dict[str, str] = {}
    changes: dict[str, list[str]] = {}
    for ref in diff.added:
        status[ref.id], changes[ref.id] = "added", [f"added: {ref.title}"]
    for ref in diff.removed:
        status[ref.id], changes[ref.id] = "removed", [f"removed: {ref.title}"]
    for rule_change in diff.changed:
        status[rule_change.id] = "changed"
        changes[rule_change.id] = [_change_words(f) for f in rule_change.changes] or [
            f"version {rule_change.old_version} -> {rule_change.new_version}"]
    plan = _Plan(diff, status, changes, {}, {}, {})
    numeric_rule_changes = {
        rule.id: {(f.old, f.new) for f in rule.changes if _is_number(f.old) and _is_number(f.new)}
        for rule in diff.changed}
    for change in diff.other:
        head = change.path.split(".")[0]
        if head == "definitions" and "." in change.path:
            cause = _definition_cause(change.path)
            kind, words = plan.words.get(cause, ("definition", []))
            plan.words[cause] = (kind, [*words, _change_words(change)])
            segment = cause.split(".")[1]
            if segment == "segments":
                names = set(old.definitions["segments"]) | set(new.definitions["segments"])
                plan.fact_definitions[cause] = frozenset(
                    {"segment_count", "head_region_count", *(f"segment_{n}" for n in names)})
            elif segment == "qualifiers":
                qualified = [*old.definitions.get("qualifiers", {}).values(),
                             *new.definitions.get("qualifiers", {}).values()]
                plan.fact_definitions[cause] = frozenset(name for names in qualified for name in names)
            elif _is_number(change.old) and _is_number(change.new):
                for rule_id, pairs in numeric_rule_changes.items():
                    if (change.old, change.new) in pairs:
                        plan.linked_definitions.setdefault(rule_id, []).append(cause)
        elif head in _OTHER_PARTS:
            cause = ".".join(change.path.split(".")[:2])
            kind, words = plan.words.get(cause, ("ruleset", []))
            plan.words[cause] = (kind, [*words, _change_words(change)])
            plan.other_parts[cause] = _OTHER_PARTS[head]
    for rule_id, kind in status.items():
        plan.words[f"rule {rule_id}"] = (f"rule-{kind}", changes[rule_id])
    return plan


def _causes(delta: CaseDelta, plan: _Plan) -> list[str]:
    found: list[str] = []
    candidates = [*delta.rules_old_only, *delta.rules_new_only,
                  *(rule for rule in delta.rules_both if plan.rule_status.get(rule) == "changed")]
    for rule in dict.fromkeys(candidates):
        if rule in plan.rule_status:
            found.append(f"rule {rule}")
            found.extend(plan.linked_definitions.get(rule, ()))
    facts = set(delta.facts_changed)
    found.extend(cause for cause, built in plan.fact_definitions.items() if facts & built)
    parts = set(delta.parts)
    found.extend(cause for cause, touched in plan.other_parts.items() if parts & touched)
    return list(dict.fromkeys(found)) or ["unattributed"]


class _Tally:
    """Counts and examples of one kind of change, keyed by what changed."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}
        self.examples: dict[str, list[Example]] = {}

    def add(self, key: str, what: str, example: Example) -> None:
        self.counts.setdefault(key, Counter())[what] += 1
        kept = self.examples.setdefault(key, [])
        if len(kept) < EXAMPLES and (not kept or kept[-1] != example):
            kept.append(example)


@dataclass
class _Aggregate:
    """Everything the report needs, filled chunk by chunk in input order."""

    plan: _Plan
    compared: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    changed: int = 0
    down: list[Move] = field(default_factory=list)
    up: list[Move] = field(default_factory=list)
    differential: _Tally = field(default_factory=_Tally)
    checklist: _Tally = field(default_factory=_Tally)
    recommendations: _Tally = field(default_factory=_Tally)
    notices: _Tally = field(default_factory=_Tally)
    missing: _Tally = field(default_factory=_Tally)
    causes: _Tally = field(default_factory=_Tally)
    one_side: dict[str, Counter[str]] = field(default_factory=dict)
    refused: list[RefusedLine] = field(default_factory=list)

    def add(self, comparison: ChunkComparison) -> None:
        self.compared += comparison.compared
        self.transitions.update(comparison.transitions)
        for number, record_id, problems in comparison.refused:
            self.refused.append(RefusedLine(line=number, id=record_id, errors=[
                {"field": location, "message": message} for location, message in problems]))
        for delta in comparison.deltas:
            self._delta(delta)

    def _delta(self, delta: CaseDelta) -> None:
        self.changed += 1
        example = Example(line=delta.line, id=delta.id)
        causes = _causes(delta, self.plan)
        old_rank, new_rank = level_rank(delta.old_level), level_rank(delta.new_level)
        effect = "down" if new_rank < old_rank else "up" if new_rank > old_rank else "other"
        if effect != "other":
            move = Move(line=delta.line, id=delta.id, old=delta.old_level, new=delta.new_level,
                        causes=causes)
            (self.down if effect == "down" else self.up).append(move)
        for cause in causes:
            self.causes.add(cause, effect, example)
        for name in delta.entered:
            self.differential.add(name, "entered", example)
        for name in delta.left:
            self.differential.add(name, "left", example)
        for name, _, _ in delta.rank_changed:
            self.differential.add(name, "rank_changed", example)
        for name in delta.score_changed:
            self.differential.add(name, "score_changed", example)
        for item, old, new in delta.checklist:
            self.checklist.add(f"{item}\0{old}\0{new}", "cases", example)
        for tally, added, removed in (
                (self.recommendations, delta.recommendations_added, delta.recommendations_removed),
                (self.notices, delta.notices_added, delta.notices_removed),
                (self.missing, delta.missing_added, delta.missing_removed)):
            for key in added:
                tally.add(key, "added", example)
            for key in removed:
                tally.add(key, "removed", example)
        for key in delta.recommendations_reworded:
            self.recommendations.add(key, "reworded", example)
        for rule in delta.rules_old_only:
            self.one_side.setdefault(rule, Counter())["old_only"] += 1
        for rule in delta.rules_new_only:
            self.one_side.setdefault(rule, Counter())["new_only"] += 1


def _items(tally: _Tally) -> list[ItemChange]:
    rows = [ItemChange(id=key, added=counts["added"], removed=counts["removed"],
                       reworded=counts["reworded"], examples=tally.examples[key])
            for key, counts in tally.counts.items()]
    return sorted(rows, key=lambda row: (-(row.added + row.removed + row.reworded), row.id))


def _report(aggregate: _Aggregate, *, old: Ruleset, new: Ruleset, engine: str, source: str,
            read: int, seconds: float, runner: str) -> ImpactReport:
    levels = list(TRIAGE_LEVELS)
    matrix = [[aggregate.transitions[(a, b)] for b in levels] for a in levels]
    down = sum(matrix[i][j] for i in range(len(levels)) for j in range(i))
    up = sum(matrix[i][j] for i in range(len(levels)) for j in range(i + 1, len(levels)))
    plan = aggregate.plan
    causes = []
    for key, counts in aggregate.causes.counts.items():
        kind, words = plan.words.get(key, ("unattributed", ["no rule or definition change found"]))
        causes.append(Cause(cause=key, kind=kind, changes=words,
                            cases=sum(counts.values()), down=counts["down"], up=counts["up"],
                            other=counts["other"], examples=aggregate.causes.examples[key]))
    causes.sort(key=lambda c: (-c.down, -c.cases, c.cause))
    differential = sorted(
        (ConditionChange(condition=key, entered=c["entered"], left=c["left"],
                         rank_changed=c["rank_changed"], score_changed=c["score_changed"],
                         examples=aggregate.differential.examples[key])
         for key, c in aggregate.differential.counts.items()),
        key=lambda row: (-(row.entered + row.left + row.rank_changed), row.condition))
    checklist = []
    for key, counts in aggregate.checklist.counts.items():
        item, before, after = key.split("\0")
        checklist.append(ChecklistChange(item=item, old=before, new=after, cases=counts["cases"],
                                         examples=aggregate.checklist.examples[key]))
    checklist.sort(key=lambda row: (-row.cases, row.item, row.old, row.new))
    one_side = sorted(
        (OneSideRule(rule=rule, diff=plan.rule_status.get(rule, "unchanged"),
                     old_only=c["old_only"], new_only=c["new_only"])
         for rule, c in aggregate.one_side.items()),
        key=lambda row: (-(row.old_only + row.new_only), row.rule))
    return ImpactReport(
        package_version=__version__, engine=engine, input=source,
        old=RulesetRef(name=old.name, version=old.version, sha256=old.sha256),
        new=RulesetRef(name=new.name, version=new.version, sha256=new.sha256),
        cases=CaseCounts(read=read, compared=aggregate.compared, refused=len(aggregate.refused),
                         changed=aggregate.changed, unchanged=aggregate.compared - aggregate.changed),
        triage=TriageSummary(levels=levels, matrix=matrix, up=up, down=down,
                             same=aggregate.compared - up - down),
        down_triage=aggregate.down, up_triage=aggregate.up, differential=differential,
        checklist=checklist, recommendations=_items(aggregate.recommendations),
        notices=_items(aggregate.notices), missing_information=_items(aggregate.missing),
        causes=causes, rules_fired_one_side=one_side, ruleset_diff=plan.diff.to_dict(),
        refused=aggregate.refused, seconds=round(seconds, 3), runner=runner)


def impact(cases: str | Path | BinaryIO, old: RulesetSpec, new: RulesetSpec, *,
           engine: str | None = None, workers: int | None = None, scheduler: str | None = None,
           chunk_size: int = DEFAULT_CHUNK_SIZE, progress: ProgressCallback | None = None,
           runner: Runner | None = None, timeout: float = CONNECT_TIMEOUT_S) -> ImpactReport:
    """Evaluate every case on the old and the new ruleset and report whom the change affects.

    Args:
        cases: a JSON-lines file of cases (``.gz`` works; ``"-"`` reads standard input; each
            line a case or ``{"id": ..., "case": {...}}``), or an open binary stream.
        old: the ruleset in use (any ruleset spec ``evaluate`` takes).
        new: the ruleset that would replace it.
        engine: the engine name (``None``: the default engine); the same for both sides.
        workers: worker processes of a local Dask cluster (default: the cores); ``1`` runs
            in this process, as does a machine without the ``scale`` extra.
        scheduler: ``"tcp://HOST:PORT"`` of an existing Dask cluster to run on instead.
        chunk_size: cases per chunk sent to a worker; the report does not depend on it.
        progress: called with a ``Progress`` after each chunk.
        runner: an already open runner to use (it is not closed).
        timeout: seconds to wait for the scheduler and its first worker.

    Returns:
        The ``ImpactReport``: every down-triage, the transition matrix, the changes per part
        of the result and per cause, and the refused lines.

    Raises:
        RulesetError: a ruleset cannot be loaded.
        ReplayError: the input cannot be read, or the cluster cannot run the job.
    """
    started = time.perf_counter()
    old_ruleset, new_ruleset = cached_ruleset(old), cached_ruleset(new)
    chosen = choose_engine(engine)
    plan = _plan(old_ruleset, new_ruleset)
    reader = InputSource(cases)
    aggregate = _Aggregate(plan)
    read = 0
    try:
        active = runner or open_runner(workers=workers, scheduler=scheduler, timeout=timeout)
        try:
            old_shipment, new_shipment = Shipment.of(old_ruleset), Shipment.of(new_ruleset)
            active.check((old_shipment, new_shipment), chosen)
            chunks = chunked(reader.lines(), chunk_size)
            for outcome in active.map_ordered(compare_chunk, chunks, old_shipment, new_shipment, chosen):
                if not isinstance(outcome, ChunkComparison):
                    raise ReplayError([("worker", f"returned {type(outcome).__name__}, not a comparison")])
                aggregate.add(outcome)
                read = aggregate.compared + len(aggregate.refused)
                if progress is not None:
                    progress(Progress(read, aggregate.compared, len(aggregate.refused),
                                      time.perf_counter() - started, reader.position, reader.size))
            description = active.description
        finally:
            if runner is None:
                active.close()
    finally:
        reader.close()
    return _report(aggregate, old=old_ruleset, new=new_ruleset, engine=chosen, source=reader.name,
                   read=read, seconds=time.perf_counter() - started, runner=description)

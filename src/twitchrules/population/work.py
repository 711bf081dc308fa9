"""Work: what runs where the cases are evaluated (a Dask worker, or this process).

The job ships each ruleset once as its checked document (``Shipment``); a worker builds it
on first use, checks that its own build has the sha256 the job names, and keeps it for the
job's later chunks. ``worker_report`` says what a worker would produce (its package
version, its engine's version, the sha256 it builds), so a job on an existing cluster can
refuse workers that would not give the same bytes before any case runs.

Every function here is a plain module-level function of plain data, so Dask pickles it by
reference: the workers need the same twitchrules installed.
"""

from __future__ import annotations

import json
import platform
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..case import build_facts
from ..case.records import envelope_id, parse_record
from ..engine import choose_engine, get_backend
from ..errors import CaseError, EngineError, ReplayError, RulesetError
from ..pipeline import evaluate
from ..ruleset import Ruleset, ruleset_from_document
from ..ruleset.coverage import rule_ids
from ..version import __version__
from .delta import CaseDelta, compare_results
from .lines import Chunk


@dataclass(frozen=True)
class Shipment:
    """A ruleset as it travels to workers: its checked document, rule files and sha256."""

    sha256: str
    document: Mapping[str, Any] = field(repr=False)
    rule_files: tuple[str, ...] = field(repr=False)
    path: str

    @classmethod
    def of(cls, ruleset: Ruleset) -> Shipment:
        """The shipment of a loaded ruleset (kept in this process too, so it is not rebuilt here)."""
        _keep(ruleset)
        return cls(ruleset.sha256, ruleset.data, tuple(rule.file for rule in ruleset.rules), ruleset.path)


_LOCK = threading.Lock()
_PREPARED: dict[str, Ruleset] = {}


def _keep(ruleset: Ruleset) -> None:
    with _LOCK:
        _PREPARED.setdefault(ruleset.sha256, ruleset)


def prepared(shipment: Shipment) -> Ruleset:
    """The ruleset of a shipment, built once per process; ``ReplayError`` if its sha256 differs."""
    with _LOCK:
        found = _PREPARED.get(shipment.sha256)
    if found is not None:
        return found
    built = ruleset_from_document(dict(shipment.document), list(shipment.rule_files), shipment.path)
    if built.sha256 != shipment.sha256:
        raise ReplayError([("ruleset", f"this worker builds sha256 {built.sha256} from the ruleset "
                            f"the job sent as {shipment.sha256}: its twitchrules differs")])
    _keep(built)
    return built


@dataclass(frozen=True)
class WorkerReport:
    """What one worker would produce: its versions and the sha256 it builds of each ruleset."""

    package_version: str
    python: str
    engine: str
    engine_version: str | None
    ruleset_sha256: tuple[str, ...]
    problem: str | None = None


def worker_report(shipments: tuple[Shipment, ...], engine: str) -> WorkerReport:
    """Build the job's rulesets and engine here (warming them up) and report the versions."""
    python = platform.python_version()
    built: list[str] = []
    try:
        chosen = choose_engine(engine)
        for shipment in shipments:
            with _LOCK:  # built and checked by this process for an earlier job: the same code
                ruleset = _PREPARED.get(shipment.sha256)
            if ruleset is None:
                ruleset = ruleset_from_document(dict(shipment.document), list(shipment.rule_files),
                                                shipment.path)
            built.append(ruleset.sha256)
            if ruleset.sha256 == shipment.sha256:
                _keep(ruleset)
        if built != [shipment.sha256 for shipment in shipments]:
            return WorkerReport(__version__, python, chosen, None, tuple(built))
        version = get_backend(prepared(shipments[0]), chosen).version
    except (RulesetError, EngineError, ReplayError) as error:
        return WorkerReport(__version__, python, engine, None, tuple(built), error.message)
    return WorkerReport(__version__, python, chosen, version, tuple(built))


@dataclass(frozen=True)
class ChunkOutput:
    """A batch chunk done: its result lines and refused lines as bytes, ready to append."""

    index: int
    results: bytes
    refused: bytes
    evaluated: int
    refused_count: int
    last_line: int
    fired: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """With coverage asked for: per evaluated line, its label and the rules its trace lists."""


def refusal_line(number: int, record_id: Any, problems: list[tuple[str, str]]) -> str:
    """A refused line as written to ``RESULTS.refused.jsonl`` (no newline)."""
    errors = [{"field": location, "message": message} for location, message in problems]
    return json.dumps({"line": number, "id": record_id, "errors": errors}, ensure_ascii=False)


def coverage_label(number: int, record_id: Any) -> str:
    """How a batch line is named among a rule's coverage examples: its id, or ``line N``."""
    return record_id if isinstance(record_id, str) and record_id else f"line {number}"


def evaluate_chunk(chunk: Chunk, shipment: Shipment, engine: str, coverage: bool = False) -> ChunkOutput:
    """Evaluate every line of a chunk: a result line per case, a refused line per bad line.

    With ``coverage``, the output also names the rules each evaluated line fired.
    """
    ruleset = prepared(shipment)
    results: list[str] = []
    refused: list[str] = []
    fired: list[tuple[str, tuple[str, ...]]] = []
    for number, text in chunk.lines:
        try:
            record_id, case = parse_record(text)
        except CaseError as error:
            refused.append(refusal_line(number, envelope_id(text), error.problems))
            continue
        try:
            result = evaluate(case, ruleset=ruleset, engine=engine)
        except EngineError as error:  # a failure of ours, not of the line: named, and the job goes on
            refused.append(refusal_line(number, record_id, [("engine", error.message)]))
            continue
        if coverage:
            fired.append((coverage_label(number, record_id), tuple(rule_ids(result))))
        results.append(f'{{"line": {number}, "id": {json.dumps(record_id, ensure_ascii=False)}, '
                       f'"result": {result.to_json(indent=None)}}}')
    return ChunkOutput(chunk.index, _joined(results), _joined(refused), len(results), len(refused),
                       chunk.lines[-1][0], tuple(fired))


def _joined(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8") if lines else b""


@dataclass(frozen=True)
class ChunkComparison:
    """An impact chunk done: triage transitions of every case, and the delta of each changed one."""

    index: int
    compared: int
    transitions: Counter[tuple[str, str]]
    deltas: tuple[CaseDelta, ...]
    refused: tuple[tuple[int, Any, tuple[tuple[str, str], ...]], ...]


def compare_chunk(chunk: Chunk, old: Shipment, new: Shipment, engine: str) -> ChunkComparison:
    """Evaluate every line of a chunk on both rulesets and keep what changed."""
    old_ruleset, new_ruleset = prepared(old), prepared(new)
    facts_differ = old_ruleset.fact_definitions != new_ruleset.fact_definitions
    transitions: Counter[tuple[str, str]] = Counter()
    deltas: list[CaseDelta] = []
    refused: list[tuple[int, Any, tuple[tuple[str, str], ...]]] = []
    for number, text in chunk.lines:
        try:
            record_id, case = parse_record(text)
            old_result = evaluate(case, ruleset=old_ruleset, engine=engine)
            new_result = evaluate(case, ruleset=new_ruleset, engine=engine)
        except CaseError as error:
            refused.append((number, envelope_id(text), tuple(error.problems)))
            continue
        except EngineError as error:
            refused.append((number, envelope_id(text), (("engine", error.message),)))
            continue
        transitions[(old_result.triage.level, new_result.triage.level)] += 1
        facts_changed: tuple[str, ...] = ()
        if facts_differ:
            old_facts = build_facts(case, old_ruleset.fact_definitions)
            new_facts = build_facts(case, new_ruleset.fact_definitions)
            facts_changed = tuple(sorted(name for name in old_facts.keys() | new_facts.keys()
                                         if old_facts.get(name) != new_facts.get(name)))
        delta = compare_results(number, record_id, old_result, new_result, facts_changed)
        if delta is not None:
            deltas.append(delta)
    return ChunkComparison(chunk.index, sum(transitions.values()), transitions, tuple(deltas),
                           tuple(refused))

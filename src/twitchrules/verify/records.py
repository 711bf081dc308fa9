"""Records: verify many recorded decisions: a batch results file, or a service audit log entry.

A batch results file (``twitchrules batch``) has one line per evaluated case,
``{"line": N, "id": ..., "result": R}``, in input order; its cases file has a case, or
``{"id": ..., "case": {...}}``, per line (``.gz`` read as such). ``verify_batch`` walks both
in step (nothing but counts and the first failures is kept, so a file of any length streams
through), re-runs every line and sums up. A case line with no result line counts as refused
by the batch only where that can be seen: the line is not a valid case (checked by
``twitchrules.case.records.parse_record``, as the batch checks it), or the batch's refused
file (``RESULTS.refused.jsonl``), when given, names it. Any other case line without a result
is a missing result: named, and the file fails.

A service audit log holds, per hook call, identifiers and outcomes only: the ruleset's
sha256, the engine, the triage level, the fired rule ids and the sha256 of the canonical case
(``twitchrules.case.canonical``). ``verify_audit`` finds the entries of a case file by that
sha256 and checks their triage and fired rules.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..case import Case, case_from_mapping
from ..case.canonical import case_sha256
from ..case.reading import JsonProblem, parse_json
from ..case.records import parse_record
from ..errors import CaseError
from ..pipeline import evaluate
from .reproduce import (
    NOT_IN_ARCHIVE,
    Verification,
    VerifyInputError,
    choose_reproducing_engine,
    find_ruleset,
    render_verification,
    verify_result,
)

FAILURES_KEPT = 50
"""How many failing lines a batch report keeps in full (the rest are counted)."""


def _open_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(line number, bytes)`` of every non-blank line of a (possibly gzipped) file."""
    try:
        raw = path.open("rb")
    except OSError as error:
        raise VerifyInputError([(str(path), f"cannot be read: {error.strerror}")]) from None
    with raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.open(raw, "rb") if gzipped else raw  # noqa: SIM115 - closed with raw
        try:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield number, line
        except (OSError, EOFError) as error:
            raise VerifyInputError([(str(path), f"cannot be read: {error}")]) from None


def _parsed(path: Path, number: int, line: bytes) -> Any:
    try:
        return parse_json(line)
    except JsonProblem as problem:
        where = f"{path.name}: line {number}" + (f": {problem.location}" if problem.location else "")
        raise VerifyInputError([(where, problem.message)]) from None


@dataclass(frozen=True)
class LineOutcome:
    """One batch line: its number and id, and what verifying it found."""

    line: int
    id: Any
    verification: Verification | None
    problem: str | None = None


@dataclass
class BatchReport:
    """A batch results file verified against its cases file: counts and the first failures."""

    results: str
    cases: str
    checked: int = 0
    reproduced: int = 0
    differing: int = 0
    not_found: int = 0
    refused: int = 0
    missing: int = 0
    problems: int = 0
    notes: dict[str, int] = field(default_factory=dict)
    failures: list[LineOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every result line reproduced and every case line not refused had a result."""
        return self.checked == self.reproduced and not self.problems and not self.missing

    def _fail(self, outcome: LineOutcome) -> None:
        if len(self.failures) < FAILURES_KEPT:
            self.failures.append(outcome)


def _case_line(path: Path, number: int, line: bytes) -> tuple[Any, Any]:
    """The id and the raw case of a cases-file line (a case, or ``{"id", "case"}``)."""
    document = _parsed(path, number, line)
    if isinstance(document, dict) and set(document) <= {"id", "case"} and "case" in document:
        return document.get("id"), document["case"]
    return None, document


def _refused_lines(path: Path) -> set[int]:
    """The case line numbers a batch's refused file names (``{"line": N, "id": ..., "errors": [...]}``)."""
    numbers: set[int] = set()
    for number, line in _open_lines(path):
        entry = _parsed(path, number, line)
        target = entry.get("line") if isinstance(entry, dict) else None
        if not isinstance(target, int) or isinstance(target, bool) or "errors" not in entry:
            raise VerifyInputError([(f"{path.name}: line {number}",
                                     'must be {"line": N, "id": ..., "errors": [...]} (a batch\'s refused file)')])
        numbers.add(target)
    return numbers


def _without_result(report: BatchReport, number: int, line: bytes, refused_lines: set[int],
                    refused_named: bool) -> None:
    """Count a case line that has no result line: refused (seen to be), or a missing result."""
    if number in refused_lines:
        report.refused += 1
        return
    try:
        record_id, _ = parse_record(line.rstrip(b"\r\n"))
    except CaseError:
        report.refused += 1  # not a valid case: the batch refuses it
        return
    report.missing += 1
    where = "the refused file does not name it" if refused_named else "no refused file was given (--refused)"
    report._fail(LineOutcome(number, record_id, None,
                             f"no result: the case is valid and {where}; its result is missing"))


def verify_batch(results: str | Path, cases: str | Path,
                 on_line: Callable[[], None] | None = None,
                 refused: str | Path | None = None) -> BatchReport:
    """Verify every line of a batch results file against the case on the same line of ``cases``.

    ``refused`` is the batch's refused file: the case lines it names count as refused even
    when they are valid cases (the batch refuses a line the engine fails on). Without it, only
    a line that is not a valid case counts as refused; any other line without a result is missing.
    """
    results_path, cases_path = Path(results), Path(cases)
    report = BatchReport(str(results_path), str(cases_path))
    refused_lines = _refused_lines(Path(refused)) if refused is not None else set()
    case_lines = _open_lines(cases_path)
    pending: tuple[int, bytes] | None = next(case_lines, None)
    previous = 0
    for number, line in _open_lines(results_path):
        entry = _parsed(results_path, number, line)
        if not isinstance(entry, dict) or not isinstance(entry.get("line"), int) or "result" not in entry:
            raise VerifyInputError([(f"{results_path.name}: line {number}",
                                     'must be {"line": N, "id": ..., "result": {...}} (twitchrules batch)')])
        target = entry["line"]
        if target <= previous:
            raise VerifyInputError([(f"{results_path.name}: line {number}: line",
                                     f"{target} is not after {previous}: results must be in input order")])
        previous = target
        while pending is not None and pending[0] < target:
            _without_result(report, *pending, refused_lines, refused is not None)
            pending = next(case_lines, None)
        if pending is None or pending[0] != target:
            raise VerifyInputError([(f"{results_path.name}: line {number}: line",
                                     f"{target} has no case on that line of {cases_path.name}")])
        case_id, raw_case = _case_line(cases_path, *pending)
        pending = next(case_lines, None)
        report.checked += 1
        if on_line is not None:
            on_line()
        if target in refused_lines:
            report.problems += 1
            report._fail(LineOutcome(target, case_id, None, "has a result and the refused file names it too"))
            continue
        if entry.get("id") != case_id:
            report.problems += 1
            report._fail(LineOutcome(target, entry.get("id"), None,
                                     f"id {entry.get('id')!r} differs from the case line's id {case_id!r}"))
            continue
        try:
            case = case_from_mapping(raw_case)
        except CaseError as error:
            report.problems += 1
            report._fail(LineOutcome(target, case_id, None, f"the case is not valid now: {error.message}"))
            continue
        verification = verify_result(entry["result"], case, f"{results_path.name}: line {number}: result")
        for note in verification.notes:
            report.notes[note] = report.notes.get(note, 0) + 1
        if verification.reproduced:
            report.reproduced += 1
        else:
            if verification.status == "ruleset-not-found":
                report.not_found += 1
            else:
                report.differing += 1
            report._fail(LineOutcome(target, case_id, verification))
    while pending is not None:  # trailing case lines with no result
        _without_result(report, *pending, refused_lines, refused is not None)
        pending = next(case_lines, None)
    return report


def render_batch(report: BatchReport) -> str:
    """The batch verification in words: each failing line, then a summary."""
    lines: list[str] = []
    for outcome in report.failures:
        label = f"line {outcome.line}" + (f" (id {outcome.id!r})" if outcome.id is not None else "")
        if outcome.problem is not None:
            lines.append(f"{label}: {outcome.problem}")
        elif outcome.verification is not None:
            text = render_verification(outcome.verification, label)
            lines += [line for line in text.splitlines() if not line.startswith("  note:")]
    kept = report.differing + report.not_found + report.problems + report.missing
    if kept > len(report.failures):
        lines.append(f"... {kept - len(report.failures)} more failing lines not shown")
    for note, count in sorted(report.notes.items()):
        lines.append(f"note ({count} line{'s' if count != 1 else ''}): {note}")
    lines.append(
        f"verified {report.checked} result lines of {report.results} against {report.cases}: "
        f"{report.reproduced} reproduced, {report.differing} differ, {report.not_found} with "
        f"{NOT_IN_ARCHIVE}, {report.problems} not checkable; {report.refused} case lines refused by the batch, "
        f"{report.missing} case lines with no result")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the service's audit log


@dataclass(frozen=True)
class AuditEntryCheck:
    """One audit log entry of the case: when, which call, and whether it was reproduced."""

    line: int
    time: str
    hook_instance: str
    status: str  # "reproduced", "differs" or "ruleset-not-found"
    differences: list[str]
    notes: list[str]


@dataclass
class AuditCheck:
    """The audit log entries of one case (found by its canonical sha256), each checked."""

    log: str
    case_sha256: str
    entries: list[AuditEntryCheck]
    calls: int

    @property
    def ok(self) -> bool:
        """True when the case has at least one entry and every one of them was reproduced."""
        return bool(self.entries) and all(entry.status == "reproduced" for entry in self.entries)


def _audit_records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in _open_lines(path):
        try:
            record = json.loads(line)
        except ValueError:
            raise VerifyInputError([(f"{path.name}: line {number}", "is not a JSON audit record")]) from None
        if isinstance(record, dict):
            yield number, record


def _check_entry(number: int, record: Mapping[str, Any], case: Case) -> AuditEntryCheck:
    where = f"line {number}"
    ruleset_info = record.get("ruleset")
    engine_info = record.get("engine")
    if not isinstance(ruleset_info, dict) or not isinstance(ruleset_info.get("sha256"), str):
        raise VerifyInputError([(f"{where}: ruleset.sha256", "is required to verify an entry")])
    if not isinstance(engine_info, dict) or not isinstance(engine_info.get("name"), str):
        raise VerifyInputError([(f"{where}: engine.name", "is required to verify an entry")])
    time, call = str(record.get("time")), str(record.get("hookInstance"))
    ruleset = find_ruleset(ruleset_info["sha256"])
    if ruleset is None:
        return AuditEntryCheck(number, time, call, status="ruleset-not-found", differences=[], notes=[
            f"{NOT_IN_ARCHIVE}: {ruleset_info.get('name')} {ruleset_info.get('version')} "
            f"sha256 {ruleset_info['sha256']}"])
    engine, substituted = choose_reproducing_engine(engine_info["name"])
    result = evaluate(case, ruleset=ruleset, engine=engine)
    differences: list[str] = []
    if record.get("triage") != result.triage.level:
        differences.append(f"triage: recorded {record.get('triage')!r}, now {result.triage.level!r}")
    fired = [step.rule for step in result.trace]
    if record.get("fired_rules") != fired:
        recorded = list(record.get("fired_rules") or [])
        only_then = [r for r in recorded if r not in fired]
        only_now = [r for r in fired if r not in recorded]
        differences.append(f"fired_rules: only recorded {only_then}, only now {only_now}"
                           + ("" if only_then or only_now else " (same rules, other order)"))
    return AuditEntryCheck(number, time, call, status="differs" if differences else "reproduced",
                           differences=differences, notes=[substituted] if substituted else [])


def verify_audit(log: str | Path, case: Case) -> AuditCheck:
    """Find the audit log entries of ``case`` by its canonical sha256 and check each one."""
    path = Path(log)
    wanted = case_sha256(case)
    entries: list[AuditEntryCheck] = []
    calls = 0
    for number, record in _audit_records(path):
        if record.get("event") != "call":
            continue
        calls += 1
        if record.get("case_sha256") == wanted and record.get("outcome") == "evaluated":
            entries.append(_check_entry(number, record, case))
    return AuditCheck(str(path), wanted, entries, calls)


def render_audit_check(check: AuditCheck) -> str:
    """The audit check in words: each entry of the case with its verdict, then a summary."""
    if not check.entries:
        return (f"NOT FOUND: no evaluated call in {check.log} ({check.calls} calls) has case sha256 "
                f"{check.case_sha256}\n")
    lines: list[str] = []
    for entry in check.entries:
        verdict = {"reproduced": "REPRODUCED", "differs": "DIFFERS",
                   "ruleset-not-found": f"NOT VERIFIED: {NOT_IN_ARCHIVE}"}[entry.status]
        lines.append(f"line {entry.line} ({entry.time}, hookInstance {entry.hook_instance}): {verdict}"
                     + (" (triage and fired rules)" if entry.status == "reproduced" else ""))
        lines += [f"  {difference}" for difference in entry.differences]
        lines += [f"  note: {note}" for note in entry.notes]
    good = sum(1 for entry in check.entries if entry.status == "reproduced")
    lines.append(f"{good} of {len(check.entries)} audit entries of case sha256 {check.case_sha256[:12]}... reproduced")
    return "\n".join(lines) + "\n"

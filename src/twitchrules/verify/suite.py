"""Suite: run a ruleset's expected-outcome case files and say, per failure, expected against actual.

``run_ruleset_tests`` evaluates every case file of the ruleset's ``tests/`` folder (or of
another folder) on one engine, compares each result with its ``expect`` block
(``twitchrules.ruleset.testing.mismatches``) and counts which rules the cases fired
(``twitchrules.ruleset.coverage``). A case file whose case breaks the contract is bad input:
``RulesetError`` naming the file and the field, before anything runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..case import Case, case_from_mapping
from ..engine import cached_ruleset, choose_engine
from ..errors import CaseError, RulesetError
from ..pipeline import evaluate
from ..ruleset.coverage import RuleCoverage, rule_ids
from ..ruleset.model import Ruleset
from ..ruleset.sources import RulesetSpec
from ..ruleset.testing import CaseFile, load_case_files, mismatches, tests_folder

Progress = Callable[[Iterable[CaseFile]], Iterable[CaseFile]]
"""Wraps the case files as they are run (a progress bar on a terminal; identity otherwise)."""


@dataclass(frozen=True)
class CaseOutcome:
    """One case file run: the result (contract JSON) and every way it departs from ``expect``."""

    case_file: CaseFile
    result: Mapping[str, Any]
    problems: list[str]

    @property
    def passed(self) -> bool:
        """True when the result shows everything the case file expects."""
        return not self.problems


@dataclass(frozen=True)
class SuiteReport:
    """A ruleset's tests run on one engine: every outcome and the rule coverage they give."""

    ruleset: Ruleset
    engine: str
    folder: Path
    outcomes: list[CaseOutcome]
    coverage: RuleCoverage

    @property
    def failures(self) -> list[CaseOutcome]:
        """The case files whose result departs from their ``expect`` block."""
        return [outcome for outcome in self.outcomes if not outcome.passed]


def _checked_cases(case_files: list[CaseFile]) -> list[Case]:
    cases: list[Case] = []
    problems: list[tuple[str, str]] = []
    for case_file in case_files:
        try:
            cases.append(case_from_mapping(case_file.case))
        except CaseError as error:
            problems += [(f"{case_file.path.name}: case.{where}" if where else
                          f"{case_file.path.name}: case", message) for where, message in error.problems]
    if problems:
        raise RulesetError(problems)
    return cases


def run_ruleset_tests(ruleset: RulesetSpec = None, cases: str | Path | None = None,
                      engine: str | None = None, progress: Progress | None = None) -> SuiteReport:
    """Run the case files of ``cases`` (default: the ruleset's own ``tests/``) on ``ruleset``.

    Raises ``RulesetError`` when the ruleset has no tests folder, or a case file is bad.
    """
    loaded = cached_ruleset(ruleset)
    folder = Path(cases) if cases is not None else tests_folder(loaded)
    if folder is None:
        raise RulesetError([(loaded.path, "has no tests/ folder of case files (give one with --cases)")])
    case_files = load_case_files(folder)
    checked = dict(zip((case_file.id for case_file in case_files), _checked_cases(case_files), strict=True))
    chosen = choose_engine(engine)
    coverage = RuleCoverage.of(loaded)
    outcomes: list[CaseOutcome] = []
    for case_file in (progress(case_files) if progress else case_files):
        result = evaluate(checked[case_file.id], ruleset=loaded, engine=chosen).to_dict()
        coverage.add(rule_ids(result), label=case_file.id)
        outcomes.append(CaseOutcome(case_file, result, mismatches(case_file.expect, result)))
    return SuiteReport(loaded, chosen, folder, outcomes, coverage)


def actual_summary(result: Mapping[str, Any]) -> list[str]:
    """What a result shows, in the areas a case file can expect (one line each)."""
    triage = result["triage"]
    differential = ", ".join(f"{entry['condition']} ({entry['score']:.2f})" for entry in result["differential"])
    checklist = result["checklist"]
    met = [item["id"] for item in checklist["items"] if item["status"] == "met"]
    return [
        f"triage: {triage['level']} ({triage['timeframe']}; rules {', '.join(triage['rules'])})",
        f"differential: {differential or '(none)'}",
        f"recommendations: {', '.join(r['id'] for r in result['recommendations']) or '(none)'}",
        f"checklist: {checklist['count']} met ({', '.join(met) or 'none'})",
        f"missing information: {', '.join(m['input'] for m in result['missing_information']) or '(none)'}",
        f"notices: {', '.join(n['code'] for n in result['notices']) or '(none)'}",
    ]


def render_suite(report: SuiteReport) -> str:
    """The run in words: one block per failure (expected against actual), then a summary line."""
    lines: list[str] = []
    for outcome in report.failures:
        case_file = outcome.case_file
        lines.append(f"FAIL {case_file.id}: {case_file.title}")
        lines.append(f"  source: {case_file.source}")
        lines += [f"  - {problem}" for problem in outcome.problems]
        lines.append("  expected: " + json.dumps(case_file.expect, ensure_ascii=False, sort_keys=True))
        lines.append("  actual:")
        lines += [f"    {line}" for line in actual_summary(outcome.result)]
    failed = len(report.failures)
    total = len(report.outcomes)
    ruleset = report.ruleset
    lines.append(f"{total - failed} passed, {failed} failed: case files of {report.folder} on ruleset "
                 f"{ruleset.name} {ruleset.version} (engine {report.engine})")
    return "\n".join(lines) + "\n"

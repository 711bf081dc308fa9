"""Coverage: which of a ruleset's rules a set of evaluations fired, and which none ever did.

Coverage is read from traces (the rule ids a result's ``trace`` lists), so it needs no
engine: the ruleset's own tests, a batch results file or any list of results give it the
same way. The default triage counts as a rule (it is audited and locked like one; the
trace lists it when no triage rule fired).

``RuleCoverage`` is an accumulator, so a batch can add one result at a time and keep only
counts (memory stays flat however many cases)::

    coverage = RuleCoverage.of(ruleset)
    for line, result in results:
        coverage.add(rule_ids(result), label=f"line {line}")
    print(render_coverage(coverage))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Ruleset

COVERAGE_FORMATS: tuple[str, ...] = ("text", "json")

EXAMPLES_KEPT = 3
"""How many labels (case ids, batch lines) are kept per rule as examples of what fired it."""


def rule_ids(result: Any) -> list[str]:
    """The rule ids a result's trace lists (a ``Result`` or its contract JSON)."""
    trace = result["trace"] if isinstance(result, Mapping) else result.trace
    return [step["rule"] if isinstance(step, Mapping) else step.rule for step in trace]


@dataclass
class RuleCoverage:
    """How often each rule of a ruleset fired over some evaluations, with a few examples."""

    ruleset: dict[str, str]
    """The ruleset counted: its ``name``, ``version`` and ``sha256``."""
    titles: dict[str, str]
    counts: dict[str, int]
    examples: dict[str, list[str]] = field(default_factory=dict)
    evaluations: int = 0
    unknown: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, ruleset: Ruleset) -> RuleCoverage:
        """An empty coverage of every rule of ``ruleset`` (and its default triage)."""
        titles = {rule.id: rule.title for rule in ruleset.rules}
        default = ruleset.triage_default
        titles[default["id"]] = f"Default triage: {default['level']}"
        identity = {"name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256}
        return cls(identity, titles,
                   dict.fromkeys(titles, 0), {rule_id: [] for rule_id in titles})

    def add(self, fired: Iterable[str], label: str | None = None) -> None:
        """Count one evaluation that fired the rules ``fired`` (ids, e.g. ``rule_ids(result)``)."""
        self.evaluations += 1
        for rule_id in dict.fromkeys(fired):
            if rule_id not in self.counts:  # a result of another ruleset version
                self.unknown[rule_id] = self.unknown.get(rule_id, 0) + 1
                continue
            self.counts[rule_id] += 1
            kept = self.examples[rule_id]
            if label is not None and len(kept) < EXAMPLES_KEPT:
                kept.append(label)

    @property
    def fired(self) -> list[str]:
        """The rules fired at least once, in ruleset order."""
        return [rule_id for rule_id, count in self.counts.items() if count]

    @property
    def never_fired(self) -> list[tuple[str, str]]:
        """``(id, title)`` of every rule no evaluation fired, in ruleset order."""
        return [(rule_id, self.titles[rule_id]) for rule_id, count in self.counts.items() if not count]

    @property
    def share(self) -> float:
        """The share of rules fired at least once, as a percentage (0-100)."""
        return 100.0 * len(self.fired) / len(self.counts) if self.counts else 100.0

    def to_dict(self) -> dict[str, Any]:
        """The coverage as plain JSON values (the ``--format json`` shape)."""
        return {
            "ruleset": dict(self.ruleset),
            "evaluations": self.evaluations,
            "rules": len(self.counts),
            "fired": len(self.fired),
            "coverage_percent": round(self.share, 2),
            "never_fired": [{"id": rule_id, "title": title} for rule_id, title in self.never_fired],
            "counts": dict(self.counts),
            "examples": {rule_id: kept for rule_id, kept in self.examples.items() if kept},
            "unknown_rules": dict(sorted(self.unknown.items())),
        }


def coverage_of(ruleset: Ruleset, results: Iterable[Any]) -> RuleCoverage:
    """The coverage of ``ruleset`` over results (``Result``s or their contract JSON)."""
    coverage = RuleCoverage.of(ruleset)
    for result in results:
        coverage.add(rule_ids(result))
    return coverage


def render_coverage(coverage: RuleCoverage, output_format: str = "text") -> str:
    """The coverage as text (share, then every never-fired rule by id and title) or JSON."""
    if output_format == "json":
        return json.dumps(coverage.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if output_format != "text":
        raise ValueError(f"unknown coverage format {output_format!r} (known: {', '.join(COVERAGE_FORMATS)})")
    lines = [f"coverage: {len(coverage.fired)} of {len(coverage.counts)} rules fired "
             f"({coverage.share:.1f}%) over {coverage.evaluations} evaluation"
             f"{'s' if coverage.evaluations != 1 else ''} of ruleset {coverage.ruleset['name']} "
             f"{coverage.ruleset['version']}"]
    never = coverage.never_fired
    if never:
        lines.append(f"never fired ({len(never)}):")
        width = max(len(rule_id) for rule_id, _ in never)
        lines += [f"  {rule_id.ljust(width)}  {title}" for rule_id, title in never]
    if coverage.unknown:
        lines.append("rules in the results that this ruleset does not have: "
                     + ", ".join(sorted(coverage.unknown)))
    return "\n".join(lines) + "\n"

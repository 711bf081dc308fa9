"""Static checks: what can be proved about a ruleset from its rules as data, before any case.

``ruleset validate`` runs them after the schema and semantic checks, and a lock or a release
refuses a ruleset with an error among them. Each finding names its check, the rules and the
facts involved. The checks (``CHECKS``):

* ``unprovided-fact`` (error): a rule reads a derived fact that no rule can assert (every
  rule asserting it can never fire). A fact nothing at all provides is refused earlier, at
  load, with the same words.
* ``never-fires`` (error): a rule whose condition is contradictory in every way it could
  hold (derived facts replaced by the conditions of the rules that assert them).
* ``cycle`` (error): derived facts that depend on one another in a circle.
* ``unread-fact`` (warning): a derived fact that no condition, ``unless`` or evidence reads.
* ``pre-empted`` (warning): a rule's conclusion that never reaches the result, because
  whenever the rule fires another rule always outranks its triage, or its advice is always
  withheld (``up_to_level`` below a triage that always fires with it, ``unless`` always true).
* ``subsumed`` (warning): a rule whose condition implies another's and whose conclusions the
  other rule also draws, so it never adds anything.
* ``conflict`` (warning): two rules that can fire on the same facts and give different words
  where the result shows one: the same advice or notice worded differently (the first in
  firing order is shown), or the same triage level with different timeframes while the
  ruleset declares no ``timeframe_urgency`` order. Levels themselves never conflict: the
  highest wins, as the rule language states; nor do checklist statuses (met wins).

The situation algebra (``situations``) never calls a possible situation impossible, so an
error is always real; a warning may describe a case the contract makes impossible.
"""

from __future__ import annotations

import graphlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..case.facts import COUNTERS
from ..case.vocabulary import level_rank
from ..errors import RulesetError
from .conditions import Atom, atoms
from .model import Rule, Ruleset
from .situations import Expander, Situation, all_imply, conjoin, contradiction

Severity = Literal["error", "warning"]

CHECKS: dict[str, tuple[Severity, str]] = {
    "unprovided-fact": ("error", "a rule reads a fact that no input or rule can assert"),
    "never-fires": ("error", "a rule's condition can never be true"),
    "cycle": ("error", "derived facts depend on one another in a circle"),
    "unread-fact": ("warning", "a rule asserts a fact that nothing reads"),
    "pre-empted": ("warning", "a rule's triage or advice never reaches the result"),
    "subsumed": ("warning", "a rule implied by another with the same conclusions"),
    "conflict": ("warning", "two rules can fire together and word the same output differently"),
}
"""Every static check: its severity and what it finds, in report order."""

STATIC_FORMATS: tuple[str, ...] = ("text", "json")


@dataclass(frozen=True)
class Finding:
    """One static finding: its check, severity, rules and facts, and what it means in words."""

    check: str
    severity: Severity
    rules: tuple[str, ...]
    facts: tuple[str, ...]
    message: str


@dataclass
class StaticReport:
    """The static findings of one ruleset, errors first within each check's order."""

    ruleset: str
    version: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """The findings that block a lock."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """The findings that are listed but block nothing."""
        return [f for f in self.findings if f.severity == "warning"]

    def counts(self) -> dict[str, int]:
        """How many findings each check made (every check named, zero included)."""
        return {check: sum(f.check == check for f in self.findings) for check in CHECKS}

    def add(self, check: str, rules: Sequence[str], facts: Sequence[str], message: str) -> None:
        """Record a finding of ``check``."""
        self.findings.append(Finding(check, CHECKS[check][0], tuple(rules),
                                     tuple(dict.fromkeys(facts)), message))


class StaticCheckError(RulesetError):
    """A ruleset has static errors: a rule that cannot fire, a fact nothing asserts, a cycle."""

    exit_code = 2


def _read_facts(rule: Rule) -> list[str]:
    """Every fact a rule reads: its condition, its advice's ``unless`` and its evidence."""
    read = [atom.fact for atom in atoms(rule.condition)]
    for body in rule.conclusions("recommend"):
        read.extend(body.get("unless", ()))
    for body in rule.conclusions("evidence"):
        read.extend(body.get("findings", ()))
    return read


def _key(conclusion: Mapping[str, Any]) -> str:
    return json.dumps(conclusion, sort_keys=True, ensure_ascii=False)


class _Analysis:
    """The checks over one ruleset, sharing each rule's situations."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.report = StaticReport(ruleset.name, ruleset.version)
        self.cycles = self._cycles()
        self.expander = Expander(ruleset, frozenset(f for cycle in self.cycles for f in cycle))
        self.situations = [self.expander.safe_rule(rule.index) for rule in ruleset.rules]
        self.live = [[s for s in found if not contradiction(s)] for found in self.situations]

    def run(self) -> StaticReport:
        self._unprovided()
        self._never_fires()
        for cycle in self.cycles:
            producers = dict.fromkeys(r.id for f in cycle for r in self.ruleset.producers.get(f, []))
            self.report.add("cycle", list(producers), cycle,
                            "each of " + " -> ".join([*cycle, cycle[0]]) + " needs the next one first, "
                            "so none of them can be asserted through the circle")
        self._unread()
        self._pre_empted()
        self._subsumed()
        self._conflicts()
        return self.report

    def _cycles(self) -> list[list[str]]:
        """Circles among derived facts (fact -> the derived facts its producers read)."""
        graph = {name: {atom.fact for rule in rules for atom in atoms(rule.condition)
                        if atom.fact in self.ruleset.derived_names}
                 for name, rules in self.ruleset.producers.items()}
        found: list[list[str]] = []
        while True:
            try:
                graphlib.TopologicalSorter(graph).prepare()
                return found
            except graphlib.CycleError as error:
                cycle = list(dict.fromkeys(error.args[1]))
                start = cycle.index(min(cycle))
                found.append(cycle[start:] + cycle[:start])
                for name in cycle:
                    graph.pop(name, None)
                graph = {name: deps - set(cycle) for name, deps in graph.items()}

    def _unprovided(self) -> None:
        dead = {name for name, rules in self.ruleset.producers.items()
                if all(not self.live[rule.index] for rule in rules)}
        provided = set(self.ruleset.catalogue) | self.ruleset.derived_names | set(COUNTERS)
        for rule in self.ruleset.rules:
            for fact in dict.fromkeys(_read_facts(rule)):
                if fact not in provided:
                    self.report.add("unprovided-fact", [rule.id], [fact],
                                    f"{rule.id} reads '{fact}', which no input, computed fact or rule provides")
                elif fact in dead:
                    producers = ", ".join(r.id for r in self.ruleset.producers[fact])
                    self.report.add("unprovided-fact", [rule.id], [fact],
                                    f"{rule.id} reads '{fact}', but no rule that asserts it "
                                    f"({producers}) can ever fire")

    def _never_fires(self) -> None:
        for rule in self.ruleset.rules:
            if self.live[rule.index]:
                continue
            facts = sorted({f for s in self.situations[rule.index] for f in contradiction(s)})
            self.report.add("never-fires", [rule.id], facts,
                            f"{rule.id} can never fire: its condition asks contradictory things "
                            f"of {', '.join(facts) or 'its facts'}")

    def _unread(self) -> None:
        read = {fact for rule in self.ruleset.rules for fact in _read_facts(rule)}
        for name, rules in self.ruleset.producers.items():
            if name not in read:
                self.report.add("unread-fact", [r.id for r in rules], [name],
                                f"'{name}' is asserted by {', '.join(r.id for r in rules)} "
                                "but no rule, advice filter or evidence reads it")

    def _always_with(self, rule: Rule, others: Sequence[Rule]) -> list[Rule]:
        """Of ``others``, those that fire in every situation where ``rule`` fires (one suffices per situation)."""
        found: list[Rule] = []
        for situation in self.live[rule.index]:
            hit = next((o for o in others if o is not rule and self.live[o.index]
                        and all_imply([situation], self.live[o.index], self.expander.domains)), None)
            if hit is None:
                return []
            if hit not in found:
                found.append(hit)
        return found

    def _pre_empted(self) -> None:
        setting = [rule for rule in self.ruleset.rules if rule.triage is not None]
        for rule in self.ruleset.rules:
            if not self.live[rule.index]:
                continue
            own = level_rank(rule.triage["level"]) if rule.triage is not None else -1
            if rule.triage is not None:
                higher = [o for o in setting if level_rank(o.triage["level"]) > own]  # type: ignore[index]
                outranked = self._always_with(rule, higher)
                if outranked:
                    self.report.add("pre-empted", [rule.id, *(o.id for o in outranked)],
                                    rule.condition_facts,
                                    f"{rule.id}'s triage ({rule.triage['level']}) never decides: whenever it "
                                    f"fires, {', '.join(o.id for o in outranked)} sets a higher level")
            for body in rule.conclusions("recommend"):
                self._advice_withheld(rule, body, own, setting)

    def _advice_withheld(self, rule: Rule, body: Mapping[str, Any], own: int,
                         setting: Sequence[Rule]) -> None:
        up_to = body.get("up_to_level")
        if up_to is not None:
            limit = level_rank(up_to)
            if own > limit:
                self.report.add("pre-empted", [rule.id], [], f"{rule.id}'s advice '{body['id']}' is "
                                f"never given: up to {up_to}, beside its own {rule.triage['level']} triage"  # type: ignore[index]
                                )
                return
            higher = [o for o in setting if level_rank(o.triage["level"]) > limit]  # type: ignore[index]
            outranked = self._always_with(rule, higher)
            if outranked:
                self.report.add("pre-empted", [rule.id, *(o.id for o in outranked)], [],
                                f"{rule.id}'s advice '{body['id']}' is never given: up to {up_to}, and "
                                f"{', '.join(o.id for o in outranked)} always sets a higher level with it")
                return
        for name in body.get("unless", ()):
            # A derived fact is true exactly when a rule asserting it fires: compare with those.
            true = [s for s in self.expander.condition(Atom(name, "is", True)) if not contradiction(s)]
            if true and all_imply(self.live[rule.index], true, self.expander.domains):
                self.report.add("pre-empted", [rule.id], [name],
                                f"{rule.id}'s advice '{body['id']}' is never given: unless {name}, "
                                "which is true whenever the rule fires")

    def _subsumed(self) -> None:
        rules = [r for r in self.ruleset.rules if self.live[r.index]]
        keys = {r.index: {_key(c) for c in r.then} for r in rules}
        reported: set[tuple[int, int]] = set()
        for rule in rules:
            for other in rules:
                if other is rule or not keys[rule.index] <= keys[other.index]:
                    continue
                if (other.index, rule.index) in reported:
                    continue  # the same two rules, equivalent: said once
                if all_imply(self.live[rule.index], self.live[other.index], self.expander.domains):
                    reported.add((rule.index, other.index))
                    self.report.add("subsumed", [rule.id, other.id], rule.condition_facts,
                                    f"{rule.id} adds nothing: whenever it fires {other.id} fires too "
                                    "and draws the same conclusions")

    def _together(self, left: Rule, right: Rule) -> Situation | None:
        for a in self.live[left.index]:
            for b in self.live[right.index]:
                both = conjoin(a, b, self.expander.domains)
                if not contradiction(both):
                    return both
        return None

    def _conflicts(self) -> None:
        worded: dict[tuple[str, str], list[tuple[Rule, str]]] = {}
        for rule in self.ruleset.rules:
            if not self.live[rule.index]:
                continue
            for body in rule.conclusions("recommend"):
                worded.setdefault(("advice", body["id"]), []).append((rule, _key(body)))
            for body in rule.conclusions("notice"):
                worded.setdefault(("notice", body["code"]), []).append((rule, _key(body)))
            if rule.triage is not None and not self.ruleset.timeframe_rank:
                worded.setdefault(("triage", rule.triage["level"]), []).append(
                    (rule, rule.triage["timeframe"]))
        for (kind, name), entries in worded.items():
            pairs: list[tuple[Rule, Rule, Situation]] = []
            for position, (left, left_words) in enumerate(entries):
                for right, right_words in entries[position + 1:]:
                    both = None if left_words == right_words else self._together(left, right)
                    if both is not None:
                        pairs.append((left, right, both))
            if not pairs:
                continue
            if kind != "triage":
                for left, right, both in pairs:
                    self.report.add("conflict", [left.id, right.id], sorted(both),
                                    f"{left.id} and {right.id} can fire together and word the "
                                    f"{kind} '{name}' differently; only the first in firing order "
                                    f"({left.id}) is shown")
                continue
            # One finding a level: every pair would repeat the same missing declaration.
            involved = list(dict.fromkeys(r.id for pair in pairs for r in pair[:2]))
            left, right, both = pairs[0]
            self.report.add("conflict", involved, sorted(both), (
                f"{len(involved)} rules set level {name} with different timeframes and can fire "
                f"together ({len(pairs)} pair{'s' * (len(pairs) != 1)}, e.g. {left.id} and {right.id}); with no "
                "definitions.timeframe_urgency the first in firing order is shown"))


def check_ruleset(ruleset: Ruleset) -> StaticReport:
    """Run every static check on a loaded ruleset (see ``CHECKS``)."""
    return _Analysis(ruleset).run()


def require_no_static_errors(ruleset: Ruleset) -> StaticReport:
    """The static report, or ``StaticCheckError`` naming every error (a lock refuses these)."""
    report = check_ruleset(ruleset)
    if report.errors:
        raise StaticCheckError([(f"{f.check}: {', '.join(f.rules)}", f.message) for f in report.errors])
    return report


def render_static(report: StaticReport, output_format: str = "text") -> str:
    """The report as text (one line a finding) or JSON (``counts`` and ``findings``)."""
    if output_format == "json":
        document = {"ruleset": report.ruleset, "version": report.version,
                    "counts": report.counts(),
                    "findings": [asdict(f) for f in report.findings]}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    lines = [f"static checks: {len(report.errors)} error{'s' * (len(report.errors) != 1)}, "
             f"{len(report.warnings)} warning{'s' * (len(report.warnings) != 1)}"]
    for finding in report.findings:
        facts = f" [facts: {', '.join(finding.facts)}]" if finding.facts else ""
        lines.append(f"  {finding.severity}: {finding.check}: {finding.message}{facts}")
    return "\n".join(lines) + "\n"

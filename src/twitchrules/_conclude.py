"""Conclusions: an engine run -> the contract result (triage, differential, checklist, trace).

Output models are built with ``model_construct`` (no re-validation of values this module
computes itself); tests validate real results against the models and the published schema.

Everything here reads the firing record; nothing matches rules again. The one three-valued
judgement made here is attribution: for each rule the engine left undecided, which unknown
inputs would decide it, and whether its firing would change the triage or the differential.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._conditions import UNKNOWN, Knowledge, atoms, kleene
from ._facts import COUNTERS, FactValue
from ._result import (
    Checklist,
    ChecklistItem,
    DifferentialEntry,
    EngineInfo,
    MissingInput,
    Notice,
    Recommendation,
    Result,
    RulesetInfo,
    TraceEntry,
    Triage,
)
from ._ruleset import Rule, Ruleset
from ._vocabulary import level_rank
from .engine import EngineRun

_COUNTER = COUNTERS[0]


def _describe(conclusion: Mapping[str, Any]) -> str:
    (kind, body), = conclusion.items()
    if kind == "assert":
        return f"assert {body}"
    if kind == "triage":
        return f"triage {body['level']}: {body['timeframe']}"
    if kind == "checklist":
        return f"checklist {body['item']}: {body['status']}"
    if kind == "evidence":
        findings = ", ".join(body["findings"])
        return f"evidence {body['direction']} {body['condition']} ({body['weight']}): {findings}"
    if kind == "recommend":
        return f"recommend {body['id']}"
    return f"notice {body['code']}"


def _matched(rule: Rule, key: str, run: EngineRun, facts: Mapping[str, FactValue],
             ruleset: Ruleset) -> dict[str, Any]:
    matched: dict[str, Any] = {}
    for atom in atoms(rule.condition):
        if atom.fact in matched:
            continue
        if atom.fact in ruleset.derived_names:
            if atom.fact in run.derived:
                matched[atom.fact] = True
        elif atom.fact in COUNTERS:
            matched[atom.fact] = run.counter_at_firing[rule.index]
        elif atom.fact in facts:
            matched[atom.fact] = facts[atom.fact]
    return matched


class _Builder:
    def __init__(self, ruleset: Ruleset, run: EngineRun, facts: Mapping[str, FactValue]) -> None:
        self.ruleset = ruleset
        self.run = run
        self.facts = facts
        self.fired = [ruleset.rules[i] for i in run.fired]

    def triage(self) -> tuple[Triage, bool]:
        setting = [(rule, rule.triage) for rule in self.fired if rule.triage is not None]
        if not setting:
            default = self.ruleset.data["triage_default"]
            return Triage.model_construct(level=default["level"], timeframe=default["timeframe"],
                          reasons=[default["reason"]], rules=[default["id"]]), True
        top = max(level_rank(body["level"]) for _, body in setting)
        chosen = [(rule, body) for rule, body in setting if level_rank(body["level"]) == top]
        reasons = list(dict.fromkeys(body["reason"] for _, body in chosen))
        return Triage.model_construct(level=chosen[0][1]["level"], timeframe=chosen[0][1]["timeframe"],
                      reasons=reasons, rules=[rule.id for rule, _ in chosen]), False

    def checklist(self) -> Checklist:
        spec = self.ruleset.data["checklist"]
        items = []
        for item in spec["items"]:
            statuses, evidence, rules = set(), [], []
            for rule in self.fired:
                for body in rule.conclusions("checklist"):
                    if body["item"] == item["id"]:
                        statuses.add(body["status"])
                        evidence.append(body["evidence"])
                        rules.append(rule.id)
            status = "met" if "met" in statuses else "not_met" if statuses else "unknown"
            items.append(ChecklistItem.model_construct(id=item["id"], text=item["text"], status=status,
                                       evidence=list(dict.fromkeys(evidence)), rules=rules))
        count = sum(item.status == "met" for item in items)
        return Checklist.model_construct(items=items, count=count, threshold=spec["threshold"],
                         referral=count >= spec["threshold"])

    def differential(self) -> list[DifferentialEntry]:
        conditions = self.ruleset.data["conditions"]
        entries = []
        for position, (condition, meta) in enumerate(conditions.items()):
            keep_for, keep_against, miss_for, miss_against, rules = 1.0, 1.0, [], [], []
            for rule in self.fired:
                for body in rule.conclusions("evidence"):
                    if body["condition"] != condition:
                        continue
                    if body["direction"] == "for":
                        keep_for *= 1 - body["weight"]
                        miss_for.extend(body["findings"])
                    else:
                        keep_against *= 1 - body["weight"]
                        miss_against.extend(body["findings"])
                    if rule.id not in rules:
                        rules.append(rule.id)
            score = round((1 - keep_for) * keep_against, 3)
            if not miss_for and keep_for == 1.0 or score <= 0:
                continue
            entries.append((-score, position, condition, meta, score, miss_for, miss_against,
                            rules))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return [
            DifferentialEntry.model_construct(condition=condition, title=meta["title"], rank=rank, score=score,
                              for_=list(dict.fromkeys(for_)),
                              against=list(dict.fromkeys(against)),
                              tests=list(meta["tests"]), rules=rules)
            for rank, (_, _, condition, meta, score, for_, against, rules) in enumerate(
                entries, start=1)
        ]

    def recommendations(self) -> list[Recommendation]:
        found: dict[str, dict[str, Any]] = {}
        for rule in self.fired:
            for body in rule.conclusions("recommend"):
                entry = found.setdefault(body["id"], {"id": body["id"], "text": body["text"],
                                                      "rules": [], "source": body["source"]})
                if rule.id not in entry["rules"]:
                    entry["rules"].append(rule.id)
        return [Recommendation.model_construct(**entry) for entry in found.values()]

    def notices(self) -> list[Notice]:
        found: dict[str, Notice] = {}
        for rule in self.fired:
            for body in rule.conclusions("notice"):
                found.setdefault(body["code"], Notice.model_construct(code=body["code"], message=body["message"]))
        return list(found.values())

    def trace(self, default_used: bool) -> list[TraceEntry]:
        entries = [
            TraceEntry.model_construct(rule=rule.id, version=rule.version,
                       matched=_matched(rule, key, self.run, self.facts, self.ruleset),
                       concluded=[_describe(c) for c in rule.then],
                       source=self.ruleset.source_label(rule.provenance))
            for rule, key in zip(self.fired, self.run.fired_keys, strict=True)
        ]
        if default_used:
            default = self.ruleset.data["triage_default"]
            entries.append(TraceEntry.model_construct(
                rule=default["id"], version=default["version"], matched={},
                concluded=[f"triage {default['level']}: {default['timeframe']} (no triage rule fired)"],
                source=self.ruleset.source_label(default["provenance"])))
        return entries

    def blame_of(self) -> Callable[[Rule], frozenset[str]]:
        """A memoised judge: the unknown inputs that leave an undecided rule undecided.

        Derived facts and the checklist counter that are only possibly true take the blame
        of the undecided rules that could produce them, resolved on demand.
        """
        ruleset, run = self.ruleset, self.run
        undecided = run.possible - set(run.fired)
        memo: dict[int, frozenset[str]] = {}
        in_progress: set[int] = set()
        inputs = ruleset.input_names

        def blame(rule: Rule) -> frozenset[str]:
            if rule.index in memo:
                return memo[rule.index]
            if rule.index in in_progress:  # a cycle adds nothing new
                return frozenset()
            in_progress.add(rule.index)
            value, found = kleene(rule.condition, knowledge)
            in_progress.discard(rule.index)
            memo[rule.index] = found if value == UNKNOWN else frozenset()
            return memo[rule.index]

        def producers_blame(rules: list[Rule]) -> frozenset[str]:
            found: frozenset[str] = frozenset()
            for rule in rules:
                if rule.index in undecided:
                    found |= blame(rule)
            return found

        class _DerivedBlame(dict):
            def __contains__(self, name: object) -> bool:
                return name in run.derived_possible and name not in run.derived

            def __getitem__(self, name: str) -> frozenset[str]:
                return producers_blame(ruleset.producers.get(name, []))

        class _CounterBlame(dict):
            def get(self, name: str, default: Any = None) -> frozenset[str]:
                rules = [rule for rule in ruleset.checklist_producers
                         if any(b["status"] == "met" and b["item"] not in run.items_met
                                for b in rule.conclusions("checklist"))]
                return producers_blame(rules)

        knowledge = Knowledge(
            facts=self.facts, derived=frozenset(run.derived), derived_possible=_DerivedBlame(),
            counters={_COUNTER: len(run.items_met)},
            counters_possible={_COUNTER: len(run.items_possible)},
            counter_blame=_CounterBlame(),
            derived_names=ruleset.derived_names, counter_names=frozenset(COUNTERS),
            input_names=inputs)
        return blame

    def missing(self, triage: Triage, default_used: bool,
                differential: list[DifferentialEntry]) -> list[MissingInput]:
        ruleset = self.ruleset
        listed = {entry.condition for entry in differential}
        blame = self.blame_of()
        undecided = [rule for rule in ruleset.rules
                     if rule.index in self.run.possible and rule.index not in self.run.fired]
        possibly_supported = {
            body["condition"] for rule in undecided for body in rule.conclusions("evidence")
            if body["direction"] == "for"}
        reasons: dict[str, dict[str, list[str]]] = {}
        for rule in undecided:
            effects = []
            body = rule.triage
            if body is not None and (
                level_rank(body["level"]) > level_rank(triage.level)
                or (default_used and body["level"] != triage.level)
            ):
                effects.append(f"could make the triage {body['level']}")
            for evidence in rule.conclusions("evidence"):
                condition = evidence["condition"]
                if evidence["direction"] == "for" or condition in listed | possibly_supported:
                    effects.append(f"could change the differential ({condition})")
            if not effects:
                continue
            culprits = blame(rule)
            for effect in dict.fromkeys(effects):
                for name in culprits:
                    entry = reasons.setdefault(name, {})
                    entry.setdefault(effect, []).append(rule.id)
        order = list(ruleset.input_names.values())
        result = []
        for name in sorted(reasons, key=order.index):
            effects = reasons[name]
            why = "; ".join(f"{effect} ({', '.join(dict.fromkeys(rules))})"
                            for effect, rules in effects.items())
            rules = list(dict.fromkeys(r for rules in effects.values() for r in rules))
            result.append(MissingInput.model_construct(input=name, why=f"Unknown: {why}.", rules=rules))
        return result


def build_result(*, ruleset: Ruleset, run: EngineRun, facts: Mapping[str, FactValue],
                 engine: EngineInfo, package_version: str) -> Result:
    """Assemble the contract result from one engine run."""
    builder = _Builder(ruleset, run, facts)
    triage, default_used = builder.triage()
    differential = builder.differential()
    return Result.model_construct(
        package_version=package_version,
        engine=engine,
        ruleset=RulesetInfo.model_construct(name=ruleset.name, version=ruleset.version, sha256=ruleset.sha256),
        triage=triage,
        differential=differential,
        recommendations=builder.recommendations(),
        checklist=builder.checklist(),
        missing_information=builder.missing(triage, default_used, differential),
        notices=builder.notices(),
        trace=builder.trace(default_used),
    )

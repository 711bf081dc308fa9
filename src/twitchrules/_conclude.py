"""Conclusions: an engine run -> the contract result (triage, differential, checklist, trace).

Everything here reads the firing record; nothing matches rules again. The one three-valued
judgement made here is attribution: for each rule the engine left undecided, which unknown
inputs would decide it, and whether its firing would change the triage or the differential.
The parts are built as plain data and validated once, by ``Result.model_validate``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from ._conditions import UNKNOWN, Knowledge, atoms, kleene
from ._facts import COUNTERS, FactValue
from ._result import Result
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


_TEXTS: dict[str, list[tuple[list[str], str]]] = {}
_TEXTS_LOCK = threading.Lock()


def _rule_texts(ruleset: Ruleset) -> list[tuple[list[str], str]]:
    """Per rule: what it concludes, in words, and its source label (fixed per ruleset)."""
    with _TEXTS_LOCK:
        if ruleset.sha256 not in _TEXTS:
            _TEXTS[ruleset.sha256] = [
                ([_describe(c) for c in rule.then], ruleset.source_label(rule.provenance))
                for rule in ruleset.rules]
        return _TEXTS[ruleset.sha256]


def _matched(rule: Rule, run: EngineRun, facts: Mapping[str, FactValue],
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

    def triage(self) -> tuple[dict[str, Any], bool]:
        setting = [(rule, rule.triage) for rule in self.fired if rule.triage is not None]
        if not setting:
            default = self.ruleset.data["triage_default"]
            return {"level": default["level"], "timeframe": default["timeframe"],
                    "reasons": [default["reason"]], "rules": [default["id"]]}, True
        top = max(level_rank(body["level"]) for _, body in setting)
        chosen = [(rule, body) for rule, body in setting if level_rank(body["level"]) == top]
        return {"level": chosen[0][1]["level"], "timeframe": chosen[0][1]["timeframe"],
                "reasons": list(dict.fromkeys(body["reason"] for _, body in chosen)),
                "rules": [rule.id for rule, _ in chosen]}, False

    def checklist(self) -> dict[str, Any]:
        spec = self.ruleset.data["checklist"]
        found: dict[str, tuple[set[str], list[str], list[str]]] = {
            item["id"]: (set(), [], []) for item in spec["items"]}
        for rule in self.fired:
            for body in rule.conclusions("checklist"):
                statuses, evidence, rules = found[body["item"]]
                statuses.add(body["status"])
                evidence.append(body["evidence"])
                rules.append(rule.id)
        items = []
        for item in spec["items"]:
            statuses, evidence, rules = found[item["id"]]
            status = "met" if "met" in statuses else "not_met" if statuses else "unknown"
            items.append({"id": item["id"], "text": item["text"], "status": status,
                          "evidence": list(dict.fromkeys(evidence)), "rules": rules})
        count = sum(item["status"] == "met" for item in items)
        return {"items": items, "count": count, "threshold": spec["threshold"],
                "referral": count >= spec["threshold"]}

    def differential(self) -> list[dict[str, Any]]:
        conditions = self.ruleset.data["conditions"]
        evidence: dict[str, list[tuple[Rule, Mapping[str, Any]]]] = {}
        for rule in self.fired:
            for body in rule.conclusions("evidence"):
                evidence.setdefault(body["condition"], []).append((rule, body))
        entries = []
        for position, (condition, meta) in enumerate(conditions.items()):
            keep_for, keep_against, found_for, found_against, rules = 1.0, 1.0, [], [], []
            for rule, body in evidence.get(condition, ()):
                if body["direction"] == "for":
                    keep_for *= 1 - body["weight"]
                    found_for.extend(body["findings"])
                else:
                    keep_against *= 1 - body["weight"]
                    found_against.extend(body["findings"])
                if rule.id not in rules:
                    rules.append(rule.id)
            score = round((1 - keep_for) * keep_against, 3)
            if keep_for == 1.0 or score <= 0:
                continue
            entries.append((-score, position, {
                "condition": condition, "title": meta["title"], "score": score,
                "for": list(dict.fromkeys(found_for)),
                "against": list(dict.fromkeys(found_against)),
                "tests": list(meta["tests"]), "rules": rules}))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return [{**entry, "rank": rank} for rank, (_, _, entry) in enumerate(entries, start=1)]

    def recommendations(self) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for rule in self.fired:
            for body in rule.conclusions("recommend"):
                entry = found.setdefault(body["id"], {"id": body["id"], "text": body["text"],
                                                      "rules": [], "source": body["source"]})
                if rule.id not in entry["rules"]:
                    entry["rules"].append(rule.id)
        return list(found.values())

    def notices(self) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for rule in self.fired:
            for body in rule.conclusions("notice"):
                found.setdefault(body["code"], {"code": body["code"], "message": body["message"]})
        return list(found.values())

    def trace(self, default_used: bool) -> list[dict[str, Any]]:
        texts = _rule_texts(self.ruleset)
        entries = [
            {"rule": rule.id, "version": rule.version,
             "matched": _matched(rule, self.run, self.facts, self.ruleset),
             "concluded": texts[rule.index][0], "source": texts[rule.index][1]}
            for rule in self.fired
        ]
        if default_used:
            default = self.ruleset.data["triage_default"]
            entries.append({
                "rule": default["id"], "version": default["version"], "matched": {},
                "concluded": [f"triage {default['level']}: {default['timeframe']}"
                              " (no triage rule fired)"],
                "source": self.ruleset.source_label(default["provenance"])})
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

    def missing(self, triage: Mapping[str, Any], default_used: bool,
                differential: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ruleset, run = self.ruleset, self.run
        listed = {entry["condition"] for entry in differential}
        level = level_rank(triage["level"])
        blame = self.blame_of()
        undecided = [rule for rule in ruleset.rules
                     if rule.index in run.possible and rule.index not in run.fired]
        possibly_supported = {
            body["condition"] for rule in undecided for body in rule.conclusions("evidence")
            if body["direction"] == "for"}
        reasons: dict[str, dict[str, list[str]]] = {}
        for rule in undecided:
            effects = []
            body = rule.triage
            if body is not None and (
                level_rank(body["level"]) > level
                or (default_used and body["level"] != triage["level"])
            ):
                effects.append(f"could make the triage {body['level']}")
            for evidence in rule.conclusions("evidence"):
                condition = evidence["condition"]
                if evidence["direction"] == "for" or condition in listed or (
                        condition in possibly_supported):
                    effects.append(f"could change the differential: {condition}")
            if not effects:
                continue
            culprits = blame(rule)
            for effect in dict.fromkeys(effects):
                for name in culprits:
                    reasons.setdefault(name, {}).setdefault(effect, []).append(rule.id)
        order = {name: position for position, name in enumerate(ruleset.input_names.values())}
        result = []
        for name in sorted(reasons, key=order.__getitem__):
            effects = reasons[name]
            why = "; ".join(f"{effect} ({', '.join(dict.fromkeys(rules))})"
                            for effect, rules in effects.items())
            rules = list(dict.fromkeys(r for rules in effects.values() for r in rules))
            result.append({"input": name, "why": f"Unknown: {why}.", "rules": rules})
        return result


def build_result(*, ruleset: Ruleset, run: EngineRun, facts: Mapping[str, FactValue],
                 engine: Mapping[str, str], package_version: str) -> Result:
    """Assemble the contract result from one engine run (validated once, as a whole)."""
    builder = _Builder(ruleset, run, facts)
    triage, default_used = builder.triage()
    differential = builder.differential()
    return Result.model_validate({
        "contract_version": "1",
        "package_version": package_version,
        "engine": dict(engine),
        "ruleset": {"name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256},
        "triage": triage,
        "differential": differential,
        "recommendations": builder.recommendations(),
        "checklist": builder.checklist(),
        "missing_information": builder.missing(triage, default_used, differential),
        "notices": builder.notices(),
        "trace": builder.trace(default_used),
    })

"""Conclusions: an engine run -> the contract result (triage, differential, checklist, trace).

Everything here reads the firing record; nothing matches rules again (the three-valued
attribution of missing information is in ``_missing``). The parts are built as plain data
and validated once, by ``Result.model_validate``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ._facts import COUNTERS, FactValue
from ._missing import missing_information
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
    for fact in rule.condition_facts:
        if fact in facts:
            matched[fact] = facts[fact]
        elif fact in ruleset.derived_names:
            if fact in run.derived:
                matched[fact] = True
        elif fact in COUNTERS:
            matched[fact] = run.counter_at_firing[rule.index]
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
            for body in rule.evidence:
                evidence.setdefault(body["condition"], []).append((rule, body))
        entries = []
        for position, (condition, meta) in enumerate(conditions.items()):
            keep_for, keep_against, found_for, found_against, rules = 1.0, 1.0, [], [], []
            items = []
            for rule, body in evidence.get(condition, ()):
                items.extend({"finding": name, "value": self._value_of(name),
                              "direction": body["direction"], "rule": rule.id}
                             for name in body["findings"])
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
                "tests": list(meta["tests"]), "rules": rules, "evidence": items}))
        entries.sort(key=lambda entry: (entry[0], entry[1]))
        return [{**entry, "rank": rank} for rank, (_, _, entry) in enumerate(entries, start=1)]

    def _value_of(self, name: str) -> FactValue | None:
        if name in self.ruleset.derived_names:
            return name in self.run.derived
        return self.facts.get(name)

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
        "missing_information": missing_information(
            ruleset, run, facts, triage, default_used, {entry["condition"] for entry in differential}),
        "notices": builder.notices(),
        "trace": builder.trace(default_used),
    })

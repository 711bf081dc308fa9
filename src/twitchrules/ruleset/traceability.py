"""Traceability: seed passage -> rules -> test cases -> hazards, with every gap listed.

A traceability matrix in the IEC 62304 spirit, generated from rule metadata: each rule's
cited passage (or named reference), the ruleset's case files that fire it (from a run of
the ruleset's own tests, handed in as ``fired_by``, so this module needs no engine) and the
hazards of the hazard log it mitigates. Gaps: a passage no rule cites, a rule no test fires,
a hazard nothing proves (or whose named cases fire none of its mitigating rules), and any
name in the hazard log that does not resolve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .hazards import Hazard
from .model import Ruleset
from .regulatory import Pack, Table, ruleset_label

EXAMPLE_CASES = 4
"""How many case files the matrix names per row (the JSON lists them all)."""


def _cases(names: Sequence[str]) -> str:
    shown = ", ".join(names[:EXAMPLE_CASES])
    more = len(names) - EXAMPLE_CASES
    return (shown + (f" and {more} more" if more > 0 else "")) or "none"


def trace_pack(ruleset: Ruleset, hazards: Sequence[Hazard], fired_by: Mapping[str, Sequence[str]],
               hazard_problems: Sequence[tuple[str, str]]) -> Pack:
    """The traceability matrix of ``ruleset``: ``fired_by`` maps rule id -> ids of the cases firing it."""
    default = ruleset.triage_default
    items = [(rule.id, rule.title, rule.provenance) for rule in ruleset.rules]
    items.append((default["id"], f"Default triage: {default['level']}", default["provenance"]))
    hazards_of: dict[str, list[str]] = {}
    for hazard in hazards:
        for rule_id in hazard.mitigated_by:
            hazards_of.setdefault(rule_id, []).append(hazard.id)
    by_passage: dict[str, list[str]] = {pid: [] for pid in ruleset.passages}
    by_reference: dict[str, list[str]] = {}
    rule_rows = []
    rules_data = []
    for rule_id, title, provenance in items:
        source = provenance["source"]
        if source.get("passage"):
            by_passage.setdefault(source["passage"], []).append(rule_id)
        else:
            by_reference.setdefault(str(source.get("reference") or source.get("note")), []).append(rule_id)
        cases = list(fired_by.get(rule_id, ()))
        cited = source.get("passage") or source.get("reference") or ""
        rule_rows.append((rule_id, title, str(cited), _cases(cases), ", ".join(hazards_of.get(rule_id, [])) or "none"))
        rules_data.append({"rule": rule_id, "title": title, "source": cited, "tests": cases,
                           "hazards": hazards_of.get(rule_id, [])})

    def chain(rule_ids: Sequence[str]) -> tuple[str, str, str]:
        cases = list(dict.fromkeys(c for r in rule_ids for c in fired_by.get(r, ())))
        found = list(dict.fromkeys(h for r in rule_ids for h in hazards_of.get(r, [])))
        return ", ".join(rule_ids) or "none", _cases(cases), ", ".join(found) or "none"

    passage_rows = [(pid, str(ruleset.passages[pid]["label"]), *chain(rules))
                    for pid, rules in by_passage.items()]
    reference_rows = [(ref, *chain(rules)) for ref, rules in by_reference.items()]
    hazard_rows = []
    hazards_data = []
    gaps: list[tuple[str, str]] = []
    for hazard in hazards:
        firing = [c for r in hazard.mitigated_by for c in fired_by.get(r, ())]
        unproving = [c for c in hazard.cases if hazard.mitigated_by and c not in firing]
        hazard_rows.append((hazard.id, hazard.hazard, hazard.cause,
                            ", ".join(hazard.mitigated_by) or hazard.controls or "none",
                            ", ".join([*hazard.cases, *hazard.checks]) or "none"))
        hazards_data.append({"id": hazard.id, "hazard": hazard.hazard, "cause": hazard.cause,
                             "effect": hazard.effect, "mitigated_by": list(hazard.mitigated_by),
                             "controls": hazard.controls, "cases": list(hazard.cases),
                             "checks": list(hazard.checks)})
        if not hazard.proved:
            gaps.append(("hazard with no test", f"{hazard.id}: {hazard.hazard}"))
        for case_id in unproving:
            gaps.append(("hazard test that fires none of its rules",
                         f"{hazard.id}: case {case_id} fires none of {', '.join(hazard.mitigated_by)}"))
    gaps += [("passage with no rule", f"{pid}: {ruleset.passages[pid]['label']}")
             for pid, rules in by_passage.items() if not rules]
    gaps += [("rule with no test", f"{rule_id}: {title}") for rule_id, title, _ in items
             if not fired_by.get(rule_id)]
    gaps += [("hazard log", f"{where}: {message}") for where, message in hazard_problems]

    pack = Pack("trace", "Traceability matrix", ruleset_label(ruleset), (
        "From each quoted passage of the seed article (and each named reference) to the rules "
        "that encode it, the ruleset's case files that fire those rules (rulesets/<name>/tests/) "
        "and the hazards of the hazard log (rulesets/<name>/hazards.yaml) they mitigate. "
        "Generated from rule metadata and a run of the ruleset's own tests; the gaps are listed "
        "first."))
    pack.tables += [
        Table("Gaps", ("gap", "what"), list(gaps)),
        Table("Hazard log", ("hazard", "what", "cause", "mitigated by", "proved by"), hazard_rows),
        Table("Passages", ("passage", "label", "rules", "tests", "hazards"), passage_rows),
        Table("Named references", ("reference", "rules", "tests", "hazards"), reference_rows),
        Table("Rules", ("rule", "title", "source", "tests", "hazards"), rule_rows),
    ]
    data: dict[str, Any] = {
        "gaps": [{"kind": kind, "what": what} for kind, what in gaps],
        "hazards": hazards_data,
        "passages": [{"passage": pid, "rules": rules} for pid, rules in by_passage.items()],
        "references": [{"reference": ref, "rules": rules} for ref, rules in by_reference.items()],
        "rules": rules_data,
    }
    pack.data = data
    return pack

"""Assemble: one engine run -> the contract ``Result``, part by part, as typed models.

Everything here reads the firing record; nothing matches rules again (the three-valued
attribution of missing information is in ``missing``).
"""

from __future__ import annotations

from ..case.vocabulary import CONTRACT_VERSION
from .advice import build_notices, build_recommendations
from .checklist import build_checklist
from .differential import build_differential
from .firing import Firing
from .missing import missing_information
from .result import EngineInfo, Result, RulesetInfo, floats_spelled_alike
from .trace import build_trace
from .triage import decide_triage


def build_result(firing: Firing, *, engine: EngineInfo, package_version: str) -> Result:
    """The contract result of one evaluation."""
    ruleset = firing.ruleset
    triage, default_used = decide_triage(firing)
    differential = build_differential(firing)
    listed = {entry.condition for entry in differential}
    facts = firing.facts
    # Every float of the result is one of the case's number facts (a score is rounded to 3
    # places): when none is small, to_json need not look for one.
    build = (Result.built_floats_alike
             if floats_spelled_alike(map(facts.get, ruleset.fact_definitions.number_facts))
             else Result.built)
    return build(
        contract_version=CONTRACT_VERSION,
        package_version=package_version,
        engine=engine,
        ruleset=RulesetInfo.built(name=ruleset.name, version=ruleset.version, sha256=ruleset.sha256),
        triage=triage,
        differential=differential,
        recommendations=build_recommendations(firing, triage.level),
        checklist=build_checklist(firing),
        missing_information=missing_information(firing, triage, default_used, listed),
        notices=build_notices(firing),
        trace=build_trace(firing, default_used),
    )

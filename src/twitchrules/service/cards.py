"""Result -> CDS Hooks cards: one summary card per evaluated assessment, with test suggestions.

The card carries what the result says and nothing more: the triage level and timeframe in
the summary; in the markdown detail the top questions to ask next (those whose answer
could change the triage), the reasons, differential, checklist and missing information;
and ServiceRequest suggestions for the differential's tests (codes from the package's
shipped lists).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from twitchrules.conclusions import Result
from twitchrules.fhir import OrderableTest, orderables_for
from twitchrules.outputs.reading import Reading, read_result
from twitchrules.ruleset import Ruleset
from twitchrules.service.models import Action, Card, Coding, Indicator, Link, Source, Suggestion

INDICATORS: dict[str, Indicator] = {
    "immediate": "critical",
    "urgent": "critical",
    "prompt": "warning",
    "monitor": "info",
    "self-care": "info",
}
OVERRIDE_REASON_SYSTEM = "http://twitchrules.org/fhir/CodeSystem/override-reasons"
OVERRIDE_REASONS = [
    ("already-addressed", "Already addressed or ordered"),
    ("assessment-outdated", "The assessment is out of date"),
    ("clinical-judgement", "Clinical judgement differs"),
    ("patient-declined", "Patient declined"),
]
SUMMARY_LIMIT = 139
AUDIT_LINE = "For the auditor"
"""The card detail's last line starts so: it alone names the rules by their ids."""


def _cell(text: Any) -> str:
    """Return text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_line(level: str, timeframe: str) -> str:
    """Return the card summary naming the triage level and timeframe, under 140 characters."""
    head = f"Muscle twitching triage: {level.lower()} - "
    room = SUMMARY_LIMIT - len(head)
    if len(timeframe) > room:
        timeframe = timeframe[: room - 3].rstrip() + "..."
    return head + timeframe


ASK_NEXT = 3
"""How many questions the card names first, under "Ask next"."""


def top_questions(reading: Reading, count: int = ASK_NEXT) -> list[str]:
    """The first questions whose answer could change the triage (the Questionnaire's words)."""
    return [question.text for group in reading.questions for question in group.questions
            if question.reach][:count]


def detail_markdown(result: Result, unmapped_tests: Sequence[str] = (),
                    ruleset: Ruleset | None = None) -> str:
    """Return the card detail in markdown, in the vocabulary's words.

    Reasons, differential (support in words), the questions to ask, the checklist and the
    advice; the ruleset and the fired rules' ids close it, under "For the auditor".
    ``ruleset`` is the one that produced the result (found from the result if omitted).
    """
    return _detail(read_result(result, ruleset), unmapped_tests)


def _detail(reading: Reading, unmapped_tests: Sequence[str]) -> str:
    result = reading.result
    triage = result.triage
    lines = [f"**Triage: {reading.level_label}** - {triage.timeframe}", ""]
    top = top_questions(reading)
    if top:
        lines += ["**Ask next** (the answer could change the triage): " + " ".join(top), ""]
    if triage.reasons:
        lines += ["**Why**", *(f"- {reason}" for reason in triage.reasons), ""]
    if reading.differential:
        lines += [
            "**Differential** (most supported first; a differential, not a diagnosis)",
            "",
            "| # | Condition | Support | Evidence for | Evidence against | Next tests |",
            "|---|---|---|---|---|---|",
        ]
        for entry in reading.differential:
            supported = entry.supported_by or "-"
            if entry.unconfirmed:
                supported += f" (not known, not counted: {', '.join(entry.unconfirmed).lower()})"
            lines.append(
                f"| {entry.rank} | {_cell(entry.title)} | {_cell(entry.support)} "
                f"| {_cell(supported)} | {_cell(entry.against or '-')} "
                f"| {_cell('; '.join(entry.tests) or '-')} |"
            )
        lines += ["", f"_{reading.support_explained}_", ""]
    if reading.questions:
        lines.append("**Questions to ask** (most consequential first)")
        for group in reading.questions:
            lines.append(f"- _{group.heading}_")
            for question in group.questions:
                extra = f" {question.consequence}" if question.consequence else ""
                if question.bears_on:
                    extra += f" Bears on: {', '.join(question.bears_on)}."
                lines.append(f"  - {question.text}{extra}")
        lines.append("")
    checklist = result.checklist
    referral = "refer to a neurologist promptly" if checklist.referral else "no referral on its own"
    lines += [
        f"**When to refer (the article's checklist)**: {checklist.count} of "
        f"{len(checklist.items)} apply; {checklist.threshold} or more call for referral "
        f"({referral})",
    ]
    for item in reading.checklist:
        evidence = f" - {'; '.join(item.evidence)}" if item.evidence else ""
        lines.append(f"- {item.text}: **{item.status_words}**{evidence}")
    lines.append("")
    if result.recommendations:
        lines.append("**Advice**")
        lines += [f"- {r.text} ({r.source})" for r in result.recommendations]
        lines.append("")
    if unmapped_tests:
        lines.append("Tests named without a shipped order code: " + "; ".join(unmapped_tests))
        lines.append("")
    lines += [f"_{notice.message}_" for notice in result.notices]
    info, engine = result.ruleset, result.engine
    fired = ", ".join(dict.fromkeys(step.rule for step in result.trace)) or "none"
    lines += [
        "",
        f"{AUDIT_LINE}: ruleset {info.name} {info.version} (sha256 {info.sha256[:12]}), "
        f"engine {engine.name} {engine.version}; rules fired: {fired}.",
    ]
    return "\n".join(lines)


def _service_request(test: OrderableTest, patient_id: str, reason: str) -> dict[str, Any]:
    code: dict[str, Any] = {"text": test.text}
    if test.coding is not None:
        code["coding"] = [dict(test.coding)]
    return {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "proposal",
        "category": [{"coding": [dict(test.category)]}],
        "code": code,
        "subject": {"reference": f"Patient/{patient_id}"},
        "reasonCode": [{"text": reason}],
    }


def order_suggestions(result: Result, patient_id: str) -> tuple[list[Suggestion], list[str]]:
    """Return one ServiceRequest suggestion per orderable test, and test words left unmapped."""
    chosen: dict[str, tuple[OrderableTest, list[str]]] = {}
    unmapped: list[str] = []
    for entry in result.differential:
        for words in entry.tests:
            matches = orderables_for(words)
            if not matches and words not in unmapped:
                unmapped.append(words)
            for test in matches:
                chosen.setdefault(test.id, (test, []))
                if entry.title not in chosen[test.id][1]:
                    chosen[test.id][1].append(entry.title)
    suggestions = []
    for test, conditions in chosen.values():
        reason = "Muscle twitching assessment; differential: " + ", ".join(conditions)
        suggestions.append(
            Suggestion(
                label=f"Order {test.text}",
                uuid=str(uuid.uuid4()),
                actions=[
                    Action(
                        type="create",
                        description=f"Create a draft ServiceRequest for {test.text}",
                        resource=_service_request(test, patient_id, reason),
                    )
                ],
            )
        )
    return suggestions, unmapped


def summary_card(result: Result, *, patient_id: str, rules_url: str | None,
                 ruleset: Ruleset | None = None) -> Card:
    """Return the one summary card for an evaluated assessment.

    ``ruleset`` is the one that produced the result: the card reads in its words.
    """
    triage = result.triage
    reading = read_result(result, ruleset)
    suggestions, unmapped = order_suggestions(result, patient_id)
    info = result.ruleset
    links = (
        [Link(label=f"Rules of {info.name} {info.version}", url=rules_url,
              type="absolute")]
        if rules_url
        else None
    )
    return Card(
        summary=summary_line(reading.level_label, triage.timeframe),
        detail=_detail(reading, unmapped),
        indicator=INDICATORS[triage.level],
        source=Source(
            label=f"twitchrules ruleset {info.name} {info.version}",
            url=rules_url,
        ),
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=[
            Coding(system=OVERRIDE_REASON_SYSTEM, code=code, display=display)
            for code, display in OVERRIDE_REASONS
        ],
        links=links,
    )


def problem_card(
    problems: Sequence[tuple[str, str]], *, ruleset_label: str, rules_url: str | None
) -> Card:
    """Return the card for an assessment that could not be evaluated, naming each problem."""
    count = len(problems)
    detail = "\n".join(
        [
            "The most recent twitching assessment could not be evaluated. "
            "Correct these answers or records and reload:",
            "",
            *(f"- `{location}`: {message}" for location, message in problems),
        ]
    )
    return Card(
        summary=f"Muscle twitching assessment not evaluated: {count} problem"
        + ("s" if count != 1 else ""),
        detail=detail,
        indicator="info",
        source=Source(label=ruleset_label, url=rules_url),
    )

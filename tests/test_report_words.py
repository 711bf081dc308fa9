"""Every word a clinician reads is a clinician's word: no id outside the places kept for ids.

Every case file of the bundled ruleset is rendered as text, as HTML, as a CDS Hooks card and
as the GuidanceResponse narrative. Outside the parts kept for the auditor (the text's trace
after ``AUDIT_HEADING``, the HTML's elements of class ``audit``, the card's last line), no
rule id, condition id or fact name may appear; nor a checklist item's, a recommendation's or
a notice's id. Single-word fact names (``weakness``, ``cramps``) are English words and are
allowed; every name with an underscore is a name of the code.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from twitchrules import Case, evaluate, load_ruleset
from twitchrules.case import vocabulary as contract
from twitchrules.conclusions import Result
from twitchrules.outputs.guidance import narrative
from twitchrules.outputs.html import render_html
from twitchrules.outputs.text import AUDIT_HEADING, render_text
from twitchrules.ruleset.model import Ruleset

from .conftest import CASES_DIR, EXAMPLES

CASE_FILES = sorted(CASES_DIR.glob("*.json"))


@pytest.fixture(scope="module")
def ruleset() -> Ruleset:
    """The bundled ruleset, loaded once."""
    return load_ruleset()


@pytest.fixture(scope="module")
def id_pattern(ruleset: Ruleset) -> re.Pattern[str]:
    """One pattern matching any id a clinician should never have to read."""
    ids: set[str] = {rule.id for rule in ruleset.rules} | {ruleset.triage_default["id"]}
    ids |= set(ruleset.data["conditions"]) | set(contract.CONDITIONS)
    names = {*ruleset.catalogue, *ruleset.derived_names, *ruleset.input_names.values(),
             contract.CHECKLIST_COUNTER, "not_met", *contract.REGIONS}
    ids |= {name for name in names if "_" in name or "." in name}
    ids |= {item["id"] for item in ruleset.data["checklist"]["items"] if "-" in item["id"]}
    for rule in ruleset.rules:
        ids |= {body["id"] for body in rule.conclusions("recommend")}
        ids |= {body["code"] for body in rule.conclusions("notice")}
    ids -= set(contract.TRIAGE_LEVELS)  # "self-care" is a word as well as a level
    alternatives = "|".join(re.escape(name) for name in sorted(ids, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])")


class _ReaderText(HTMLParser):
    """The text of a page a reader sees, without the elements of class ``audit``."""

    VOID = {"br", "meta", "img", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.stack: list[bool] = []  # per open element: is it (inside) an audit or hidden part

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        hidden = "audit" in (dict(attrs).get("class") or "").split() or tag in ("style", "title")
        self.stack.append(hidden or bool(self.stack and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def reader_text_of_html(page: str) -> str:
    """What a clinician reads of an HTML page (the auditor's parts left out)."""
    parser = _ReaderText()
    parser.feed(page)
    return " ".join(parser.parts)


def reader_text_of_report(text: str) -> str:
    """The clinician's part of the text report: everything before the auditor's trace."""
    head, found, _ = text.partition(AUDIT_HEADING)
    assert found, "the text report has no auditor's section"
    return head


def _ids_in(text: str, pattern: re.Pattern[str]) -> list[str]:
    return sorted(set(pattern.findall(text)))


def _result(path: Path, ruleset: Ruleset) -> Result:
    return evaluate(json.loads(path.read_text(encoding="utf-8"))["case"], ruleset=ruleset)


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_text_and_html_speak_in_words(path: Path, ruleset: Ruleset,
                                      id_pattern: re.Pattern[str]) -> None:
    """A case's text report and HTML page name no rule, condition or fact outside the trace."""
    result = _result(path, ruleset)
    text = render_text(result, ruleset)
    assert _ids_in(reader_text_of_report(text), id_pattern) == []
    assert result.trace[0].rule in text.partition(AUDIT_HEADING)[2]  # the ids are kept below
    page = render_html(result, ruleset)
    assert _ids_in(reader_text_of_html(page), id_pattern) == []
    assert f"<code>{result.trace[0].rule}</code>" in page


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_card_and_narrative_speak_in_words(path: Path, ruleset: Ruleset,
                                           id_pattern: re.Pattern[str]) -> None:
    """The CDS Hooks card (but its auditor's line) and the FHIR narrative name no id."""
    pytest.importorskip("fastapi", reason="the card models come with twitchrules[service]")
    from twitchrules.service.cards import AUDIT_LINE, summary_card

    result = _result(path, ruleset)
    card = summary_card(result, patient_id="p1", rules_url=None, ruleset=ruleset)
    detail, found, audit = card.detail.partition(AUDIT_LINE)
    assert found and result.trace[0].rule in audit
    assert _ids_in(card.summary + "\n" + detail, id_pattern) == []
    div = narrative(result, ruleset)["div"]
    assert _ids_in(reader_text_of_html(div), id_pattern) == []


def test_the_id_check_catches_an_id(ruleset: Ruleset, id_pattern: re.Pattern[str]) -> None:
    """The check is not blind: names of the code are caught, clinical words are not."""
    caught = _ids_in("for: weakness_asymmetric: yes, segment_arms; mmn (DX-MMN-6) "
                     "twitching.course persists-2-weeks not-a-diagnosis", id_pattern)
    assert caught == sorted(["weakness_asymmetric", "segment_arms", "mmn", "DX-MMN-6",
                             "twitching.course", "persists-2-weeks", "not-a-diagnosis"])
    assert _ids_in("no weakness, numbness or cramps; self-care; ALS; the upper arm", id_pattern) == []
    hidden = reader_text_of_html('<p>seen <span class="muted audit">RF-SPREAD</span></p>')
    assert "RF-SPREAD" not in hidden and "seen" in hidden


def test_the_issue_examples_read_as_phrases(ruleset: Ruleset) -> None:
    """Mark's evidence and missing information read as the issue asks, not as names."""
    result = evaluate(json.loads((EXAMPLES / "mark.json").read_text(encoding="utf-8")),
                      ruleset=ruleset)
    text = reader_text_of_report(render_text(result, ruleset))
    assert "twitching in the arms" in text and "no numbness or tingling" in text
    assert "twitching in 2 body regions" in text
    assert ("Is there visible loss of muscle bulk (muscle wasting)? If yes, this needs "
            "immediate evaluation.") in text
    questions = text[text.index("Questions to ask"):]
    assert questions.index("Could raise the triage to immediate") < questions.index(
        "Could change the differential")
    assert "Bears on: Multifocal motor neuropathy, Amyotrophic lateral sclerosis." in questions
    assert re.search(r"Multifocal motor neuropathy: (strong|some|weak) support", text)
    assert "0.75" not in text  # the number stays in the JSON (and the auditor's part)


def test_checklist_speaks_about_the_patient(ruleset: Ruleset) -> None:
    """The clinician's checklist is findings about the patient, not the patient's 'You ...'."""
    for item in ruleset.data["checklist"]["items"]:
        text: Any = item["text"]
        assert not re.match(r"(You|There’s|There's)\b", text), text
        assert not re.search(r"\byou\b", text, re.I), text


@pytest.mark.parametrize("name", ["self-care-intense-exercise", "prompt-weakness-single-site"])
def test_explanation_speaks_in_words(name: str, ruleset: Ruleset,
                                     id_pattern: re.Pattern[str]) -> None:
    """The explanation (text, and its section of the HTML report) names no id outside the audit parts."""
    from twitchrules.explain import explain_result
    from twitchrules.explain.render import explanation_html, explanation_text

    case = json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))["case"]
    result = evaluate(case, ruleset=ruleset)
    explanation = explain_result(Case.model_validate(case), result, ruleset)
    text = explanation_text(explanation)
    head, found, tail = text.partition("For the auditor")
    assert found and _ids_in(head, id_pattern) == [] and _ids_in(tail, id_pattern)
    page = explanation_html(explanation, result, ruleset)
    assert 'id="explanation"' in page and _ids_in(reader_text_of_html(page), id_pattern) == []

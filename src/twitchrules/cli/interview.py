"""``twitchrules interview``: ask, one by one, the questions that could change the triage.

It starts from a case file's known inputs, or asks the required basics first (date, age,
sex, where and since when the twitching is, its course). After each answer (yes, no,
unknown, a number, a date or one of the listed choices) it evaluates again and asks the
next question whose answer could change the triage; it stops when nothing left could,
and prints the result. An answer the contract refuses is named and asked again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import click

from ..case import case_from_mapping
from ..case.vocabulary import DATE_FINDINGS, NUMBER_FINDINGS, REGIONS, SEXES, SIDES
from ..engine import cached_ruleset
from ..errors import CaseError
from ..explain.questions import NextQuestion, questions_for
from ..outputs import render_text
from ..pipeline import evaluate
from ..ruleset.model import Ruleset
from .common import engine_option, read_case, ruleset_option

_YES, _NO, _UNKNOWN = {"yes", "y"}, {"no", "n"}, {"unknown", "u", "?", ""}
STOP_LINE = "Nothing left to ask could change the triage."
"""The line the interview prints before the result when no unknown input could change it."""
LEFT_UNKNOWN = "Nothing more to ask; answered unknown, these could still change the triage:"
"""The line before the result when questions answered "unknown" could still change it."""


def _choice(prompt: str, options: tuple[str, ...], default: str | None = None) -> str:
    while True:
        answer = click.prompt(f"{prompt} [{'/'.join(options)}]", default=default or "",
                              show_default=False).strip().lower()
        if answer in options:
            return answer
        click.echo(f"  please answer one of: {', '.join(options)}")


def _date(prompt: str, default: str | None = None) -> str:
    while True:
        answer = click.prompt(f"{prompt} (YYYY-MM-DD)", default=default or "",
                              show_default=bool(default)).strip()
        try:
            dt.date.fromisoformat(answer)
            return answer
        except ValueError:
            click.echo("  please give a date as YYYY-MM-DD")


def ask_basics() -> dict[str, Any]:
    """The required basics of a case, asked in the Questionnaire's order."""
    assessed_on = _date("Date of this assessment", dt.date.today().isoformat())
    age = click.prompt("Age in years", type=click.IntRange(0, 130))
    sex = _choice("Sex", SEXES, "unknown")
    regions = []
    while True:
        region = _choice("Where is the twitching? Body region", REGIONS)
        side = _choice("Side", SIDES)
        since = _date("Since when")
        regions.append({"region": region, "side": side, "since": since})
        if _choice("Is there twitching in another region too?", ("yes", "no"), "no") == "no":
            break
    course = _choice("How is the twitching going?", ("improving", "stable", "worsening", "unknown"),
                     "unknown")
    return {"assessed_on": assessed_on, "patient": {"age": age, "sex": sex},
            "twitching": {"regions": regions, "course": course}, "findings": {}}


def _parse(answer: str, input_name: str, ruleset: Ruleset) -> tuple[bool, Any]:
    """``(understood, value)``; value ``None`` is unknown."""
    text = answer.strip().lower()
    if text in _UNKNOWN:
        return True, None
    fact = next(f for f, name in ruleset.input_names.items() if name == input_name)
    spec = ruleset.catalogue[fact]
    if input_name in DATE_FINDINGS:
        try:
            return True, dt.date.fromisoformat(text).isoformat()
        except ValueError:
            return False, None
    if spec.type == "boolean":
        return (True, True) if text in _YES else (True, False) if text in _NO else (False, None)
    if spec.type == "enum":
        return (True, text) if text in spec.values else (False, None)
    try:
        number = float(text)
    except ValueError:
        return False, None
    return True, int(number) if number.is_integer() and "." not in text else number


def _hint(question: NextQuestion, ruleset: Ruleset) -> str:
    name = question.input
    fact = next(f for f, n in ruleset.input_names.items() if n == name)
    spec = ruleset.catalogue[fact]
    if name in DATE_FINDINGS:
        return "YYYY-MM-DD/unknown"
    if spec.type == "boolean":
        return "yes/no/unknown"
    if spec.type == "enum":
        return "/".join([*spec.values, "unknown"])
    unit = NUMBER_FINDINGS[name].unit if name in NUMBER_FINDINGS else ""
    return f"a number{' in ' + unit if unit else ''}/unknown"


def _set(case: dict[str, Any], input_name: str, value: Any) -> dict[str, Any]:
    changed = {key: dict(part) if isinstance(part, dict) else part for key, part in case.items()}
    where, key = input_name.split(".", 1) if "." in input_name else ("findings", input_name)
    changed.setdefault(where, {})[key] = value
    return changed


@click.command("interview")
@click.argument("case", metavar="[CASE]", required=False)
@ruleset_option()
@engine_option()
def interview_command(case: str | None, ruleset_spec: str | None, engine: str | None) -> None:
    """Ask the questions that could change the triage, one at a time, then print the result.

    CASE (a case JSON file, a bundled example's name, or - for stdin) gives the known
    inputs; without it the required basics are asked first.
    """
    ruleset = cached_ruleset(ruleset_spec)
    if case is None:
        data = ask_basics()
    else:
        checked = read_case(case)
        data = checked.model_dump(mode="json", exclude_none=True)
    passed: set[str] = set()  # answered "unknown": not asked again
    while True:
        result = evaluate(case_from_mapping(data), ruleset=ruleset, engine=engine)
        pending = [q for q in questions_for(result, ruleset).triage_questions if q.input not in passed]
        if not pending:
            break
        question = pending[0]
        answer = click.prompt(f"{question.text} [{_hint(question, ruleset)}]", default="",
                              show_default=False)
        understood, value = _parse(answer, question.input, ruleset)
        if not understood:
            click.echo(f"  please answer {_hint(question, ruleset)}")
            continue
        if value is None:
            passed.add(question.input)
            continue
        changed = _set(data, question.input, value)
        try:
            case_from_mapping(changed)
        except CaseError as error:
            for location, message in error.problems:
                click.echo(f"  {location}: {message}")
            continue
        data = changed
    still_open = [question.input for question in questions_for(result, ruleset).triage_questions]
    if still_open:  # all of them answered unknown: the triage may change when they are known
        click.echo(f"{LEFT_UNKNOWN} {'; '.join(ruleset.vocabulary.label(name) for name in still_open)}.")
    else:
        click.echo(STOP_LINE)
    click.echo("")
    click.echo(render_text(result, ruleset), nl=False)

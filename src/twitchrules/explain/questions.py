"""Next questions: the unknown inputs ordered by what their answer could change, and when to stop.

The order is the reading's (``outputs.reading.questions``, itself built on the engine's
three-valued attribution of missing information): an input whose answer could raise the
triage first, highest reachable level first (a red flag before the rest); then inputs whose
answer could lower a default level; then those that could only add or drop a condition;
ties in the ruleset's order (``definitions.ask_first``, then contract order). Each comes
with the Questionnaire item's text. ``should_stop`` is true when no unknown input can
change the triage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..case import Case, case_from_mapping
from ..conclusions import Result
from ..engine import cached_ruleset
from ..outputs.reading import read_result
from ..pipeline import evaluate
from ..ruleset.model import Ruleset
from ..ruleset.sources import RulesetSpec


class NextQuestion(BaseModel):
    """One question to ask: the Questionnaire's words and what its answer could change."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    input: str = Field(description="The contract input name (the Questionnaire item's linkId "
                       "without its 'findings.' group).")
    text: str = Field(description="The Questionnaire item's text.")
    could_change: Literal["triage", "differential"]
    reach: str | None = Field(description="The triage level the answer could lead to (None: "
                              "it could change only the differential).")
    consequence: str = Field(description="What the answer could mean, in words ('' if only "
                             "the differential).")
    bears_on: list[str] = Field(description="The conditions the answer bears on, by title.")
    rules: list[str]


class NextQuestions(BaseModel):
    """The questions to ask next, most consequential first, and whether to stop asking."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    triage: str
    questions: list[NextQuestion]
    should_stop: bool = Field(description="True when no unknown input can change the triage.")

    @property
    def triage_questions(self) -> list[NextQuestion]:
        """The questions whose answer could change the triage."""
        return [question for question in self.questions if question.could_change == "triage"]


def questions_for(result: Result, ruleset: Ruleset | None = None) -> NextQuestions:
    """The next questions of a result already computed (``ruleset``: the one behind it)."""
    reading = read_result(result, ruleset)
    found = [NextQuestion(input=question.input, text=question.text,
                          could_change="triage" if question.reach else "differential",
                          reach=question.reach, consequence=question.consequence,
                          bears_on=list(question.bears_on), rules=list(question.rules))
             for group in reading.questions for question in group.questions]
    return NextQuestions(triage=result.triage.level, questions=found,
                         should_stop=not any(question.reach for question in found))


def next_questions(
    case: Case | Mapping[str, Any],
    *,
    ruleset: RulesetSpec = None,
    engine: str | None = None,
) -> NextQuestions:
    """The unknown inputs of a case, ordered by how much their answer could change the result.

    A red flag whose answer could raise the triage comes first, then inputs that could lower
    a default level, then those that could add or drop a condition (ties: the ruleset's
    order). ``should_stop`` is true when no unknown input can change the triage.

    Args:
        case: a ``Case`` or a mapping in the contract's case shape (validated strictly).
        ruleset: as for ``evaluate`` (``None``: the bundled ruleset).
        engine: as for ``evaluate`` (``None``: the default engine).

    Raises:
        CaseError: the case breaks the contract; ``problems`` names every field.
    """
    checked = case_from_mapping(case)
    loaded = cached_ruleset(ruleset)
    return questions_for(evaluate(checked, ruleset=loaded, engine=engine), loaded)

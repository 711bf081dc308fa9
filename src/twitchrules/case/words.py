"""Words: what a clinician reads for each input of the contract, each computed fact and value.

The words live in ``words.yaml`` beside this module (data a reviewer reads and edits, not
code): every input's label, the question that asks for it (the Questionnaire's text, word
for word), and its short clinical phrase for each answer; the computed facts; the regions
and sides; the triage levels; the words for values and for a differential's support. The
ruleset adds the words of the facts its rules derive (``ruleset.vocabulary`` joins both).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

_WORDS_FILE = Path(__file__).with_name("words.yaml")
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (the package's own file: no hostile input)."""


class _Words(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FactWords(_Words):
    """The words of one input or computed fact.

    ``present``/``absent`` are a yes/no fact's phrases, ``value`` (and ``value_one``, for 1)
    a number's phrase with ``{value}``, ``values`` a choice's phrase per answer.
    """

    label: str = Field(min_length=1)
    question: str | None = None
    present: str | None = None
    absent: str | None = None
    value: str | None = None
    value_one: str | None = None
    values: dict[str, str] = Field(default_factory=dict)


class LevelWords(_Words):
    """A triage level's label and what it calls for ("immediate evaluation")."""

    label: str
    need: str


class SupportBand(_Words):
    """Scores from ``at_least`` up read as ``words`` (e.g. "strong support")."""

    at_least: float = Field(ge=0, le=1)
    words: str


class Support(_Words):
    """How a differential score reads, and the sentence that says what it means."""

    explained: str
    bands: list[SupportBand] = Field(min_length=1)

    def words_for(self, score: float) -> str:
        """The band of a score, e.g. ``"some support"`` for 0.45."""
        for band in sorted(self.bands, key=lambda band: -band.at_least):
            if score >= band.at_least:
                return band.words
        return self.bands[-1].words


class ContractWords(_Words):
    """Every word of ``words.yaml``, checked on load (``extra`` keys are refused)."""

    inputs: dict[str, FactWords]
    computed: dict[str, FactWords]
    regions: dict[str, str]
    sides: dict[str, str]
    answers: dict[str, str]
    lab_flags: dict[str, str]
    checklist_status: dict[str, str]
    triage_levels: dict[str, LevelWords]
    support: Support


@cache
def contract_words() -> ContractWords:
    """The contract's words, read once from ``words.yaml``."""
    data = yaml.load(_WORDS_FILE.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)  # noqa: S506
    return ContractWords.model_validate(data)

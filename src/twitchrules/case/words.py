"""Words: what a clinician reads for each input of the contract, each computed fact and value.

The words live in ``words.yaml`` beside this module (data a reviewer reads and edits, not
code): every input's label, the question that asks for it (the Questionnaire's text, word
for word), and its short clinical phrase for each answer; the computed facts; the regions
and sides; the triage levels; the words for values and for a differential's support. The
ruleset adds the words of the facts its rules derive (``ruleset.vocabulary`` joins both).
"""

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .. import diskcache

_WORDS_FILE = Path(__file__).with_name("words.yaml")


class _Words(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


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
    """The contract's words, read once from ``words.yaml`` (kept as JSON in the disk cache,
    so a process that finds them there does not import PyYAML)."""
    text = _WORDS_FILE.read_bytes()
    entry = diskcache.entry_name("words", text) + ".json"
    cached = diskcache.read_entry(entry)
    if cached is not None:
        try:
            return ContractWords.model_validate_json(cached)
        except ValueError:
            diskcache.forget_entry(entry)
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(text, Loader=loader)  # noqa: S506
    words = ContractWords.model_validate(data)
    diskcache.write_entry(entry, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    return words

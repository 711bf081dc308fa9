"""Case model: the strict input, one assessment of one person's twitching (contract v1).

Absent is unknown, never false: every finding defaults to ``None``. Models forbid unknown
keys, never coerce (``"yes"`` is not ``true``), parse dates strictly as ``YYYY-MM-DD`` and
check ranges; a lab value outside its plausible range is refused as a likely unit error, and
a subnormal number (nonzero, below 2.2e-308) is refused in every numeric finding. A
qualifier true beside its parent false (``weakness_progressive`` with ``weakness`` false, the
pairs of ``vocabulary.QUALIFIERS``) is refused as a contradiction.
"""

import datetime as dt
import re
import sys
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .vocabulary import COURSES, LAB_FINDINGS, NUMBER_FINDINGS, QUALIFIER_PARENTS, REGIONS, SEXES, SIDES

Number = StrictInt | StrictFloat
"""A JSON number: an integer or a float, never a boolean or a string."""

# The allowed words come from the contract's vocabulary, so the model cannot drift from it.
Region = Literal[REGIONS]  # type: ignore[valid-type]
Side = Literal[SIDES]  # type: ignore[valid-type]
Sex = Literal[SEXES]  # type: ignore[valid-type]
Course = Literal[COURSES]  # type: ignore[valid-type]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def strict_date(value: Any) -> Any:
    """Accept a ``datetime.date`` or an ISO ``YYYY-MM-DD`` string, nothing else."""
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_type", "expected a date YYYY-MM-DD, not a date-time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as error:
            raise PydanticCustomError(
                "date_value", "not a valid calendar date: {value}", {"value": value}
            ) from error
    raise PydanticCustomError("date_type", "expected a date as a string YYYY-MM-DD")


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class Patient(_Strict):
    """The person assessed."""

    age: StrictInt = Field(ge=0, le=120, description="Age in whole years, 0..120.")
    sex: Sex = "unknown"


class RegionEntry(_Strict):
    """One body region that twitches, with its side and the date it started."""

    region: Region
    side: Side
    since: dt.date = Field(description="ISO date YYYY-MM-DD; not after assessed_on.")

    _check_since = field_validator("since", mode="before")(strict_date)


class Twitching(_Strict):
    """Where it twitches, since when, and how it is going."""

    regions: list[RegionEntry] = Field(min_length=1)
    course: Course = "unknown"
    relieved_by_rest: StrictBool | None = None


class Findings(_Strict):
    """Findings of the assessment; every key optional, absent means unknown."""

    weakness: StrictBool | None = None
    weakness_progressive: StrictBool | None = Field(
        None, description="A qualifier of weakness: true is refused when weakness is false.")
    weakness_asymmetric: StrictBool | None = Field(
        None, description="A qualifier of weakness: true is refused when weakness is false.")
    muscle_wasting: StrictBool | None = None
    numbness: StrictBool | None = None
    tingling: StrictBool | None = None
    coordination_problems: StrictBool | None = None
    slurred_speech: StrictBool | None = None
    swallowing_difficulty: StrictBool | None = None
    breathing_difficulty: StrictBool | None = None
    vision_changes: StrictBool | None = None
    cramps: StrictBool | None = None
    fatigue: StrictBool | None = None
    tremor: StrictBool | None = None
    family_history_neuromuscular: StrictBool | None = None
    diabetes: StrictBool | None = None
    metformin: StrictBool | None = None
    vegan_diet: StrictBool | None = None
    weight_loss: StrictBool | None = None
    heat_intolerance: StrictBool | None = None
    cold_intolerance: StrictBool | None = None
    palpitations: StrictBool | None = None
    tick_bite: StrictBool | None = None
    erythema_migrans: StrictBool | None = None
    joint_pain: StrictBool | None = None
    diarrhea_or_vomiting: StrictBool | None = None
    alcohol_excess: StrictBool | None = None
    eye_strain: StrictBool | None = None
    dry_eyes: StrictBool | None = None
    intense_exercise: StrictBool | None = None
    pre_workout: StrictBool | None = None
    energy_drinks: StrictBool | None = None
    pseudoephedrine: StrictBool | None = None
    caffeine_mg_per_day: Number | None = Field(None, ge=0, le=5000, description="mg/day, 0..5000")
    sleep_hours: Number | None = Field(None, ge=0, le=24, description="hours, 0..24")
    stress_level: Number | None = Field(None, ge=0, le=10, description="points of 10, 0..10")
    water_liters_per_day: Number | None = Field(None, ge=0, le=20, description="litres/day, 0..20")
    lifestyle_trial_weeks: Number | None = Field(None, ge=0, le=104, description="weeks, 0..104")
    lifestyle_trial_outcome: Literal["improved", "unchanged", "worse"] | None = None
    potassium_mmol_l: Number | None = Field(None, description="mmol/L; plausible 1..10")
    magnesium_mmol_l: Number | None = Field(None, description="mmol/L; plausible 0.1..5")
    calcium_mmol_l: Number | None = Field(None, description="mmol/L; plausible 0.5..5")
    b12_pmol_l: Number | None = Field(None, description="pmol/L; plausible 10..3000")
    tsh_miu_l: Number | None = Field(None, description="mIU/L; plausible 0.001..500")
    # contract 1.1: neurological signs and examination
    facial_weakness: StrictBool | None = None
    brisk_reflexes: StrictBool | None = Field(None, description="An upper motor neuron sign.")
    reduced_reflexes: StrictBool | None = None
    bladder_or_bowel_change: StrictBool | None = None
    back_pain: StrictBool | None = None
    sudden_onset: StrictBool | None = Field(
        None, description="The weakness, speech or swallowing problem began within hours.")
    weakness_since: dt.date | None = Field(
        None, description="ISO date YYYY-MM-DD when the weakness began; not after assessed_on.")
    # contract 1.1: history
    pregnant: StrictBool | None = None
    fever: StrictBool | None = None
    health_anxiety: StrictBool | None = Field(
        None, description="Worried about a serious disease such as ALS.")
    # contract 1.1: medicines in current use
    beta2_agonist: StrictBool | None = Field(None, description="e.g. salbutamol")
    corticosteroid: StrictBool | None = None
    stimulant_medication: StrictBool | None = Field(
        None, description="amphetamines, methylphenidate")
    cholinesterase_inhibitor: StrictBool | None = Field(
        None, description="pyridostigmine, donepezil, rivastigmine")
    diuretic: StrictBool | None = None
    proton_pump_inhibitor: StrictBool | None = None
    lithium: StrictBool | None = None
    # contract 1.1: laboratory values
    sodium_mmol_l: Number | None = Field(None, description="mmol/L; plausible 100..180")
    ck_u_l: Number | None = Field(None, description="creatine kinase, U/L; plausible 1..200000")
    free_t4_pmol_l: Number | None = Field(None, description="pmol/L; plausible 1..150")

    _check_weakness_since = field_validator("weakness_since", mode="before")(strict_date)

    @field_validator("weakness_since", mode="after")
    @classmethod
    def _weakness_since_needs_weakness(cls, value: dt.date | None,
                                       info: ValidationInfo) -> dt.date | None:
        if value is not None and info.data.get("weakness") is False:
            raise PydanticCustomError(
                "weakness_since_without_weakness",
                "gives when weakness began, but findings.weakness is false")
        return value

    @field_validator(*QUALIFIER_PARENTS, mode="after")
    @classmethod
    def _qualifier_agrees_with_parent(cls, value: bool | None,
                                      info: ValidationInfo) -> bool | None:
        # Each parent is declared before its qualifiers, so info.data holds it once validated.
        parent = QUALIFIER_PARENTS[str(info.field_name)]
        if value is True and info.data.get(parent) is False:
            raise PydanticCustomError(
                "qualifier_contradicts_parent", "true contradicts findings.{parent}: false",
                {"parent": parent})
        return value

    @field_validator(*NUMBER_FINDINGS, mode="after")
    @classmethod
    def _not_subnormal(cls, value: float | None) -> float | None:
        # A subnormal float (nonzero, below 2.2e-308) has lost precision already: no
        # measurement is that small, and passing it on would be a different value in disguise.
        if isinstance(value, float) and value != 0 and abs(value) < sys.float_info.min:
            raise PydanticCustomError(
                "number_subnormal",
                "{value} is too close to zero to be a measurement (a subnormal number); "
                "give 0 or a value of at least 2.3e-308",
                {"value": value},
            )
        return value

    @field_validator(*LAB_FINDINGS, mode="after")
    @classmethod
    def _lab_in_plausible_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        low, high, unit, _ = LAB_FINDINGS[str(info.field_name)]
        if value is not None and not low <= value <= high:
            raise PydanticCustomError(
                "lab_unit",
                "{value} is outside the plausible range {low}..{high}: expected {unit}"
                " (likely a unit error)",
                {"value": value, "low": low, "high": high, "unit": unit},
            )
        return value


class Case(_Strict):
    """One assessment of one person's twitching: the input of ``evaluate``."""

    assessed_on: dt.date = Field(description="ISO date YYYY-MM-DD; durations count to it.")
    patient: Patient
    twitching: Twitching
    findings: Findings = Field(default_factory=Findings)

    _check_assessed_on = field_validator("assessed_on", mode="before")(strict_date)

    @model_validator(mode="after")
    def _since_not_after_assessment(self) -> "Case":
        late = [
            f"twitching.regions[{index}].since"
            for index, entry in enumerate(self.twitching.regions)
            if entry.since > self.assessed_on
        ]
        weakness_since = self.findings.weakness_since
        if weakness_since is not None and weakness_since > self.assessed_on:
            late.append("findings.weakness_since")
        if late:
            raise PydanticCustomError(
                "since_after_assessed_on",
                "is after assessed_on ({assessed_on})",
                {"assessed_on": self.assessed_on.isoformat(), "paths": late},
            )
        return self

    def known_findings(self) -> dict[str, Any]:
        """The findings that the case gives, by name (unknown ones left out)."""
        # The values as model_dump(exclude_none=True) gives them (every finding is a scalar),
        # in field order, without building the Findings serialiser (~20 ms a process).
        return {name: value for name, value in self.findings.__dict__.items() if value is not None}

    def days_since(self, day: dt.date) -> int:
        """Whole days from ``day`` to the assessment date."""
        return (self.assessed_on - day).days

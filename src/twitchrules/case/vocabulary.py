"""Vocabulary: the contract's fixed names (regions, sides, findings, levels, conditions).

Every other module takes its allowed words from here, so the models, the facts, the
ruleset checks and the FHIR mapping cannot drift from the contract.
"""

from __future__ import annotations

from typing import NamedTuple

CONTRACT_VERSION = "1.1"
"""The version of the case and result contract these names implement."""

REGIONS: tuple[str, ...] = (
    "eyelid", "face", "jaw", "tongue", "neck", "shoulder", "upper_arm", "forearm", "hand",
    "fingers", "thumb", "chest", "back", "abdomen", "hip", "thigh", "calf", "foot", "toes",
)
SIDES: tuple[str, ...] = ("left", "right", "both", "midline")
SEXES: tuple[str, ...] = ("female", "male", "other", "unknown")
COURSES: tuple[str, ...] = ("improving", "stable", "worsening", "unknown")

TRIAGE_LEVELS: tuple[str, ...] = ("self-care", "monitor", "prompt", "urgent", "immediate")
"""Triage levels in rising order of urgency."""

CONDITIONS: tuple[str, ...] = (
    "bfs", "eyelid_myokymia", "electrolyte_imbalance", "peripheral_neuropathy", "mmn",
    "b12_deficiency", "thyroid_dysfunction", "lyme_disease", "multiple_sclerosis", "als",
    # contract 1.1
    "drug_induced",
)

BOOLEAN_FINDINGS: tuple[str, ...] = (
    # neurological signs
    "weakness", "weakness_progressive", "weakness_asymmetric", "muscle_wasting", "numbness",
    "tingling", "coordination_problems", "slurred_speech", "swallowing_difficulty",
    "breathing_difficulty", "vision_changes", "cramps", "fatigue", "tremor",
    # history
    "family_history_neuromuscular", "diabetes", "metformin", "vegan_diet", "weight_loss",
    "heat_intolerance", "cold_intolerance", "palpitations", "tick_bite", "erythema_migrans",
    "joint_pain", "diarrhea_or_vomiting", "alcohol_excess",
    # triggers
    "eye_strain", "dry_eyes", "intense_exercise", "pre_workout", "energy_drinks",
    "pseudoephedrine",
    # contract 1.1: neurological signs and examination
    "facial_weakness", "brisk_reflexes", "reduced_reflexes", "bladder_or_bowel_change",
    "back_pain", "sudden_onset",
    # contract 1.1: history
    "pregnant", "fever", "health_anxiety",
    # contract 1.1: medicines in current use
    "beta2_agonist", "corticosteroid", "stimulant_medication", "cholinesterase_inhibitor",
    "diuretic", "proton_pump_inhibitor", "lithium",
)


QUALIFIERS: dict[str, tuple[str, ...]] = {
    "weakness": ("weakness_progressive", "weakness_asymmetric"),
}
"""Qualifier findings by their parent: each says more about its parent (progressive weakness
is weakness), so a qualifier true beside its parent false is a contradiction, refused by the
case model; a ruleset's ``definitions.qualifiers`` may declare only these pairs."""

QUALIFIER_PARENTS: dict[str, str] = {
    qualifier: parent for parent, qualifiers in QUALIFIERS.items() for qualifier in qualifiers}
"""Each qualifier finding's parent finding."""


class NumberRange(NamedTuple):
    """The allowed (for a lab: plausible) range of a numeric finding and its unit."""

    low: float
    high: float
    unit: str
    lab: bool = False


NUMBER_FINDINGS: dict[str, NumberRange] = {
    "caffeine_mg_per_day": NumberRange(0, 5000, "mg/day"),
    "sleep_hours": NumberRange(0, 24, "hours"),
    "stress_level": NumberRange(0, 10, "points of 10"),
    "water_liters_per_day": NumberRange(0, 20, "litres/day"),
    "lifestyle_trial_weeks": NumberRange(0, 104, "weeks"),
    "potassium_mmol_l": NumberRange(1, 10, "mmol/L", lab=True),
    "magnesium_mmol_l": NumberRange(0.1, 5, "mmol/L", lab=True),
    "calcium_mmol_l": NumberRange(0.5, 5, "mmol/L", lab=True),
    "b12_pmol_l": NumberRange(10, 3000, "pmol/L", lab=True),
    "tsh_miu_l": NumberRange(0.001, 500, "mIU/L", lab=True),
    # contract 1.1
    "sodium_mmol_l": NumberRange(100, 180, "mmol/L", lab=True),
    "ck_u_l": NumberRange(1, 200000, "U/L", lab=True),
    "free_t4_pmol_l": NumberRange(1, 150, "pmol/L", lab=True),
}
"""Numeric findings in contract order: range and unit; a lab's range is its plausible one."""

NUMERIC_FINDINGS: dict[str, NumberRange] = {
    name: spec for name, spec in NUMBER_FINDINGS.items() if not spec.lab}
"""Numeric findings that are not laboratory values (the range is a hard limit)."""

LAB_FINDINGS: dict[str, NumberRange] = {
    name: spec for name, spec in NUMBER_FINDINGS.items() if spec.lab}
"""Laboratory findings: a value outside the plausible range is refused as a likely unit error."""

TRIAL_OUTCOMES: tuple[str, ...] = ("improved", "unchanged", "worse")

ENUM_FINDINGS: dict[str, tuple[str, ...]] = {"lifestyle_trial_outcome": TRIAL_OUTCOMES}

DATE_FINDINGS: dict[str, str] = {"weakness_since": "weakness_days"}
"""Date findings (contract 1.1), each with the fact it gives rules: days from it to assessed_on."""

FINDINGS: tuple[str, ...] = (
    BOOLEAN_FINDINGS + tuple(NUMERIC_FINDINGS) + tuple(ENUM_FINDINGS) + tuple(LAB_FINDINGS)
    + tuple(DATE_FINDINGS)
)
"""Every finding name of the contract, in contract order."""

CHECKLIST_COUNTER = "checklist_met_count"
"""The one counter the engine keeps: how many checklist items are met (rules test it)."""


def level_rank(level: str) -> int:
    """Position of a triage level in the rising order (self-care is 0)."""
    return TRIAGE_LEVELS.index(level)

"""Vocabulary: the contract's fixed names (regions, findings, levels, conditions)."""

from __future__ import annotations

CONTRACT_VERSION = "1"

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
)

NUMERIC_FINDINGS: dict[str, tuple[float, float, str]] = {
    "caffeine_mg_per_day": (0, 5000, "mg/day"),
    "sleep_hours": (0, 24, "hours"),
    "stress_level": (0, 10, "points of 10"),
    "water_liters_per_day": (0, 20, "litres/day"),
    "lifestyle_trial_weeks": (0, 104, "weeks"),
}
"""Numeric findings: (minimum, maximum, unit)."""

LAB_FINDINGS: dict[str, tuple[float, float, str]] = {
    "potassium_mmol_l": (1, 10, "mmol/L"),
    "magnesium_mmol_l": (0.1, 5, "mmol/L"),
    "calcium_mmol_l": (0.5, 5, "mmol/L"),
    "b12_pmol_l": (10, 3000, "pmol/L"),
    "tsh_miu_l": (0.001, 500, "mIU/L"),
}
"""Laboratory findings: (plausible minimum, plausible maximum, expected unit)."""

TRIAL_OUTCOMES: tuple[str, ...] = ("improved", "unchanged", "worse")

ENUM_FINDINGS: dict[str, tuple[str, ...]] = {"lifestyle_trial_outcome": TRIAL_OUTCOMES}

FINDINGS: tuple[str, ...] = (
    BOOLEAN_FINDINGS + tuple(NUMERIC_FINDINGS) + tuple(ENUM_FINDINGS) + tuple(LAB_FINDINGS)
)
"""Every finding name of the contract, in contract order."""


def level_rank(level: str) -> int:
    """Position of a triage level in the rising order (self-care is 0)."""
    return TRIAGE_LEVELS.index(level)

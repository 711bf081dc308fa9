"""Generated valid cases: a seeded, deterministic stream of distinct contract cases."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

REGIONS = ["eyelid", "face", "jaw", "tongue", "neck", "shoulder", "upper_arm", "forearm", "hand",
           "fingers", "thumb", "chest", "back", "abdomen", "hip", "thigh", "calf", "foot", "toes"]
BOOLEANS = [
    "weakness", "weakness_progressive", "weakness_asymmetric", "muscle_wasting", "numbness",
    "tingling", "coordination_problems", "slurred_speech", "swallowing_difficulty",
    "breathing_difficulty", "vision_changes", "cramps", "fatigue", "tremor",
    "family_history_neuromuscular", "diabetes", "metformin", "vegan_diet", "weight_loss",
    "heat_intolerance", "cold_intolerance", "palpitations", "tick_bite", "erythema_migrans",
    "joint_pain", "diarrhea_or_vomiting", "alcohol_excess", "eye_strain", "dry_eyes",
    "intense_exercise", "pre_workout", "energy_drinks", "pseudoephedrine",
]
NUMBERS = {
    "caffeine_mg_per_day": (0, 1200), "sleep_hours": (3, 10), "stress_level": (0, 10),
    "water_liters_per_day": (0.5, 4), "lifestyle_trial_weeks": (0, 12),
    "potassium_mmol_l": (2.2, 6.8), "magnesium_mmol_l": (0.3, 1.2),
    "calcium_mmol_l": (1.7, 2.8), "b12_pmol_l": (60, 900), "tsh_miu_l": (0.01, 12),
}


def generate_case(rng: random.Random, serial: int) -> dict[str, Any]:
    """One valid case; ``serial`` makes every case distinct (it sets the assessment date)."""
    assessed_on = dt.date(2026, 1, 1) + dt.timedelta(days=serial % 3000)
    regions = []
    for region in rng.sample(REGIONS, rng.choice([1, 1, 1, 2, 2, 3, 4])):
        since = assessed_on - dt.timedelta(days=rng.choice([0, 2, 5, 10, 14, 15, 20, 40, 90, 200]))
        regions.append({"region": region, "side": rng.choice(["left", "right", "both", "midline"]),
                        "since": since.isoformat()})
    twitching: dict[str, Any] = {"regions": regions}
    if rng.random() < 0.8:
        twitching["course"] = rng.choice(["improving", "stable", "worsening", "unknown"])
    if rng.random() < 0.6:
        twitching["relieved_by_rest"] = rng.random() < 0.5
    findings: dict[str, Any] = {}
    for name in BOOLEANS:
        roll = rng.random()
        if roll < 0.35:
            findings[name] = roll < 0.06
    for name, (low, high) in NUMBERS.items():
        if rng.random() < 0.3:
            findings[name] = round(rng.uniform(low, high), 2)
    if "lifestyle_trial_weeks" in findings:
        findings["lifestyle_trial_outcome"] = rng.choice(["improved", "unchanged", "worse"])
    return {
        "assessed_on": assessed_on.isoformat(),
        "patient": {"age": rng.randint(8, 90),
                    "sex": rng.choice(["female", "male", "other", "unknown"])},
        "twitching": twitching,
        "findings": findings,
    }


def generate_cases(count: int, seed: int = 20261125) -> list[dict[str, Any]]:
    """``count`` distinct valid cases from a fixed seed."""
    rng = random.Random(seed)
    return [generate_case(rng, serial) for serial in range(count)]

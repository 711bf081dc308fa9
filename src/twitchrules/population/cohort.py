"""Cohort: a realistic synthetic population of assessments, seeded, for replays and benchmarks.

Unlike ``case.synthetic`` (stress cases drawn from every corner of the contract), a cohort
looks like the people who come with twitching: mostly benign presentations, a documented
share with each red flag, laboratory values in some, unanswered questions in some. It is
made up: never present it as real patients.

A *mix* names the share of each presentation and the rates that cut across them. Two mixes
are documented (``docs/population.md`` shows the same numbers, and a test checks both the
page and a drawn sample against these tables):

* ``primary-care`` (default): people who ask a general practitioner or a symptom checker;
* ``neurology``: referrals to a neuromuscular clinic (more red flags, more labs, more
  examination findings).

``cohort_cases(n, seed, mix)`` gives the same cases for the same arguments on every machine
and Python (``random.Random`` with a fixed seed, dates counted from a fixed day).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..case import vocabulary as words
from ..files import WholeFile

LAST_DAY = dt.date(2026, 11, 20)
"""The latest ``assessed_on`` of a cohort; assessments spread over the year before it."""

RED_FLAG_FINDINGS: tuple[str, ...] = (
    "weakness", "muscle_wasting", "numbness", "tingling", "coordination_problems",
    "slurred_speech", "swallowing_difficulty",
)
"""The article's red-flag questions a screened person answers (absent when unanswered)."""

MEDICINES: tuple[str, ...] = (
    "beta2_agonist", "corticosteroid", "stimulant_medication", "cholinesterase_inhibitor",
    "diuretic", "proton_pump_inhibitor", "lithium",
)

_NORMAL_LABS: dict[str, tuple[float, float, int]] = {
    # name: (low, high, decimals) of a normal adult value
    "potassium_mmol_l": (3.6, 5.0, 1), "magnesium_mmol_l": (0.75, 0.98, 2),
    "calcium_mmol_l": (2.25, 2.55, 2), "b12_pmol_l": (260, 700, 0), "tsh_miu_l": (0.6, 4.0, 2),
    "sodium_mmol_l": (136, 144, 0), "ck_u_l": (40, 200, 0), "free_t4_pmol_l": (11, 21, 1),
}
_ABNORMAL_LABS: dict[str, tuple[tuple[float, float, int], ...]] = {
    "potassium_mmol_l": ((2.6, 3.3, 1), (5.5, 6.2, 1)),
    "magnesium_mmol_l": ((0.45, 0.65, 2),),
    "calcium_mmol_l": ((1.95, 2.15, 2), (2.7, 2.9, 2)),
    "b12_pmol_l": ((60, 130, 0), (140, 250, 0)),
    "tsh_miu_l": ((0.01, 0.3, 2), (6.0, 25.0, 1)),
    "sodium_mmol_l": ((122, 132, 0),),
    "ck_u_l": ((400, 2500, 0),),
    "free_t4_pmol_l": ((25, 45, 1),),
}


@dataclass(frozen=True)
class Mix:
    """A documented population: the share of each presentation and the rates across them."""

    name: str
    description: str
    presentations: dict[str, float]
    labs: float  # share with a laboratory panel (besides the lab-abnormality presentation)
    unanswered: float  # share with one to three red-flag questions left unanswered
    course_unknown: float  # share whose course is not given or "unknown"
    minors: float  # share aged 16-17 (outside the intended population)
    elderly: float  # share aged 80-95
    medicines: float  # share taking a medicine of contract 1.1 (besides the medicine presentation)
    health_anxiety: float  # share worried about a serious disease such as ALS
    reflexes_examined: float  # share with reflexes examined (brisk / reduced answered)

    def __post_init__(self) -> None:
        total = sum(self.presentations.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"mix {self.name}: presentation shares add up to {total}, not 1")
        unknown = set(self.presentations) - set(PRESENTATION_WORDS)
        if unknown:
            raise ValueError(f"mix {self.name}: unknown presentations {sorted(unknown)}")


PRESENTATION_WORDS: dict[str, str] = {
    "eyelid": "Eyelid twitching, recent, with eye strain, screen time, caffeine or short sleep",
    "calf-limb": "Calf, thigh or foot twitching at rest, often after exercise; no red flag",
    "lifestyle": "Twitching in the arm, hand, face or trunk with caffeine, stress, short sleep "
                 "or exercise; no red flag",
    "medicine": "Twitching while taking a medicine that can cause it (salbutamol, steroids, "
                "stimulants, cholinesterase inhibitors, diuretics, PPIs, lithium)",
    "lab-abnormal": "A laboratory value out of range (potassium, magnesium, calcium, B12, TSH, "
                    "sodium, CK, free T4)",
    "persistent": "Benign-looking twitching for months, worsening, not relieved by rest",
    "spreading": "Twitching in two or more body segments, no other red flag",
    "weakness": "Weakness, often progressive or asymmetric, with its onset date",
    "wasting": "Visible muscle wasting (with weakness)",
    "sensory": "Numbness or tingling",
    "coordination": "Coordination problems",
    "bulbar": "Slurred speech or difficulty swallowing",
    "breathing": "Difficulty breathing",
    "acute": "Sudden onset or facial weakness (contract 1.1)",
}
"""Each presentation in words (the documentation shows these)."""

MIX_NAMES: dict[str, str] = {
    "primary-care": "People asking a general practitioner or a symptom checker about twitching.",
    "neurology": "Referrals to a neuromuscular clinic: more red flags, labs and examination.",
}
"""Each documented mix and who it stands for; the columns of the two tables below, in order."""

PRESENTATION_SHARES: dict[str, tuple[float, float]] = {
    # presentation: (primary-care, neurology); each column adds up to 1
    "eyelid": (0.28, 0.08), "calf-limb": (0.24, 0.20), "lifestyle": (0.155, 0.10),
    "medicine": (0.06, 0.05), "lab-abnormal": (0.04, 0.06), "persistent": (0.03, 0.01),
    "spreading": (0.06, 0.12), "weakness": (0.05, 0.15), "wasting": (0.015, 0.06),
    "sensory": (0.04, 0.08), "coordination": (0.01, 0.03), "bulbar": (0.01, 0.04),
    "breathing": (0.005, 0.01), "acute": (0.005, 0.01),
}
"""The share of each presentation in each mix (the docs show the same table)."""

RATES: dict[str, tuple[float, float]] = {
    # rate across every presentation: (primary-care, neurology); see ``Mix`` for each
    "labs": (0.20, 0.60), "unanswered": (0.30, 0.15), "course_unknown": (0.10, 0.05),
    "minors": (0.03, 0.01), "elderly": (0.05, 0.10), "medicines": (0.05, 0.08),
    "health_anxiety": (0.15, 0.30), "reflexes_examined": (0.10, 0.70),
}
"""The rates across presentations in each mix (the docs show the same table)."""


def _mix(column: int, name: str) -> Mix:
    rate = {key: values[column] for key, values in RATES.items()}
    return Mix(name=name, description=MIX_NAMES[name],
               presentations={key: values[column] for key, values in PRESENTATION_SHARES.items()},
               labs=rate["labs"], unanswered=rate["unanswered"], course_unknown=rate["course_unknown"],
               minors=rate["minors"], elderly=rate["elderly"], medicines=rate["medicines"],
               health_anxiety=rate["health_anxiety"], reflexes_examined=rate["reflexes_examined"])


MIXES: dict[str, Mix] = {name: _mix(column, name) for column, name in enumerate(MIX_NAMES)}
"""The documented mixes by name; ``primary-care`` is the default."""

DEFAULT_MIX = "primary-care"

_HEAD_OTHER = ("face", "jaw", "tongue")
_ARMS = ("shoulder", "upper_arm", "forearm", "hand", "fingers", "thumb")
_LEGS = ("hip", "thigh", "calf", "foot", "toes")
_TRUNK = ("neck", "chest", "back", "abdomen")
_SEGMENTS = (("eyelid", *_HEAD_OTHER), _TRUNK, _ARMS, _LEGS)


class _Draw:
    """One case being drawn: the random source, its dates and the findings so far."""

    def __init__(self, rng: random.Random, mix: Mix) -> None:
        self.rng = rng
        self.mix = mix
        self.assessed_on = LAST_DAY - dt.timedelta(days=rng.randint(0, 364))
        self.findings: dict[str, Any] = {}
        self.regions: list[dict[str, str]] = []
        self.course: str | None = None
        self.relieved_by_rest: bool | None = None

    def chance(self, share: float) -> bool:
        return self.rng.random() < share

    def days_ago(self, low: int, high: int) -> str:
        return (self.assessed_on - dt.timedelta(days=self.rng.randint(low, high))).isoformat()

    def region(self, names: tuple[str, ...], low: int, high: int, sides: tuple[str, ...] = ()) -> None:
        taken = {entry["region"] for entry in self.regions}
        choices = [name for name in names if name not in taken] or list(names)
        name = self.rng.choice(choices)
        if name in taken:
            return
        side = self.rng.choice(sides or (("midline",) if name in ("tongue", "neck", "chest", "back",
                                                                  "abdomen") else ("left", "right", "both")))
        self.regions.append({"region": name, "side": side, "since": self.days_ago(low, high)})

    def number(self, name: str, low: float, high: float, decimals: int = 0) -> None:
        value = round(self.rng.uniform(low, high), decimals)
        self.findings[name] = int(value) if decimals == 0 else value

    def triggers(self, strength: float) -> None:
        """Lifestyle triggers: caffeine, sleep, stress, water, exercise, energy drinks."""
        if self.chance(0.6):
            self.number("caffeine_mg_per_day", 0, 900 if self.chance(strength) else 300)
        if self.chance(0.6):
            self.number("sleep_hours", 4 if self.chance(strength) else 6, 9, 1)
        if self.chance(0.5):
            self.number("stress_level", 5 if self.chance(strength) else 1, 10)
        if self.chance(0.3):
            self.number("water_liters_per_day", 0.5, 3, 1)
        for name, share in (("intense_exercise", 0.25), ("energy_drinks", 0.1), ("pre_workout", 0.05),
                            ("eye_strain", 0.2)):
            if self.chance(0.5):
                self.findings[name] = self.chance(share * 2)


def _eyelid(draw: _Draw) -> None:
    recent = draw.chance(0.75)  # most people ask within two weeks
    draw.region(("eyelid",), 1 if recent else 15, 14 if recent else 60, ("left", "right", "both"))
    if draw.chance(0.08):  # another facial muscle joins
        draw.region(("face",), 1, 30)
    draw.triggers(0.6)
    draw.findings.setdefault("eye_strain", draw.chance(0.5))
    if draw.chance(0.3):
        draw.findings["dry_eyes"] = draw.chance(0.5)


def _calf_limb(draw: _Draw) -> None:
    recent = draw.chance(0.5)
    draw.region(("calf", "calf", "thigh", "foot", "toes"), 2 if recent else 15, 14 if recent else 180)
    draw.triggers(0.5)
    draw.findings["intense_exercise"] = draw.chance(0.45)
    if draw.chance(0.3):
        draw.findings["cramps"] = draw.chance(0.5)


def _lifestyle(draw: _Draw) -> None:
    recent = draw.chance(0.6)
    draw.region(_ARMS + _HEAD_OTHER + _TRUNK, 1 if recent else 15, 14 if recent else 90)
    draw.triggers(0.8)


def _medicine(draw: _Draw) -> None:
    draw.region(_ARMS + _LEGS + ("eyelid",), 3, 90)
    draw.findings[draw.rng.choice(MEDICINES)] = True
    draw.triggers(0.3)
    if draw.chance(0.2):
        draw.findings["pseudoephedrine"] = True


def _lab_abnormal(draw: _Draw) -> None:
    draw.region(_LEGS + _ARMS, 5, 200)
    name = draw.rng.choice(tuple(_ABNORMAL_LABS))
    low, high, decimals = draw.rng.choice(_ABNORMAL_LABS[name])
    _lab_panel(draw)
    draw.number(name, low, high, decimals)
    if name == "b12_pmol_l" and draw.chance(0.5):
        draw.findings["vegan_diet"] = True
    if name in ("tsh_miu_l", "free_t4_pmol_l") and draw.chance(0.5):
        draw.findings["palpitations" if draw.chance(0.5) else "heat_intolerance"] = True
    if name in ("potassium_mmol_l", "magnesium_mmol_l", "sodium_mmol_l") and draw.chance(0.4):
        draw.findings["diarrhea_or_vomiting" if draw.chance(0.5) else "diuretic"] = True


def _persistent(draw: _Draw) -> None:
    draw.region(_LEGS + _ARMS, 120, 900)
    draw.course = "worsening"
    draw.relieved_by_rest = False
    draw.triggers(0.3)


def _spreading(draw: _Draw) -> None:
    first, second = draw.rng.sample(range(len(_SEGMENTS)), 2)
    draw.region(_SEGMENTS[first], 20, 300)
    draw.region(_SEGMENTS[second], 5, 200)
    if draw.chance(0.3):
        draw.region(_SEGMENTS[draw.rng.choice((first, second))], 1, 100)


def _weakness(draw: _Draw) -> None:
    draw.region(_ARMS + _LEGS, 15, 400)
    draw.findings["weakness"] = True
    draw.findings["weakness_since"] = draw.days_ago(3, 300)
    if draw.chance(0.7):
        draw.findings["weakness_progressive"] = draw.chance(0.6)
    if draw.chance(0.7):
        draw.findings["weakness_asymmetric"] = draw.chance(0.6)
    if draw.chance(0.3):
        draw.findings["cramps"] = True


def _wasting(draw: _Draw) -> None:
    _weakness(draw)
    draw.findings["muscle_wasting"] = True


def _sensory(draw: _Draw) -> None:
    draw.region(_ARMS + _LEGS, 5, 300)
    draw.findings["numbness" if draw.chance(0.5) else "tingling"] = True
    if draw.chance(0.3):
        draw.findings["diabetes"] = True
        draw.findings["metformin"] = draw.chance(0.7)


def _coordination(draw: _Draw) -> None:
    draw.region(_ARMS + _LEGS, 5, 200)
    draw.findings["coordination_problems"] = True
    if draw.chance(0.3):
        draw.findings["vision_changes"] = True


def _bulbar(draw: _Draw) -> None:
    draw.region(("tongue", "jaw", "face") + _ARMS, 10, 300)
    draw.findings["slurred_speech" if draw.chance(0.5) else "swallowing_difficulty"] = True


def _breathing(draw: _Draw) -> None:
    draw.region(_TRUNK + _ARMS + _LEGS, 5, 300)
    draw.findings["breathing_difficulty"] = True


def _acute(draw: _Draw) -> None:
    draw.region(("face", "eyelid", "jaw") + _ARMS, 0, 3)
    if draw.chance(0.5):
        draw.findings["facial_weakness"] = True
    else:
        draw.findings["weakness"] = True
        draw.findings["weakness_since"] = draw.days_ago(0, 1)
    draw.findings["sudden_onset"] = True


PRESENTATIONS: dict[str, Callable[[_Draw], None]] = {
    "eyelid": _eyelid, "calf-limb": _calf_limb, "lifestyle": _lifestyle, "medicine": _medicine,
    "lab-abnormal": _lab_abnormal, "persistent": _persistent, "spreading": _spreading,
    "weakness": _weakness, "wasting": _wasting, "sensory": _sensory,
    "coordination": _coordination, "bulbar": _bulbar, "breathing": _breathing, "acute": _acute,
}
"""How each presentation is drawn (the red flag itself is always answered yes)."""

_RED_FLAG_OF = {
    "weakness": ("weakness",), "wasting": ("weakness", "muscle_wasting"),
    "sensory": ("numbness", "tingling"), "coordination": ("coordination_problems",),
    "bulbar": ("slurred_speech", "swallowing_difficulty"),
}


def _lab_panel(draw: _Draw) -> None:
    names = draw.rng.sample(tuple(_NORMAL_LABS), draw.rng.randint(2, len(_NORMAL_LABS)))
    for name in sorted(names, key=tuple(_NORMAL_LABS).index):
        draw.number(name, *_NORMAL_LABS[name])


def _screen(draw: _Draw, presentation: str) -> None:
    """The red-flag questions: answered no unless the presentation says yes; some unanswered."""
    own = _RED_FLAG_OF.get(presentation, ())
    unanswered: set[str] = set()
    if draw.chance(draw.mix.unanswered):
        open_questions = [name for name in RED_FLAG_FINDINGS if name not in own]
        unanswered = set(draw.rng.sample(open_questions, draw.rng.randint(1, 3)))
    for name in RED_FLAG_FINDINGS:
        if name not in unanswered:
            draw.findings.setdefault(name, False)
    if "breathing_difficulty" not in draw.findings and draw.chance(0.8):
        draw.findings["breathing_difficulty"] = False


def _patient(draw: _Draw) -> dict[str, Any]:
    pick = draw.rng.random()
    if pick < draw.mix.minors:
        age = draw.rng.randint(16, 17)
    elif pick < draw.mix.minors + draw.mix.elderly:
        age = draw.rng.randint(80, 95)
    else:
        age = int(min(79, max(18, draw.rng.gauss(42, 15))))
    sex = draw.rng.choices(words.SEXES, weights=(0.52, 0.45, 0.01, 0.02))[0]
    if sex == "female" and 16 <= age <= 48 and draw.chance(0.04):
        draw.findings["pregnant"] = True
    return {"age": age, "sex": sex}


def _cross_cutting(draw: _Draw, presentation: str) -> None:
    mix = draw.mix
    if presentation != "lab-abnormal" and draw.chance(mix.labs):
        _lab_panel(draw)
    if presentation != "medicine" and draw.chance(mix.medicines):
        draw.findings[draw.rng.choice(MEDICINES)] = True
    if draw.chance(0.6):
        draw.findings["health_anxiety"] = draw.chance(mix.health_anxiety / 0.6)
    if draw.chance(mix.reflexes_examined):
        upper = presentation in ("weakness", "wasting", "bulbar")
        draw.findings["brisk_reflexes"] = draw.chance(0.4 if upper else 0.03)
        draw.findings["reduced_reflexes"] = draw.chance(0.3 if presentation == "sensory" else 0.03)
    if draw.chance(0.15):
        draw.findings["fever"] = draw.chance(0.1)
    if draw.chance(0.1):
        draw.findings["back_pain"] = draw.chance(0.3)
        draw.findings["bladder_or_bowel_change"] = draw.chance(0.02)
    if draw.chance(0.2):
        draw.findings["fatigue"] = draw.chance(0.5)
    if draw.chance(0.15):
        draw.findings["lifestyle_trial_weeks"] = draw.rng.randint(1, 12)
        draw.findings["lifestyle_trial_outcome"] = draw.rng.choice(words.TRIAL_OUTCOMES)


def _twitching(draw: _Draw) -> dict[str, Any]:
    twitching: dict[str, Any] = {"regions": draw.regions}
    course = draw.course
    if course is None:
        if draw.chance(draw.mix.course_unknown):
            course = "unknown" if draw.chance(0.5) else None
        else:
            course = draw.rng.choices(("improving", "stable", "worsening"), weights=(3, 5, 2))[0]
    if course is not None:
        twitching["course"] = course
    relieved = draw.relieved_by_rest
    if relieved is None and draw.chance(0.65):
        relieved = draw.chance(0.55)
    if relieved is not None:
        twitching["relieved_by_rest"] = relieved
    return twitching


def draw_case(rng: random.Random, mix: Mix) -> tuple[str, dict[str, Any]]:
    """One case of ``mix`` drawn from ``rng``: its presentation's name and the case."""
    names = tuple(mix.presentations)
    presentation = rng.choices(names, weights=tuple(mix.presentations.values()))[0]
    draw = _Draw(rng, mix)
    patient = _patient(draw)
    PRESENTATIONS[presentation](draw)
    _screen(draw, presentation)
    _cross_cutting(draw, presentation)
    findings = {name: draw.findings[name] for name in words.FINDINGS if name in draw.findings}
    case = {"assessed_on": draw.assessed_on.isoformat(), "patient": patient,
            "twitching": _twitching(draw), "findings": findings}
    return presentation, case


def get_mix(name: str) -> Mix:
    """The documented mix ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return MIXES[name]
    except KeyError:
        raise ValueError(f"unknown mix {name!r} (known: {', '.join(MIXES)})") from None


def cohort(n: int, seed: int = 0, mix: str = DEFAULT_MIX) -> Iterator[tuple[str, dict[str, Any]]]:
    """``n`` cases of a documented mix with their presentation names, the same for the same seed."""
    chosen = get_mix(mix)
    rng = random.Random(f"twitchrules-cohort:{chosen.name}:{seed}")
    for _ in range(n):
        yield draw_case(rng, chosen)


def cohort_cases(n: int, seed: int = 0, mix: str = DEFAULT_MIX) -> Iterator[dict[str, Any]]:
    """``n`` synthetic cases of a documented mix (see the module docstring), streamed.

    Args:
        n: how many cases.
        seed: the random seed; the cases depend on nothing else but ``mix``.
        mix: ``"primary-care"`` (default) or ``"neurology"``.
    """
    for _, case in cohort(n, seed, mix):
        yield case


def cohort_lines(n: int, seed: int = 0, mix: str = DEFAULT_MIX, *,
                 ids: bool = False) -> Iterator[str]:
    """The cohort as JSON lines (each ends with a newline); with ``ids`` each is ``{"id", "case"}``."""
    for number, case in enumerate(cohort_cases(n, seed, mix), start=1):
        record: Any = {"id": f"synth-{seed}-{number}", "case": case} if ids else case
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_cohort(target: str | Path | BinaryIO, n: int, seed: int = 0, mix: str = DEFAULT_MIX, *,
                 ids: bool = False) -> None:
    """Write a cohort as JSON lines to a path or a binary stream.

    A path ending in ``.gz`` is gzip-compressed (with no timestamp, so the same seed gives the
    same bytes); a path is written whole or not at all (``twitchrules.files``: a symlink's
    file is replaced, a FIFO or device written directly), else ``OutputError`` names it.
    """
    get_mix(mix)
    lines = cohort_lines(n, seed, mix, ids=ids)
    if not isinstance(target, (str, Path)):
        for line in lines:
            target.write(line.encode("utf-8"))
        target.flush()
        return
    blocks = _blocks(lines)
    with WholeFile(target) as output:
        if Path(target).name.endswith(".gz"):
            with gzip.GzipFile(filename="", fileobj=output, mode="wb", mtime=0) as packed:
                for block in blocks:
                    packed.write(block)
        else:
            for block in blocks:
                output.write(block)


_BLOCK_BYTES = 1 << 20
"""About how much of a cohort is handed to a write at once."""


def _blocks(lines: Iterator[str]) -> Iterator[bytes]:
    """The lines as UTF-8, joined into blocks of about ``_BLOCK_BYTES``."""
    pending: list[bytes] = []
    size = 0
    for line in lines:
        encoded = line.encode("utf-8")
        pending.append(encoded)
        size += len(encoded)
        if size >= _BLOCK_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)

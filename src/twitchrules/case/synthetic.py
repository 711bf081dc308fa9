"""Synthetic cases: deterministic, seeded, valid cases for conformance tests and benchmarks.

``generate_cases(n, seed)`` returns ``n`` distinct cases in the contract's case shape, the
same list for the same arguments on every machine and Python. Every case passes the strict
case model. Numbers are drawn from their whole range, from their bounds and, when a ruleset
is given, from the values its conditions compare against and their neighbours, so boundary
comparisons (``gte 14`` on exactly 14) are exercised. Any finding may be absent (unknown).

Used by the tests, the engine conformance checks and the benchmarks; these are
stress cases, not a realistic population (see ``population`` for a cohort).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator, Mapping
from typing import Any

from . import vocabulary as words

_ASSESSED_ON = dt.date(2026, 11, 20)
_RANGES: dict[str, tuple[float, float]] = {
    name: (spec.low, spec.high) for name, spec in words.NUMBER_FINDINGS.items()
}


def _number(rng: random.Random, name: str, thresholds: Mapping[str, list[float]]) -> float:
    low, high = _RANGES[name]
    pick = rng.random()
    options = thresholds.get(name)
    if options and pick < 0.4:
        base = rng.choice(options)
        step = 1 if isinstance(base, int) and high - low >= 10 else (high - low) / 100
        value = base + rng.choice((-step, 0, 0, step))
    elif pick < 0.5:
        value = rng.choice((low, high))
    elif pick < 0.8:
        value = rng.randint(int(low) if low == int(low) else int(low) + 1, int(high))
    else:
        value = round(rng.uniform(low, high), rng.choice((1, 2, 3)))
    value = min(max(value, low), high)
    if isinstance(value, float) and value.is_integer() and rng.random() < 0.5:
        value = int(value)
    if isinstance(value, float):
        value = round(value, 6)
    return value


def _days(rng: random.Random, thresholds: Mapping[str, list[float]]) -> int:
    options = [int(v) for v in thresholds.get("duration_days", ()) if 0 <= v <= 3650]
    pick = rng.random()
    if options and pick < 0.4:
        return max(0, rng.choice(options) + rng.choice((-1, 0, 0, 1)))
    if pick < 0.7:
        return rng.randint(0, 60)
    return rng.randint(0, 1500)


def generate_case(rng: random.Random, thresholds: Mapping[str, list[float]] | None = None,
                  density: float | None = None) -> dict[str, Any]:
    """One valid case drawn from ``rng`` (see the module docstring)."""
    thresholds = thresholds or {}
    density = rng.choice((0.05, 0.2, 0.4, 0.7)) if density is None else density
    assessed_on = _ASSESSED_ON - dt.timedelta(days=rng.randint(0, 400))
    regions = []
    for region in rng.sample(words.REGIONS, rng.choice((1, 1, 1, 2, 2, 3, 4, 6))):
        since = assessed_on - dt.timedelta(days=_days(rng, thresholds))
        regions.append({"region": region, "side": rng.choice(words.SIDES), "since": since.isoformat()})
    twitching: dict[str, Any] = {"regions": regions}
    if rng.random() < 0.8:
        twitching["course"] = rng.choice(words.COURSES)
    if rng.random() < 0.6:
        twitching["relieved_by_rest"] = rng.random() < 0.5
    patient: dict[str, Any] = {"age": rng.choice((rng.randint(0, 120), rng.randint(18, 80)))}
    if rng.random() < 0.8:
        patient["sex"] = rng.choice(words.SEXES)
    findings: dict[str, Any] = {}
    screened = rng.random() < 0.3  # a screened person: most questions answered, mostly "no"
    for name in words.BOOLEAN_FINDINGS:
        if screened and rng.random() < 0.9:
            findings[name] = rng.random() < 0.08
        elif rng.random() < density:
            findings[name] = rng.random() < 0.5
    drop_contradicted_qualifiers(findings)
    for name in _RANGES:
        if rng.random() < density:
            findings[name] = _number(rng, name, thresholds)
    for name, values in words.ENUM_FINDINGS.items():
        if rng.random() < density:
            findings[name] = rng.choice(values)
    for name in words.DATE_FINDINGS:  # weakness_since: only where weakness is not known absent
        if findings.get("weakness") is not False and rng.random() < density:
            since = assessed_on - dt.timedelta(days=_days(rng, thresholds))
            findings[name] = since.isoformat()
    return {"assessed_on": assessed_on.isoformat(), "patient": patient,
            "twitching": twitching, "findings": findings}


def iter_cases(seed: int = 0, *, ruleset: Any = None) -> Iterator[dict[str, Any]]:
    """An endless stream of valid cases, the same for the same ``seed`` (and ruleset).

    Holds nothing between cases, so it suits long runs that watch memory; repeats are
    possible but rare (use ``generate_cases`` for a list of distinct cases).
    """
    rng = random.Random(seed)
    thresholds = ruleset.compared_numbers if ruleset is not None else {}
    while True:
        yield generate_case(rng, thresholds)


def generate_cases(n: int, seed: int = 0, *, ruleset: Any = None) -> list[dict[str, Any]]:
    """``n`` distinct valid cases, the same for the same ``seed`` (and ruleset).

    Args:
        n: how many cases.
        seed: the random seed; the list depends on nothing else but ``ruleset``.
        ruleset: optionally a loaded ``Ruleset`` whose numeric thresholds are drawn often.
    """
    cases: list[dict[str, Any]] = []
    seen: set[str] = set()
    for case in iter_cases(seed, ruleset=ruleset):
        if len(cases) == n:
            break
        key = json.dumps(case, sort_keys=True)
        if key not in seen:
            seen.add(key)
            cases.append(case)
    return cases


def drop_contradicted_qualifiers(findings: dict[str, Any]) -> None:
    """Leave unknown each qualifier drawn true beside its parent drawn false: the case model
    refuses that contradiction, so a generator of valid cases must not make it."""
    for qualifier, parent in words.QUALIFIER_PARENTS.items():
        if findings.get(parent) is False and findings.get(qualifier) is True:
            del findings[qualifier]

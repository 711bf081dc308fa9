"""Reproduce: re-run a recorded result's case on the ruleset and engine it names, compare field by field.

The ruleset is found by the sha256 the result records (``sha256:<hex>``: the archived
releases, or a current bundled ruleset with that content); the engine is the one it names,
or, where that engine cannot run on this Python, another one: CI proves every engine gives
identical results on every case, and the substitution is said. The decision is reproduced
when every compared part (``COMPARED``) is identical. A newer package or contract version
is reported as a note, not a difference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..case import Case
from ..case.vocabulary import CONTRACT_VERSION
from ..engine import available_engines, cached_ruleset, default_engine
from ..engine.registry import ENGINES
from ..errors import RulesetError, TwitchrulesError
from ..pipeline import evaluate
from ..ruleset.model import Ruleset
from ..version import __version__

COMPARED: tuple[str, ...] = (
    "triage", "differential", "recommendations", "checklist", "missing_information", "notices", "trace",
)
"""The parts of a result that make up the decision; all must be identical to reproduce it."""

MAX_DIFFERENCES = 200
"""Most differences listed one by one (the rest are counted)."""

NOT_IN_ARCHIVE = "ruleset sha256 not in the archive"


class VerifyInputError(TwitchrulesError):
    """A result, cases or audit file that cannot be verified as given (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Difference:
    """One field whose recorded value differs from the value evaluated now."""

    path: str
    recorded: Any
    now: Any

    def __str__(self) -> str:
        return f"{self.path}: recorded {_shown(self.recorded)}, now {_shown(self.now)}"


@dataclass
class Verification:
    """The outcome of verifying one recorded result: reproduced, differing, or not checkable."""

    status: str  # "reproduced", "differs" or "ruleset-not-found"
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ruleset: Ruleset | None = None
    engine: str | None = None
    result: dict[str, Any] | None = None

    @property
    def reproduced(self) -> bool:
        """True when the decision was reproduced exactly."""
        return self.status == "reproduced"


MISSING = object()
"""Stands for a field one side does not have (shown as "(absent)")."""


def _shown(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    text = repr(value)
    return text if len(text) <= 160 else text[:157] + "..."


def compare(recorded: Any, now: Any, path: str, out: list[Difference]) -> None:
    """Append every difference between two JSON values, by path (``triage.level``, ``trace[3].rule``)."""
    if isinstance(recorded, Mapping) and isinstance(now, Mapping):
        for key in list(recorded) + [k for k in now if k not in recorded]:
            compare(recorded.get(key, MISSING), now.get(key, MISSING), f"{path}.{key}", out)
        return
    if isinstance(recorded, list) and isinstance(now, list):
        for index in range(max(len(recorded), len(now))):
            compare(recorded[index] if index < len(recorded) else MISSING,
                    now[index] if index < len(now) else MISSING, f"{path}[{index}]", out)
        return
    if type(recorded) is not type(now) or recorded != now:
        out.append(Difference(path, recorded, now))


def _require(recorded: Any, where: str) -> dict[str, Any]:
    """The recorded result, checked to have what verification reads; names the field if not."""
    if not isinstance(recorded, dict):
        raise VerifyInputError([(where, "must be a result JSON object (twitchrules evaluate --format json)")])
    problems: list[tuple[str, str]] = []
    ruleset = recorded.get("ruleset")
    if not isinstance(ruleset, dict) or not isinstance(ruleset.get("sha256"), str) or len(
            ruleset["sha256"]) != 64 or any(c not in "0123456789abcdef" for c in ruleset["sha256"]):
        problems.append((f"{where}: ruleset.sha256", "must be the 64 hex digits of the ruleset's sha256"))
    engine = recorded.get("engine")
    if not isinstance(engine, dict) or not isinstance(engine.get("name"), str):
        problems.append((f"{where}: engine.name", "is required (the engine that made the result)"))
    for part in COMPARED:
        if part not in recorded:
            problems.append((f"{where}: {part}", "is required (a part of the decision)"))
    if problems:
        raise VerifyInputError(problems)
    return recorded


ENGINE_OF_RESULT_NAME: dict[str, str] = {"durable-rules": "durable", "clips": "clips"}
"""The engine (registry name) behind each name a result's ``engine.name`` gives (tests check it)."""


def choose_reproducing_engine(recorded_engine: str) -> tuple[str, str | None]:
    """The engine to re-run with, and a note when it is not the recorded one."""
    usable = available_engines()
    key = ENGINE_OF_RESULT_NAME.get(recorded_engine, recorded_engine)
    if key in usable:
        return key, None
    if not usable:
        raise VerifyInputError([("engine", "no rule engine can run on this Python")])
    substitute = default_engine()
    why = ("cannot run on this Python" if key in ENGINES
           else "is not an engine this package knows")
    return substitute, (f"the result was made with engine '{recorded_engine}', which {why}; re-run with "
                        f"'{substitute}' (CI proves the engines give identical results on every case)")


def find_ruleset(sha256: str) -> Ruleset | None:
    """The archived (or current bundled) ruleset with this content sha256, or ``None``."""
    try:
        return cached_ruleset(f"sha256:{sha256}")
    except RulesetError:
        return None


def verify_result(recorded: Any, case: Case, where: str = "RESULT") -> Verification:
    """Re-run ``case`` as the recorded result says it was run, and compare the decision.

    Raises ``VerifyInputError`` (exit 2) naming the field when ``recorded`` is not a result.
    """
    checked = _require(recorded, where)
    sha256 = checked["ruleset"]["sha256"]
    ruleset = find_ruleset(sha256)
    if ruleset is None:
        name = checked["ruleset"].get("name", "?")
        version = checked["ruleset"].get("version", "?")
        return Verification("ruleset-not-found", notes=[
            f"{NOT_IN_ARCHIVE}: {name} {version} sha256 {sha256} is neither an archived release "
            "nor a bundled ruleset of this installation"])
    engine, substituted = choose_reproducing_engine(checked["engine"]["name"])
    notes = [substituted] if substituted else []
    result = evaluate(case, ruleset=ruleset, engine=engine).to_dict()
    recorded_engine = checked["engine"]
    if substituted is None and recorded_engine.get("version") != result["engine"]["version"]:
        notes.append(f"engine {engine} version: recorded {recorded_engine.get('version')}, "
                     f"now {result['engine']['version']}")
    if checked.get("package_version") != __version__:
        notes.append(f"package version: recorded {checked.get('package_version')}, now {__version__} "
                     "(reported, not a failure)")
    if checked.get("contract_version") != CONTRACT_VERSION:
        notes.append(f"contract version: recorded {checked.get('contract_version')}, now {CONTRACT_VERSION} "
                     "(reported, not a failure)")
    differences: list[Difference] = []
    for part in COMPARED:
        compare(checked[part], result[part], part, differences)
    if checked.get("contract_version") != CONTRACT_VERSION:
        # A field a newer contract added is not part of the recorded decision.
        added = [d for d in differences if d.recorded is MISSING]
        if added:
            notes.append(f"{len(added)} field(s) the recorded contract did not have, not compared: "
                         + ", ".join(d.path for d in added[:10]) + (" ..." if len(added) > 10 else ""))
        differences = [d for d in differences if d.recorded is not MISSING]
    status = "reproduced" if not differences else "differs"
    return Verification(status, differences, notes, ruleset, engine, result)


def render_verification(verification: Verification, label: str = "") -> str:
    """The verification in words: the verdict, the notes, and every difference by field."""
    lead = f"{label}: " if label else ""
    lines: list[str] = []
    if verification.status == "ruleset-not-found":
        lines.append(f"{lead}NOT VERIFIED: {NOT_IN_ARCHIVE}")
    else:
        ruleset = verification.ruleset
        assert ruleset is not None
        on = f"ruleset {ruleset.name} {ruleset.version} (sha256 {ruleset.sha256[:12]}...), engine {verification.engine}"
        if verification.reproduced:
            lines.append(f"{lead}REPRODUCED exactly on {on}: " + ", ".join(COMPARED))
        else:
            lines.append(f"{lead}DIFFERS on {on}: {len(verification.differences)} field(s)")
    lines += [f"  note: {note}" for note in verification.notes]
    shown = verification.differences[:MAX_DIFFERENCES]
    lines += [f"  {difference}" for difference in shown]
    if len(verification.differences) > len(shown):
        lines.append(f"  ... and {len(verification.differences) - len(shown)} more")
    return "\n".join(lines) + "\n"

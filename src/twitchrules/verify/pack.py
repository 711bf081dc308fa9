"""The regulatory pack of a ruleset: gathers what each kind needs, then the ``ruleset`` modules render it.

``hti1`` needs the ruleset and its archived releases, ``basis`` the ruleset alone, ``trace``
also the hazard log and a run of the ruleset's own tests (which rules each case file fires),
which is why the pack is put together here, where running the tests is allowed.
"""

from __future__ import annotations

from pathlib import Path

from ..engine import cached_ruleset
from ..ruleset.coverage import rule_ids
from ..ruleset.hazards import check_hazards, hazards_path, load_hazards
from ..ruleset.lock import default_lock_path, read_lock
from ..ruleset.model import Ruleset
from ..ruleset.regulatory import REPORT_KINDS, Pack, basis_pack, hti1_pack
from ..ruleset.sources import RulesetSpec
from ..ruleset.traceability import trace_pack
from .suite import run_ruleset_tests


def archived_releases(ruleset: Ruleset) -> list[str]:
    """The versions of every archived release of the ruleset's folder, as the lock records them."""
    folder = Path(ruleset.path)
    lock_path = default_lock_path(folder)
    if not folder.is_dir() or not lock_path.is_file():
        return []
    return list(read_lock(lock_path).get("releases", {}))


def _source_root(ruleset: Ruleset) -> Path | None:
    """The source checkout the ruleset sits in (where tests/ are), if any."""
    for parent in Path(ruleset.path).resolve().parents:
        if (parent / "tests").is_dir() and (parent / "pyproject.toml").is_file():
            return parent
    return None


def build_pack(kind: str, ruleset_spec: RulesetSpec = None, engine: str | None = None) -> Pack:
    """The pack of one kind (``REPORT_KINDS``) for a ruleset (default: the bundled one)."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r} (known: {', '.join(REPORT_KINDS)})")
    ruleset = cached_ruleset(ruleset_spec)
    if kind == "hti1":
        return hti1_pack(ruleset, archived_releases(ruleset))
    if kind == "basis":
        return basis_pack(ruleset)
    suite = run_ruleset_tests(ruleset, None, engine)
    fired_by: dict[str, list[str]] = {}
    for outcome in suite.outcomes:
        for rule_id in dict.fromkeys(rule_ids(outcome.result)):
            fired_by.setdefault(rule_id, []).append(outcome.case_file.id)
    hazards = load_hazards(hazards_path(ruleset))
    case_ids = {outcome.case_file.id for outcome in suite.outcomes}
    problems = check_hazards(hazards, ruleset, case_ids, _source_root(ruleset))
    return trace_pack(ruleset, hazards, fired_by, problems)

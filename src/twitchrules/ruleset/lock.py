"""Lock: version discipline for a ruleset, an append-only record of released content hashes.

The lock file (for the bundled ruleset ``rulesets/twitching.lock.json``, next to the
ruleset folder) records, for every ``(rule id, rule version)`` ever released, the sha256 of
the rule's canonical JSON, and for every ruleset version the ruleset's sha256::

    {
      "lock_format": 1,
      "ruleset": "twitching",
      "ruleset_versions": {"1.0.0": "<sha256 of the whole ruleset>"},
      "rules": {"RF-SPREAD": {"1.0.0": "<sha256 of the rule>"}}
    }

Entries are only ever added. ``check_lock`` reports a rule whose content differs from the
hash recorded for its version, and a ruleset whose content differs from the hash recorded
for its version: either means something changed without a new version. ``update_lock``
adds the entries of the current ruleset and refuses (``LockError``, exit 2) to overwrite
an entry with a different hash. The ruleset's default triage is locked like a rule.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RulesetError
from ..files import write_whole
from .audit import versioned_items
from .model import Ruleset, canonical_sha256
from .statics import require_no_static_errors

LOCK_FORMAT = 1


class LockError(RulesetError):
    """A lock entry would be overwritten, or a lock file is unreadable (exit 2)."""

    exit_code = 2


def rule_sha256(data: Mapping[str, Any]) -> str:
    """sha256 of one rule's canonical JSON (sorted keys, compact, UTF-8)."""
    return canonical_sha256(data)


def default_lock_path(ruleset_path: str | Path) -> Path:
    """Where a ruleset's lock lives: ``<folder>.lock.json`` or ``<file stem>.lock.json`` beside it."""
    path = Path(ruleset_path)
    if path.is_dir():
        return path.parent / f"{path.name}.lock.json"
    return path.with_name(f"{path.stem}.lock.json")


def empty_lock(name: str) -> dict[str, Any]:
    """A lock with no entries for the ruleset called ``name``."""
    return {"lock_format": LOCK_FORMAT, "ruleset": name, "ruleset_versions": {}, "rules": {}}


def read_lock(path: str | Path) -> dict[str, Any]:
    """Read a lock file; raise ``LockError`` naming the file when it is missing or malformed."""
    path = Path(path)
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LockError([(str(path), "no lock file (create it with: twitchrules ruleset lock)")]
                        ) from None
    except (OSError, ValueError) as error:  # ValueError: bad JSON, or text that is not UTF-8
        raise LockError([(str(path), f"cannot be read as JSON: {error}")]) from None
    problems = []
    if not isinstance(lock, dict) or lock.get("lock_format") != LOCK_FORMAT:
        problems.append((str(path), f"lock_format must be {LOCK_FORMAT}"))
    elif not isinstance(lock.get("ruleset_versions"), dict) or not isinstance(
            lock.get("rules"), dict):
        problems.append((str(path), "must hold 'ruleset_versions' and 'rules' objects"))
    if problems:
        raise LockError(problems)
    checked: dict[str, Any] = lock
    return checked


def render_lock(lock: Mapping[str, Any]) -> str:
    """A lock as stable JSON text (sorted, indented) so its diffs show only new lines."""
    return json.dumps(lock, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass
class LockReport:
    """What a ruleset holds relative to its lock.

    ``mismatches`` break version discipline (content changed, version not bumped);
    ``unlocked`` are versions not yet released (new entries ``update_lock`` would add);
    ``locked`` count the entries that match.
    """

    mismatches: list[tuple[str, str]] = field(default_factory=list)
    unlocked: list[tuple[str, str]] = field(default_factory=list)
    locked: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing differs from a recorded hash."""
        return not self.mismatches


def check_lock(ruleset: Ruleset, lock: Mapping[str, Any]) -> LockReport:
    """Compare a ruleset with its lock; see ``LockReport``."""
    report = LockReport()
    if lock.get("ruleset") not in (None, ruleset.name):
        report.mismatches.append(
            ("ruleset", f"the lock is for ruleset '{lock['ruleset']}', not '{ruleset.name}'"))
        return report
    for rule_id, version, data in versioned_items(ruleset):
        recorded = lock["rules"].get(rule_id, {}).get(version)
        actual = rule_sha256(data)
        where = f"{rule_id} {version}"
        if recorded is None:
            report.unlocked.append((where, "not in the lock yet (a new rule version)"))
        elif recorded != actual:
            report.mismatches.append((where, (
                f"content differs from the hash locked for version {version} "
                f"({recorded[:12]}... locked, {actual[:12]}... now): bump the rule's version "
                "and say why in CHANGELOG.md")))
        else:
            report.locked += 1
    recorded = lock["ruleset_versions"].get(ruleset.version)
    where = f"ruleset {ruleset.name} {ruleset.version}"
    if recorded is None:
        report.unlocked.append((where, "not in the lock yet (a new ruleset version)"))
    elif recorded != ruleset.sha256:
        report.mismatches.append((where, (
            f"ruleset content differs from the hash locked for version {ruleset.version}: "
            "give the ruleset a new version and a CHANGELOG.md entry")))
    else:
        report.locked += 1
    return report


def update_lock(ruleset: Ruleset, lock: Mapping[str, Any] | None,
                changelog: str | Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """Add the ruleset's entries to a lock; return the new lock and the entries added.

    A new ruleset version is locked only when ``changelog`` (a ``CHANGELOG.md``; by default
    the one beside the ruleset's lock file) has a heading for it.

    Raises ``LockError`` naming every rule and version whose locked hash differs (nothing is
    changed then): a released version is never overwritten; and when the changelog does not
    say what changed in a new ruleset version.
    """
    current = copy.deepcopy(dict(lock)) if lock is not None else empty_lock(ruleset.name)
    report = check_lock(ruleset, current)
    if report.mismatches:
        raise LockError([(where, f"refusing to overwrite a locked entry: {message}")
                         for where, message in report.mismatches])
    if ruleset.version not in current["ruleset_versions"]:
        _require_changelog_entry(ruleset, changelog)
    added = []
    for rule_id, version, data in versioned_items(ruleset):
        versions = current["rules"].setdefault(rule_id, {})
        if version not in versions:
            versions[version] = rule_sha256(data)
            added.append(f"{rule_id} {version}")
    if ruleset.version not in current["ruleset_versions"]:
        current["ruleset_versions"][ruleset.version] = ruleset.sha256
        added.append(f"ruleset {ruleset.name} {ruleset.version}")
    current.setdefault("ruleset", ruleset.name)
    return current, added


def _require_changelog_entry(ruleset: Ruleset, changelog: str | Path | None) -> None:
    path = Path(changelog) if changelog is not None else (
        default_lock_path(ruleset.path).parent / "CHANGELOG.md")
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if ruleset.version not in changelog_versions(text):
        raise LockError([(str(path), f"has no '## {ruleset.version}' heading: say what "
                          "changed in this ruleset version before locking it")])


def lock_ruleset(ruleset: Ruleset, lock_path: str | Path | None = None) -> list[str]:
    """Record a ruleset's new entries in its lock file (created if absent); return them.

    The changelog is the ``CHANGELOG.md`` beside the lock file. Nothing is written when
    nothing is new, when the ruleset has a static error (``StaticCheckError``), or when
    ``update_lock`` refuses.
    """
    require_no_static_errors(ruleset)
    path = Path(lock_path) if lock_path is not None else default_lock_path(ruleset.path)
    lock = read_lock(path) if path.exists() else empty_lock(ruleset.name)
    new_lock, added = update_lock(ruleset, lock, path.parent / "CHANGELOG.md")
    if added:
        write_whole(path, render_lock(new_lock))
    return added


def changelog_versions(changelog: str) -> set[str]:
    """The versions a CHANGELOG.md has headings for (``## 1.0.0`` or ``## 1.0.0 - 2026-11-25``)."""
    versions = set()
    for line in changelog.splitlines():
        if line.startswith("## "):
            word = line[3:].strip().split()[0].strip("[]") if line[3:].strip() else ""
            if word[:1].isdigit():
                versions.add(word)
    return versions

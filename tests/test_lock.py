"""Version discipline: the append-only lock of rule and ruleset hashes, and the CHANGELOG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twitchrules import load_ruleset
from twitchrules.resources import bundled_ruleset_path
from twitchrules.ruleset.lock import (
    LockError,
    changelog_versions,
    check_lock,
    default_lock_path,
    read_lock,
    rule_sha256,
    update_lock,
)

from .conftest import STARTER
from .test_audit import by_id, cli, copy_starter, edit_header, edit_rules

BUNDLED = bundled_ruleset_path()
BUNDLED_LOCK = default_lock_path(BUNDLED)
CHANGELOG = BUNDLED.parent / "CHANGELOG.md"


def released_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A starter copy with a CHANGELOG, locked once; returns the folder and its lock file."""
    folder = copy_starter(tmp_path)
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## 0.1.0 - 2026-11-25\n\nFirst.\n",
                                           encoding="utf-8")
    code, out, err = cli("ruleset", "lock", str(folder))
    assert code == 0, err
    return folder, tmp_path / "rs.lock.json"


# ---------------------------------------------------------------- the mechanism, on copies


def test_lock_records_every_rule_version_and_the_ruleset(tmp_path: Path) -> None:
    """lock writes one hash per (rule id, version), the default triage and the ruleset version."""
    folder, lock_path = released_copy(tmp_path)
    lock = read_lock(lock_path)
    ruleset = load_ruleset(folder)
    assert lock["ruleset"] == "twitching"
    assert lock["ruleset_versions"] == {"0.1.0": ruleset.sha256}
    for rule in ruleset.rules:
        assert lock["rules"][rule.id] == {rule.version: rule_sha256(rule.data)}
    assert "TRIAGE-DEFAULT" in lock["rules"]
    code, out, _ = cli("ruleset", "lock", str(folder), "--check")
    assert code == 0 and out.startswith("ok:")


def test_lock_again_adds_nothing(tmp_path: Path) -> None:
    """Locking an unchanged ruleset again adds no entry and leaves the file as it was."""
    folder, lock_path = released_copy(tmp_path)
    before = lock_path.read_bytes()
    code, out, _ = cli("ruleset", "lock", str(folder))
    assert code == 0 and "added 0 entries" in out
    assert lock_path.read_bytes() == before


def test_changed_rule_without_new_version_fails_check_and_lock_refuses(tmp_path: Path) -> None:
    """A rule edited without a version bump fails --check and lock exits 2 naming it."""
    folder, lock_path = released_copy(tmp_path)
    before = lock_path.read_bytes()
    edit_rules(folder, "20-red-flags.yaml",
               lambda rules: by_id(rules, "RF-WEAKNESS")["then"][0]["triage"].update(
                   level="urgent"))
    report = check_lock(load_ruleset(folder), read_lock(lock_path))
    assert [where for where, _ in report.mismatches] == ["RF-WEAKNESS 1.0.0",
                                                         "ruleset twitching 0.1.0"]
    code, _, err = cli("ruleset", "lock", str(folder), "--check")
    assert code == 1
    assert "RF-WEAKNESS 1.0.0" in err
    code, _, err = cli("ruleset", "lock", str(folder))
    assert code == 2
    assert "RF-WEAKNESS 1.0.0: refusing to overwrite a locked entry" in err
    assert lock_path.read_bytes() == before


def test_ruleset_content_changed_without_new_version_fails(tmp_path: Path) -> None:
    """A passage edit (no rule changed) without a new ruleset version is a mismatch."""
    folder, lock_path = released_copy(tmp_path)
    edit_header(folder, lambda doc: doc["passages"][0].update(quote="reworded"))
    report = check_lock(load_ruleset(folder), read_lock(lock_path))
    assert [where for where, _ in report.mismatches] == ["ruleset twitching 0.1.0"]
    with pytest.raises(LockError, match="ruleset twitching 0.1.0"):
        update_lock(load_ruleset(folder), read_lock(lock_path))


def test_new_versions_are_appended_and_old_entries_kept(tmp_path: Path) -> None:
    """Bumping the rule and the ruleset (with a CHANGELOG entry) appends; old hashes stay."""
    folder, lock_path = released_copy(tmp_path)
    old = read_lock(lock_path)

    def bump(rules: list[dict]) -> None:
        rule = by_id(rules, "RF-WEAKNESS")
        rule["version"] = "1.1.0"
        rule["then"][0]["triage"]["level"] = "urgent"
        rules.remove(by_id(rules, "RF-PERSIST"))

    edit_rules(folder, "20-red-flags.yaml", bump)
    edit_header(folder, lambda doc: doc.update(version="0.2.0"))
    report = check_lock(load_ruleset(folder), old)
    assert report.ok
    assert ("RF-WEAKNESS 1.1.0", "not in the lock yet (a new rule version)") in report.unlocked

    code, _, err = cli("ruleset", "lock", str(folder))
    assert code == 2
    assert "CHANGELOG.md: has no '## 0.2.0' heading" in err
    with (tmp_path / "CHANGELOG.md").open("a", encoding="utf-8") as changelog:
        changelog.write("\n## 0.2.0 - 2026-11-26\n\nRF-WEAKNESS 1.1.0: urgent.\n")
    code, out, err = cli("ruleset", "lock", str(folder))
    assert code == 0, err
    assert "+ RF-WEAKNESS 1.1.0" in out and "+ ruleset twitching 0.2.0" in out
    new = read_lock(lock_path)
    assert new["rules"]["RF-WEAKNESS"]["1.0.0"] == old["rules"]["RF-WEAKNESS"]["1.0.0"]
    assert set(new["rules"]["RF-WEAKNESS"]) == {"1.0.0", "1.1.0"}
    assert new["rules"]["RF-PERSIST"] == old["rules"]["RF-PERSIST"]  # removed rules stay
    assert new["ruleset_versions"]["0.1.0"] == old["ruleset_versions"]["0.1.0"]


def test_check_reports_unlocked_versions(tmp_path: Path) -> None:
    """--check exits 1 for a ruleset version that was never locked (not released yet)."""
    folder, lock_path = released_copy(tmp_path)
    edit_header(folder, lambda doc: doc.update(version="0.3.0"))
    code, _, err = cli("ruleset", "lock", str(folder), "--check")
    assert code == 1
    assert "not locked: ruleset twitching 0.3.0" in err


def test_missing_or_foreign_lock_is_reported(tmp_path: Path) -> None:
    """A missing lock names the command that creates it; a lock of another ruleset mismatches."""
    with pytest.raises(LockError, match="twitchrules ruleset lock"):
        read_lock(tmp_path / "absent.lock.json")
    foreign = {"lock_format": 1, "ruleset": "other", "ruleset_versions": {}, "rules": {}}
    assert not check_lock(load_ruleset(STARTER), foreign).ok
    (tmp_path / "bad.lock.json").write_text("{", encoding="utf-8")
    with pytest.raises(LockError, match="cannot be read as JSON"):
        read_lock(tmp_path / "bad.lock.json")


def test_lock_file_option_and_default_path(tmp_path: Path) -> None:
    """The lock lives beside the ruleset by default; --lock-file puts it elsewhere."""
    assert default_lock_path(BUNDLED) == BUNDLED.parent / "twitching.lock.json"
    assert default_lock_path(tmp_path / "one.yaml") == tmp_path / "one.lock.json"
    folder = copy_starter(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "CHANGELOG.md").write_text("## 0.1.0\n", encoding="utf-8")
    code, _, err = cli("ruleset", "lock", str(folder), "--lock-file",
                       str(tmp_path / "elsewhere" / "x.lock.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "elsewhere" / "x.lock.json").read_text())["rules"]


def test_changelog_versions_reads_headings() -> None:
    """Version headings are read with or without a date or brackets."""
    text = "# Changelog\n\n## [1.1.0] - 2026-12-01\n## 1.0.0 - 2026-11-25\n## Unreleased\n"
    assert changelog_versions(text) == {"1.1.0", "1.0.0"}


# ---------------------------------------------------------------- the bundled ruleset


def _bundled_lock() -> dict:
    if not BUNDLED_LOCK.is_file():
        pytest.fail(f"{BUNDLED_LOCK} is missing: release the bundled ruleset with "
                    "`twitchrules ruleset lock` (see docs/audit.md) and commit the lock file")
    return read_lock(BUNDLED_LOCK)


def test_bundled_ruleset_matches_its_lock() -> None:
    """No bundled rule differs from the hash locked for its version, nor the ruleset for its."""
    report = check_lock(load_ruleset(), _bundled_lock())
    assert report.ok, "\n".join(f"{where}: {message}" for where, message in report.mismatches)


def test_bundled_ruleset_version_is_released() -> None:
    """The bundled ruleset's current version and every rule version in it are in the lock."""
    report = check_lock(load_ruleset(), _bundled_lock())
    assert not report.unlocked, (
        "not released: " + ", ".join(where for where, _ in report.unlocked)
        + " (give the ruleset a new version, add a CHANGELOG.md entry, run "
        "`twitchrules ruleset lock`)")


def test_changelog_covers_every_locked_ruleset_version() -> None:
    """rulesets/CHANGELOG.md has a heading for every ruleset version in the lock."""
    locked = set(_bundled_lock()["ruleset_versions"])
    written = changelog_versions(CHANGELOG.read_text(encoding="utf-8"))
    assert locked <= written, f"CHANGELOG.md lacks: {sorted(locked - written)}"

"""Releases: archived, content-addressed ruleset versions that never change, named anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from twitchrules import RulesetError, evaluate, load_ruleset
from twitchrules.resources import bundled_ruleset_path
from twitchrules.ruleset.lock import default_lock_path, read_lock
from twitchrules.ruleset.release import check_archive, release_ruleset
from twitchrules.ruleset.sources import resolve_ruleset

from .conftest import load_example
from .test_audit import cli, copy_starter, edit_header

BUNDLED = bundled_ruleset_path()
LOCK = read_lock(default_lock_path(BUNDLED))


def released_starter(tmp_path: Path) -> tuple[Path, Path]:
    """A starter copy with a CHANGELOG, released once; returns the folder and its lock."""
    folder = copy_starter(tmp_path)
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## 0.1.0 - 2026-11-25\n\nFirst.\n",
                                           encoding="utf-8")
    code, out, err = cli("ruleset", "release", str(folder))
    assert code == 0, err
    assert "released 0.1.0" in out
    return folder, tmp_path / "rs.lock.json"


def test_bundled_archive_is_intact() -> None:
    """Every archived release of the bundled ruleset is exactly as released (CI runs this)."""
    assert "1.0.0" in LOCK["releases"]
    assert check_archive(BUNDLED, LOCK) == []


def test_released_version_hashes_to_its_lock_entry() -> None:
    """twitching@1.0.0 loads the archive, whose content hash is the one locked for 1.0.0."""
    archived = resolve_ruleset("twitching@1.0.0")
    assert archived.version == "1.0.0"
    assert archived.sha256 == LOCK["ruleset_versions"]["1.0.0"] == LOCK["releases"]["1.0.0"]["sha256"]


def test_evaluate_on_a_named_release_and_by_hash() -> None:
    """The API takes name@version and sha256:HEX; both name the same ruleset content."""
    case = load_example("mark.json")
    by_version = evaluate(case, ruleset="twitching@1.0.0")
    sha = LOCK["ruleset_versions"]["1.0.0"]
    by_hash = evaluate(case, ruleset=f"sha256:{sha[:16]}")
    assert by_version.ruleset.sha256 == by_hash.ruleset.sha256 == sha
    assert by_version.to_json() == by_hash.to_json()


def test_cli_evaluate_takes_a_release() -> None:
    """twitchrules evaluate --ruleset twitching@1.0.0 reports that ruleset version."""
    code, out, err = cli("evaluate", "mark.json", "--format", "json", "--ruleset", "twitching@1.0.0")
    assert code == 0, err
    assert json.loads(out)["ruleset"]["version"] == "1.0.0"


def test_unknown_version_and_hash_are_clear_errors() -> None:
    """An unknown version lists the released ones; an unknown hash says it is not archived (exit 2)."""
    with pytest.raises(RulesetError, match=r"twitching@9.9.9: no such released version \(released: .*1\.0\.0"):
        resolve_ruleset("twitching@9.9.9")
    code, _, err = cli("evaluate", "mark.json", "--ruleset", "sha256:" + "0" * 20)
    assert code == 2
    assert "ruleset sha256 not in the archive" in err


def test_a_changed_archive_fails_validation(tmp_path: Path) -> None:
    """Editing a released copy, even a comment, makes validate exit 2 naming the file."""
    folder, _ = released_starter(tmp_path)
    code, out, _ = cli("ruleset", "validate", str(folder))
    assert code == 0 and "1 archived release intact" in out
    archived = folder / "releases" / "0.1.0" / "ruleset.yaml"
    archived.write_text(archived.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    code, _, err = cli("ruleset", "validate", str(folder))
    assert code == 2
    assert "releases/0.1.0/ruleset.yaml: was changed after its release" in err


def test_an_unrecorded_archive_fails_validation(tmp_path: Path) -> None:
    """A release folder the lock does not know about is refused."""
    folder, _ = released_starter(tmp_path)
    shutil.copytree(folder / "releases" / "0.1.0", folder / "releases" / "0.2.0")
    code, _, err = cli("ruleset", "validate", str(folder))
    assert code == 2
    assert "releases/0.2.0: is archived but not recorded in the lock" in err


def test_release_again_is_a_no_op_and_new_versions_need_a_changelog(tmp_path: Path) -> None:
    """Releasing an unchanged version does nothing; a new version needs its CHANGELOG heading."""
    folder, lock_path = released_starter(tmp_path)
    before = lock_path.read_bytes()
    code, out, _ = cli("ruleset", "release", str(folder))
    assert code == 0 and "already released, unchanged" in out
    assert lock_path.read_bytes() == before
    edit_header(folder, lambda doc: doc.update(version="0.2.0", title="A retitled starter"))
    code, _, err = cli("ruleset", "release", str(folder))
    assert code == 2 and "has no '## 0.2.0' heading" in err
    assert not (folder / "releases" / "0.2.0").exists()
    with (tmp_path / "CHANGELOG.md").open("a", encoding="utf-8") as changelog:
        changelog.write("\n## 0.2.0 - 2026-12-03\n\nRetitled.\n")
    report = release_ruleset(folder)
    assert report.version == "0.2.0" and (folder / "releases" / "0.2.0" / "ruleset.yaml").is_file()
    lock = read_lock(lock_path)
    assert set(lock["releases"]) == {"0.1.0", "0.2.0"}
    assert load_ruleset(folder / "releases" / "0.1.0").sha256 == lock["ruleset_versions"]["0.1.0"]
    assert check_archive(folder, lock) == []


def test_a_version_released_with_other_content_is_refused(tmp_path: Path) -> None:
    """Changing content but keeping a released version cannot be released again."""
    folder, _ = released_starter(tmp_path)
    edit_header(folder, lambda doc: doc.update(title="Changed without a new version"))
    code, _, err = cli("ruleset", "release", str(folder))
    assert code == 2
    assert "0.1.0" in err


def test_diff_takes_released_versions() -> None:
    """ruleset diff compares two named rulesets; a version with itself has no changes."""
    code, out, err = cli("ruleset", "diff", "twitching@1.0.0", "twitching@1.0.0", "--format", "json")
    assert code == 0, err
    diff = json.loads(out)
    assert diff["added"] == diff["removed"] == diff["changed"] == []
    assert diff["ruleset"]["content_changed"] is False


def test_git_ref_names_unreleased_work(tmp_path: Path) -> None:
    """git:REF:PATH loads a ruleset as committed; it equals the working copy when unchanged."""
    root = BUNDLED.parent.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    committed = resolve_ruleset(f"git:HEAD:{(BUNDLED.parent / 'twitching').relative_to(root)}")
    assert committed.name == "twitching"
    assert committed.path.startswith("git:HEAD:")
    with pytest.raises(RulesetError, match="no such path in that commit"):
        resolve_ruleset("git:HEAD:rulesets/no-such-ruleset")

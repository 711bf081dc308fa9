"""Release: archive a ruleset version as plain files, content-addressed, and check the archive.

A release copies the ruleset's own files (the header, ``rules/``, and its ``tests/``) to
``<ruleset folder>/releases/<version>/`` and records, in the lock, the version's content
sha256 (``ruleset_versions``) and the sha256 of every archived file (``releases``)::

    "releases": {"1.0.0": {"sha256": "<ruleset sha256>", "path": "releases/1.0.0",
                           "files": {"ruleset.yaml": "<file sha256>", ...}}}

An archived release is never rewritten: ``check_archive`` reports any file added, removed
or changed, and any release whose content no longer hashes to its recorded sha256.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import RulesetError
from ..files import write_whole
from .load import RELEASES, RESERVED, load_ruleset
from .lock import LockError, default_lock_path, empty_lock, read_lock, render_lock, update_lock
from .model import Ruleset
from .statics import require_no_static_errors


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def release_files(folder: Path) -> list[Path]:
    """The files a release of ``folder`` archives (relative paths, sorted): all but other releases."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).parts[0] not in RESERVED - {"tests"}
                  and "__pycache__" not in p.parts)


def archive_path(ruleset_folder: Path, version: str) -> Path:
    """Where the release ``version`` of a ruleset folder is archived."""
    return ruleset_folder / RELEASES / version


@dataclass
class ReleaseReport:
    """What ``release_ruleset`` did: lock entries added and files archived."""

    version: str
    archive: Path
    lock_entries: list[str] = field(default_factory=list)
    archived_files: int = 0
    already_released: bool = False


def release_ruleset(folder: str | Path, lock_path: str | Path | None = None) -> ReleaseReport:
    """Release the ruleset in ``folder``: lock its hashes and archive its files.

    Refuses (``LockError``, exit 2) when a locked hash would change, when CHANGELOG.md beside
    the lock has no heading for the version, when the ruleset has a static error
    (``StaticCheckError``), or when an archive of this version exists with
    other content. Releasing a version already archived unchanged does nothing.
    """
    source = Path(folder)
    if not source.is_dir():
        raise RulesetError([(str(source), "a release is made from a ruleset folder")])
    ruleset = load_ruleset(source)
    lock_file = Path(lock_path) if lock_path is not None else default_lock_path(source)
    lock = read_lock(lock_file) if lock_file.exists() else empty_lock(ruleset.name)
    target = archive_path(source, ruleset.version)
    report = ReleaseReport(ruleset.version, target)
    files = release_files(source)
    hashes = {path.as_posix(): _file_sha256(source / path) for path in files}
    recorded = lock.get("releases", {}).get(ruleset.version)
    if recorded is not None:
        if recorded["files"] != hashes or recorded["sha256"] != ruleset.sha256:
            raise LockError([(f"ruleset {ruleset.name} {ruleset.version}",
                              "is already released with other content: give it a new version")])
        report.already_released = True
        return report
    require_no_static_errors(ruleset)
    new_lock, report.lock_entries = update_lock(ruleset, lock, lock_file.parent / "CHANGELOG.md")
    if target.exists():
        raise LockError([(str(target), "exists but is not recorded in the lock: remove it or "
                          "restore the lock")])
    for path in files:
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / path, target / path)
    new_lock.setdefault("releases", {})[ruleset.version] = {
        "sha256": ruleset.sha256, "path": f"{RELEASES}/{ruleset.version}", "files": hashes}
    write_whole(lock_file, render_lock(new_lock))
    report.archived_files = len(files)
    return report


def check_archive(folder: str | Path, lock: dict[str, Any]) -> list[tuple[str, str]]:
    """Every way the archived releases of ``folder`` differ from what the lock recorded."""
    source = Path(folder)
    problems: list[tuple[str, str]] = []
    releases: dict[str, Any] = lock.get("releases", {})
    root = source / RELEASES
    on_disk = {p.name for p in root.iterdir() if p.is_dir()} if root.is_dir() else set()
    for version in sorted(on_disk - set(releases)):
        problems.append((f"{RELEASES}/{version}", "is archived but not recorded in the lock"))
    for version, entry in sorted(releases.items()):
        where = f"{RELEASES}/{version}"
        target = source / entry["path"]
        if not target.is_dir():
            problems.append((where, "is recorded in the lock but missing"))
            continue
        files = {path.as_posix(): _file_sha256(target / path) for path in release_files(target)}
        for name in sorted(set(entry["files"]) | set(files)):
            if name not in files:
                problems.append((f"{where}/{name}", "was removed from a released archive"))
            elif name not in entry["files"]:
                problems.append((f"{where}/{name}", "was added to a released archive"))
            elif files[name] != entry["files"][name]:
                problems.append((f"{where}/{name}", "was changed after its release"))
        if problems:
            continue
        archived: Ruleset = load_ruleset(target)
        expected = lock["ruleset_versions"].get(version)
        if archived.version != version or archived.sha256 != entry["sha256"] or (
                expected is not None and expected != archived.sha256):
            problems.append((where, "does not hash to the sha256 recorded for its version"))
    return problems

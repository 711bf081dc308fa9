"""Sources: where a ruleset comes from, named the ways a user names one.

A ruleset is named by

* nothing: the bundled ruleset as it stands;
* a path: a ruleset file or folder;
* ``NAME@VERSION`` (``twitching@1.0.0``): a released version, from the archive of the
  bundled ruleset ``NAME`` (or the current folder, if that is the version it holds);
* ``sha256:HEX``: the released (or current bundled) version whose content hash is ``HEX``
  (at least 12 hex digits of it);
* ``git:REF:PATH``: the ruleset at ``PATH`` as it is in the git commit ``REF`` of the
  repository the current directory is in (for comparing unreleased work).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path

from ..errors import RulesetError
from ..resources import data_dir
from .load import RELEASES, load_ruleset
from .model import Ruleset

RulesetSpec = Ruleset | str | Path | None
"""Anything that names a ruleset: a loaded one, a path, a name@version, a sha256: or git: spec."""

_AT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)@(?P<version>[0-9][0-9A-Za-z.+-]*)$")
_SHA = re.compile(r"^sha256:(?P<hex>[0-9a-f]{12,64})$")


def _bundled_root() -> Path:
    return data_dir("rulesets")


def released_versions(name: str) -> dict[str, Path]:
    """The versions of the bundled ruleset ``name`` that can be loaded, with their folders."""
    folder = _bundled_root() / name
    found: dict[str, Path] = {}
    lock_file = _bundled_root() / f"{name}.lock.json"
    if lock_file.is_file():
        lock = json.loads(lock_file.read_text(encoding="utf-8"))
        for version, entry in lock.get("releases", {}).items():
            found[version] = folder / entry["path"]
    return found


def _candidates() -> Iterator[tuple[str, Path]]:
    """Every loadable bundled ruleset folder: each current one, then each release."""
    root = _bundled_root()
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        yield folder.name, folder
        for path in released_versions(folder.name).values():
            yield folder.name, path


def _by_version(name: str, version: str) -> Ruleset:
    folder = _bundled_root() / name
    releases = released_versions(name)
    if version in releases:
        return load_ruleset(releases[version])
    if folder.is_dir():
        current = load_ruleset(folder)
        if current.version == version:
            return current
    known = sorted(releases) or ["none"]
    raise RulesetError([(f"{name}@{version}", f"no such released version (released: "
                         f"{', '.join(known)})")])


def _by_sha256(prefix: str) -> Ruleset:
    lock_files = sorted(_bundled_root().glob("*.lock.json"))
    for lock_file in lock_files:
        lock = json.loads(lock_file.read_text(encoding="utf-8"))
        for entry in lock.get("releases", {}).values():
            if entry["sha256"].startswith(prefix):
                return load_ruleset(_bundled_root() / lock["ruleset"] / entry["path"])
    for _, folder in _candidates():
        ruleset = load_ruleset(folder)
        if ruleset.sha256.startswith(prefix):
            return ruleset
    raise RulesetError([(f"sha256:{prefix}", "ruleset sha256 not in the archive")])


def _git(*args: str, top: Path | None = None) -> bytes:
    import subprocess  # here, with tempfile below: only a git: spec needs them

    return subprocess.run(["git", *(["-C", str(top)] if top else []), *args],
                          capture_output=True, check=True).stdout


def _from_git(ref: str, path: str) -> Ruleset:
    """Load the ruleset file or folder ``path`` as it is in commit ``ref`` (via a temp copy)."""
    import subprocess
    import tempfile

    where = f"git:{ref}:{path}"
    try:
        top = Path(_git("rev-parse", "--show-toplevel").decode().strip())
        relative = (Path.cwd() / path).resolve().relative_to(top.resolve()).as_posix()
        names = _git("ls-tree", "-r", "--name-only", "--full-tree", ref, "--", relative,
                     top=top).decode().split("\n")
    except (OSError, ValueError, subprocess.CalledProcessError) as error:
        raise RulesetError([(where, f"cannot be read from git: {error}")]) from None
    names = [name for name in names if name]
    if not names:
        raise RulesetError([(where, "no such path in that commit")])
    with tempfile.TemporaryDirectory(prefix="twitchrules-git-") as tmp:
        single = names == [relative]
        root = Path(tmp) / Path(relative).name
        for name in names:
            target = root if single else root / Path(name).relative_to(relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(_git("show", f"{ref}:{name}", top=top))
        loaded = load_ruleset(root)
    return dataclasses.replace(loaded, path=where)


def resolve_ruleset(spec: RulesetSpec) -> Ruleset:
    """The ruleset a spec names (see the module docstring); raises ``RulesetError``."""
    if isinstance(spec, Ruleset):
        return spec
    if spec is None:
        return load_ruleset()
    text = str(spec)
    if isinstance(spec, str):
        if match := _AT.match(text):
            return _by_version(match["name"], match["version"])
        if match := _SHA.match(text):
            return _by_sha256(match["hex"])
        if text.startswith("git:"):
            ref, _, path = text[4:].partition(":")
            if not ref or not path:
                raise RulesetError([(text, "a git ruleset is named git:REF:PATH")])
            return _from_git(ref, path)
    return load_ruleset(Path(text))


__all__ = ["RELEASES", "RulesetSpec", "released_versions", "resolve_ruleset"]

"""Disk cache: where checked rulesets and compiled engine images are kept between processes.

The cache lives in the user's cache directory, ``$XDG_CACHE_HOME/twitchrules`` (by default
``~/.cache/twitchrules``), or where ``TWITCHRULES_CACHE_DIR`` says. It is turned off by
``TWITCHRULES_NO_CACHE=1`` (any value but ``""`` and ``0``) or by the CLI's ``--no-cache``
(which calls ``disable``). Nothing in it is needed: every entry is rebuilt when missing,
unreadable or corrupt, so deleting the folder is always safe.

An entry's name is a digest of everything it depends on (see ``entry_name``); an entry is
written to a temporary file in the same folder and renamed into place, so two processes
starting at once each see a whole file or none, and the last rename wins with the same
content. A *sealed* entry's name also ends with a digest of its own bytes
(``<prefix>-<digest><suffix>``, see ``write_sealed``): a reader checks those bytes against
it, so a damaged entry is caught by one hash of what is read, without parsing it. Shared
leaf: imports nothing of twitchrules.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ENV_DIR = "TWITCHRULES_CACHE_DIR"
"""The environment variable that moves the cache folder."""

ENV_OFF = "TWITCHRULES_NO_CACHE"
"""The environment variable that turns the cache off (``1``; ``0`` or empty leave it on)."""

_disabled = False


def disable() -> None:
    """Turn the disk cache off for the rest of this process (``--no-cache``)."""
    global _disabled
    _disabled = True
    os.environ[ENV_OFF] = "1"  # processes started from here (workers) do the same


def cache_dir() -> Path | None:
    """The cache folder (not created yet), or ``None`` when the cache is turned off."""
    if _disabled or os.environ.get(ENV_OFF, "") not in ("", "0"):
        return None
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "twitchrules"


def entry_name(kind: str, *parts: str | bytes) -> str:
    """A file name for an entry of ``kind`` that depends on exactly ``parts``."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return f"{kind}-{digest.hexdigest()[:40]}"


def read_entry(name: str) -> bytes | None:
    """The bytes of entry ``name``, or ``None`` (cache off, missing or unreadable)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        return (folder / name).read_bytes()
    except OSError:
        return None


def entry_path(name: str) -> Path | None:
    """The path of entry ``name`` when it exists and the cache is on, else ``None``."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / name
    return path if path.is_file() else None


def write_entry(name: str, data: bytes) -> bool:
    """Write entry ``name`` whole (temporary file + rename); ``False`` when it could not."""
    folder = cache_dir()
    if folder is None:
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
        import tempfile  # only when writing: a warm process never needs it

        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def forget_entry(name: str) -> None:
    """Remove entry ``name`` (found corrupt), ignoring a file another process removed or a
    folder this user cannot change."""
    folder = cache_dir()
    if folder is not None:
        try:
            (folder / name).unlink(missing_ok=True)
        except OSError:  # a folder this user may read but not change: the entry stays unused
            pass


def sealed_digest(data: bytes) -> str:
    """The digest a sealed entry's name ends with: the first 32 hex digits of its sha256."""
    return hashlib.sha256(data).hexdigest()[:32]


def write_sealed(prefix: str, data: bytes, suffix: str = "") -> bool:
    """Write ``data`` as the sealed entry ``<prefix>-<digest of data><suffix>``; ``False``
    when it could not be written."""
    return write_entry(f"{prefix}-{sealed_digest(data)}{suffix}", data)


def find_sealed(prefix: str, suffix: str = "") -> tuple[Path, bytes] | None:
    """A sealed entry of ``prefix`` whose bytes match the digest in its name, with those bytes;
    ``None`` when the cache is off or there is none. Entries that do not match are removed."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        found = sorted(folder.glob(f"{prefix}-*{suffix}"))
    except OSError:  # a folder that cannot be listed: no cache, not a failure
        return None
    for path in found:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if path.name == f"{prefix}-{sealed_digest(data)}{suffix}":
            return path, data
        forget_entry(path.name)
    return None

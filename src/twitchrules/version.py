"""Version: the installed package's version, read once from its metadata."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("twitchrules")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"

"""Version: the package's version, written here once (the build reads it, see pyproject.toml).

A literal, not a metadata lookup: ``importlib.metadata`` costs a process tens of
milliseconds at startup. ``tests/test_api.py`` checks that the installed package's metadata
says the same.
"""

from __future__ import annotations

__version__ = "0.1.0"

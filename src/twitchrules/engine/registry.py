"""Registry: the engine names, which of them run on this Python, and the one place a name is chosen.

Each backend module imports its library at the top; the registry imports the module on
first use and takes an ``ImportError`` to mean "not usable here" (durable-rules does not
import on CPython 3.13+). So an engine nobody asks for is never imported.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Protocol

from ..case.facts import FactValue
from ..errors import EngineError
from .program import Program
from .session import EngineRun

ENGINES: tuple[str, ...] = ("durable", "clips")
"""Every engine name twitchrules knows, whether or not it runs on this Python."""

_MODULES = {"durable": "durable_backend", "clips": "clips_backend"}


class Backend(Protocol):
    """A forward-chaining backend that runs a compiled program on one case's facts."""

    name: str
    version: str

    def run(self, facts: dict[str, FactValue]) -> EngineRun:
        """Run the program on the facts of one case, isolated from every other case."""
        ...


class EngineUnavailable(EngineError):
    """An engine was asked for that is unknown or does not run on this Python (exit 2)."""

    exit_code = 2


@cache
def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"{__package__}.{_MODULES[name]}")
    except ImportError:
        return None


def available_engines() -> list[str]:
    """The engine names usable on this interpreter, e.g. ``["durable", "clips"]``."""
    return [name for name in ENGINES if _module(name) is not None]


DEFAULT: str = "clips"
"""The default engine: CLIPS, the fastest engine proven to give the same results as the
reference, durable-rules (every case file and a synthetic cohort are compared on both in
``tests/test_engine_conformance.py``; figures in docs/performance.md)."""


def default_engine() -> str:
    """The default engine: CLIPS (``DEFAULT``) where it imports, else the first usable one.

    Only the default's module is imported when it is usable, so choosing it never imports
    another engine's library.
    """
    if _module(DEFAULT) is not None:
        return DEFAULT
    engines = available_engines()
    if not engines:
        raise EngineError("no rule engine backend can be used on this Python")
    return engines[0]


def choose_engine(name: str | None) -> str:
    """The engine to run: ``name`` checked, or the default; raises ``EngineUnavailable``."""
    if name is None:
        return default_engine()
    if name not in ENGINES:
        raise EngineUnavailable(f"unknown engine '{name}' (known: {', '.join(ENGINES)})")
    if _module(name) is None:
        raise EngineUnavailable(f"engine '{name}' is not available on this Python")
    return name


def create_backend(program: Program, name: str) -> Backend:
    """A new backend ``name`` (already chosen) with ``program`` built into it."""
    module = _module(choose_engine(name))
    assert module is not None  # choose_engine refused an unusable engine
    backend: Backend = module.create(program)
    return backend

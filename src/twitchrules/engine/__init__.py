"""Engine: the one interface between twitchrules and a forward-chaining backend.

``get_backend(program, name)`` returns an object with ``name``, ``version`` and
``run(facts) -> EngineRun``. Nothing outside this package knows which backend runs.
"""

from __future__ import annotations

import threading
from typing import Protocol

from .._errors import EngineError
from .._facts import FactValue
from .._ruleset import Ruleset
from . import _clips, _durable
from ._program import Program, compile_program
from ._session import EngineRun

__all__ = ["Backend", "EngineRun", "Program", "available_engines", "compile_program",
           "default_engine", "get_backend"]


class Backend(Protocol):
    """A forward-chaining backend that runs a compiled program on one case's facts."""

    name: str
    version: str

    def run(self, facts: dict[str, FactValue]) -> EngineRun:
        """Run the program on the facts of one case, isolated from every other case."""
        ...


_BACKENDS = {"durable": _durable, "clips": _clips}


def available_engines() -> list[str]:
    """The engine names usable on this interpreter, e.g. ``["durable"]``."""
    return [name for name, module in _BACKENDS.items() if module.available()]


def default_engine() -> str:
    """The default engine: durable-rules where it imports, else the first usable one."""
    engines = available_engines()
    if not engines:
        raise EngineError("no rule engine backend can be used on this Python")
    return "durable" if "durable" in engines else engines[0]


_COMPILED: dict[tuple[str, str], Backend] = {}
_COMPILED_LOCK = threading.Lock()


def _backend(ruleset: Ruleset, name: str) -> Backend:
    # Compiled once per (ruleset content, engine): a durable-rules ruleset can never be
    # unregistered, so recompiling the same content would only grow the host.
    key = (ruleset.sha256, name)
    with _COMPILED_LOCK:
        if key not in _COMPILED:
            program = compile_program(ruleset)
            _COMPILED[key] = _BACKENDS[name].create(program)
        return _COMPILED[key]


def get_backend(ruleset: Ruleset, name: str | None = None) -> Backend:
    """The backend ``name`` (default: ``default_engine()``) with ``ruleset`` compiled into it."""
    name = name or default_engine()
    if name not in _BACKENDS:
        raise EngineError(f"unknown engine '{name}' (known: {', '.join(_BACKENDS)})")
    if name not in available_engines():
        raise EngineError(f"engine '{name}' cannot be used on this Python")
    return _backend(ruleset, name)

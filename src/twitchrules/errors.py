"""Errors: every failure twitchrules reports, one branch per phase.

The exception tree::

    TwitchrulesError                 base; carries ``exit_code``
     +-- CaseError                   an input case breaks the contract (exit 2)
     +-- RulesetError                a ruleset file is missing, malformed or inconsistent (exit 2)
     +-- EngineError                 the rule engine failed while evaluating (exit 1)
     +-- ReplayError                 a batch or impact job cannot run: unreadable input, an
                                 unreachable scheduler, workers that differ (exit 2)
     +-- ExtraMissing                a command needs an optional extra that is not installed
                                 (exit 2, naming the extra and how to install it)
     +-- OutputError                 an output file cannot be written: no such folder, no
                                 space, a file size limit (exit 2; its target is left as it was)

Each leaf carries ``problems``: a list of ``(location, message)`` pairs, where the location
names the offending field (``findings.weaknes``, ``rules/20-red-flags.yaml: RF-SPREAD: when``).
"""

from __future__ import annotations

from collections.abc import Sequence


class TwitchrulesError(Exception):
    """Base class of every error twitchrules raises on purpose."""

    exit_code: int = 1

    def __init__(self, problems: Sequence[tuple[str, str]] | str) -> None:
        if isinstance(problems, str):
            problems = [("", problems)]
        self.problems: list[tuple[str, str]] = list(problems)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """All problems as one text, one per line, each led by its location."""
        return "\n".join(f"{loc}: {msg}" if loc else msg for loc, msg in self.problems)


class CaseError(TwitchrulesError):
    """An input case breaks the case contract; ``problems`` names every offending field."""

    exit_code = 2


class RulesetError(TwitchrulesError):
    """A ruleset cannot be loaded: schema violation or semantic inconsistency."""

    exit_code = 2


class EngineError(TwitchrulesError):
    """The rule engine failed while evaluating a case."""

    exit_code = 1


class ReplayError(TwitchrulesError):
    """A population job (batch, impact) cannot run: its input, its cluster or its workers."""

    exit_code = 2


def install_command(extra: str) -> str:
    """How to install an extra: twitchrules is installed from its checkout, not a package index."""
    return f'pip install ".[{extra}]" in the twitchrules checkout'


class ExtraMissing(TwitchrulesError):
    """A command or option needs an optional extra (``service``, ``scale``) that is not installed."""

    exit_code = 2

    def __init__(self, extra: str, missing: str | None, location: str = "") -> None:
        self.extra = extra
        what = f" ({missing} is missing)" if missing else ""
        super().__init__([(location, f"this needs the '{extra}' extra{what}: {install_command(extra)}")])


class OutputError(TwitchrulesError):
    """An output file cannot be written; the location is its path, the message the system's reason."""

    exit_code = 2

"""durable-rules specifics: per-case state is released and sessions do not accumulate."""

from __future__ import annotations

from pathlib import Path

import pytest

from twitchrules import evaluate, load_ruleset
from twitchrules.engine import available_engines, get_backend

from .conftest import base_case

pytestmark = pytest.mark.skipif("durable" not in available_engines(),
                                reason="durable-rules does not import on this Python")


def test_state_is_released_after_each_case(starter_ruleset: Path) -> None:
    """After an evaluation the durable-rules session no longer exists (error 309: no state)."""
    from twitchrules.engine import durable_backend

    evaluate(base_case(weakness=True), ruleset=starter_ruleset, engine="durable")
    backend = get_backend(load_ruleset(starter_ruleset), "durable")
    assert isinstance(backend, durable_backend.DurableBackend)
    with pytest.raises(Exception, match="309"):
        backend._host.get_facts(backend._ruleset_name, "case")


def test_more_cases_than_the_session_limit(starter_ruleset: Path) -> None:
    """Far more than 1024 cases run in one process (durable-rules caps open sessions)."""
    for age in range(2000):
        case = base_case(weakness=age % 2 == 0)
        case["patient"]["age"] = age % 120
        evaluate(case, ruleset=starter_ruleset, engine="durable")

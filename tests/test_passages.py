"""Passages: every quoted article passage is cited by a rule, and every citing rule fires in a case file."""

from __future__ import annotations

import json
from functools import lru_cache

import pytest

from twitchrules import evaluate, load_ruleset

from .conftest import CASES_DIR, ROOT

ARTICLE = ROOT.parent / "shared" / "seed" / "muscle-twitching-article.txt"
BUNDLED = load_ruleset()


@lru_cache(maxsize=1)
def fired_in_cases() -> frozenset[str]:
    """Ids of every rule that fires in at least one case file."""
    fired: set[str] = set()
    for path in sorted(CASES_DIR.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))["case"]
        fired.update(entry.rule for entry in evaluate(case).trace)
    return frozenset(fired)


@lru_cache(maxsize=1)
def citing_rules() -> dict[str, list[str]]:
    """Passage id -> ids of the rules whose provenance cites it."""
    ruleset = BUNDLED
    citing: dict[str, list[str]] = {pid: [] for pid in ruleset.passages}
    for rule in ruleset.rules:
        passage = rule.provenance["source"].get("passage")
        if passage is not None:
            citing.setdefault(passage, []).append(rule.id)
    return citing


PASSAGE_IDS = sorted(BUNDLED.passages)


def test_passages_listed() -> None:
    """The bundled ruleset lists the article's actionable passages."""
    assert len(PASSAGE_IDS) >= 30


@pytest.mark.parametrize("passage_id", PASSAGE_IDS)
def test_passage_is_cited(passage_id: str) -> None:
    """Each passage is cited by at least one rule."""
    assert citing_rules()[passage_id], f"passage {passage_id} is cited by no rule"


@pytest.mark.parametrize("passage_id", PASSAGE_IDS)
def test_citing_rules_fire_in_some_case(passage_id: str) -> None:
    """Every rule citing a passage fires in at least one case file."""
    silent = [rule for rule in citing_rules()[passage_id] if rule not in fired_in_cases()]
    assert not silent, f"rules citing {passage_id} fire in no case file: {silent}"


def test_every_rule_fires_in_some_case() -> None:
    """Every rule of the bundled ruleset, cited passage or reference, fires in some case file."""
    silent = [rule.id for rule in BUNDLED.rules if rule.id not in fired_in_cases()]
    assert not silent, f"rules that fire in no case file: {silent}"


@pytest.mark.skipif(not ARTICLE.exists(), reason="seed article not available next to the repo")
@pytest.mark.parametrize("passage_id", PASSAGE_IDS)
def test_passage_quote_is_verbatim(passage_id: str) -> None:
    """Each article passage is quoted word for word from the seed article."""
    passage = BUNDLED.passages[passage_id]
    if passage["source"] == "article":
        assert passage["quote"] in ARTICLE.read_text(encoding="utf-8")


def test_provenance_is_honest() -> None:
    """No rule claims a review: every rule is a draft with no reviewer."""
    for rule in BUNDLED.rules:
        assert rule.provenance["status"] == "draft", rule.id
        assert rule.provenance["reviewer"] is None, rule.id
        assert rule.provenance["author"] == "twitchrules project", rule.id

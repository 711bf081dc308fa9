"""Explain: why a result is what it is, why not something else, and what would change it.

``build.explain`` gives, for the triage and each differential entry, the supporting,
conflicting and unconfirmed findings in clinician words; ``nearness`` reads the rules'
conditions on the case's facts for the why-not (the nearest rules that did not fire and
which tests failed); ``routes`` proposes one or two finding changes from those conditions
and ``whatif`` decides each by re-running the real engine (``pipeline.evaluate``) on the
changed case, within a cap of engine runs; ``render`` writes text, JSON and an HTML section;
``questions`` orders the unknown inputs by what their answer could change (``next_questions``).

May import: ``twitchrules.pipeline``, ``twitchrules.case``, ``twitchrules.ruleset``,
``twitchrules.engine`` (the ruleset cache only), ``twitchrules.conclusions``,
``twitchrules.outputs``, ``twitchrules.templates``, ``twitchrules.errors``,
``twitchrules.version``.
"""

from .build import explain, explain_result
from .model import (
    Change,
    ConditionGrounds,
    Explanation,
    FailedTest,
    NearMiss,
    TriageGrounds,
    WhatIf,
    WhatIfSearch,
    WhyNotCondition,
    WhyNotLevel,
)
from .questions import NextQuestion, NextQuestions, next_questions, questions_for
from .whatif import DEFAULT_MAX_RUNS

__all__ = [
    "DEFAULT_MAX_RUNS",
    "Change",
    "ConditionGrounds",
    "Explanation",
    "FailedTest",
    "NearMiss",
    "NextQuestion",
    "NextQuestions",
    "TriageGrounds",
    "WhatIf",
    "WhatIfSearch",
    "WhyNotCondition",
    "WhyNotLevel",
    "explain",
    "explain_result",
    "next_questions",
    "questions_for",
]

"""Population: replay many cases at once, on one laptop or a Dask cluster.

``cohort`` draws a realistic synthetic cohort (``twitchrules synth``); ``lines`` reads
JSON-lines input in numbered chunks; ``work`` is what runs on a worker (evaluate a chunk,
compare a chunk on two rulesets); ``runners`` hands chunks to this process or to Dask
distributed with a bounded number in flight; ``batch`` writes results in input order;
``delta`` and ``impact`` compare two rulesets case by case and attribute each change to
the rules and definitions behind it; ``report`` renders the impact as text, JSON and HTML.

May import: ``twitchrules.pipeline``, ``twitchrules.case``, ``twitchrules.ruleset``,
``twitchrules.engine``, ``twitchrules.conclusions``, ``twitchrules.outputs``,
``twitchrules.templates``, ``twitchrules.errors``, ``twitchrules.version``. Dask is imported
only when a job runs on it (the ``scale`` extra).
"""

from .batch import BatchInterrupted, BatchSummary, Progress, batch, refused_path_for
from .cohort import DEFAULT_MIX, MIXES, Mix, cohort_cases, write_cohort
from .impact import FAIL_ON, ImpactReport, impact
from .report import IMPACT_FORMATS, render_impact
from .runners import dask_available, open_runner

__all__ = [
    "DEFAULT_MIX",
    "FAIL_ON",
    "IMPACT_FORMATS",
    "MIXES",
    "BatchInterrupted",
    "BatchSummary",
    "ImpactReport",
    "Mix",
    "Progress",
    "batch",
    "cohort_cases",
    "dask_available",
    "impact",
    "open_runner",
    "refused_path_for",
    "render_impact",
    "write_cohort",
]

"""Verify: check past decisions and a ruleset's own tests by evaluating again.

``suite`` runs a ruleset's expected-outcome case files (``ruleset test``) and gives their
rule coverage; ``reproduce`` re-runs one recorded result on the ruleset it names (found in
the archive by its sha256) and compares it field by field; ``records`` does the same for a
batch results file with its cases file, and finds a case in a service audit log by its
canonical sha256; ``pack`` gathers what each page of the regulatory pack needs (the trace
page runs the ruleset's own tests) and has ``twitchrules.ruleset`` build it; ``feedback``
tallies what clinicians did with the cards of a service audit log (accepted, overridden,
ignored) and ``feedback_render`` writes it as text, JSON or HTML with an inline SVG chart.

May import: ``twitchrules.case``, ``twitchrules.ruleset``, ``twitchrules.engine``,
``twitchrules.conclusions``, ``twitchrules.pipeline``, ``twitchrules.templates``,
``twitchrules.errors``, ``twitchrules.version``. It sits beside the pipeline's callers (cli, service) and below them.
"""

from .records import AuditCheck, BatchReport, verify_audit, verify_batch
from .reproduce import Difference, Verification, VerifyInputError, verify_result
from .suite import CaseOutcome, SuiteReport, run_ruleset_tests

__all__ = [
    "AuditCheck",
    "BatchReport",
    "CaseOutcome",
    "Difference",
    "SuiteReport",
    "Verification",
    "VerifyInputError",
    "run_ruleset_tests",
    "verify_audit",
    "verify_batch",
    "verify_result",
]

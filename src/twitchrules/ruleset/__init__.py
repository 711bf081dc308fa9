"""Ruleset: the rules as data, and their life: load, validate, lock, diff, audit.

``conditions`` is the rule language's condition tree and its three-valued logic; ``model``
the loaded ``Ruleset`` and ``Rule``; ``load`` reads a file or folder; ``validate`` checks a
document (schema, then semantics); ``words`` puts conditions and conclusions into words;
``lock``, ``diff`` and ``audit`` serve the reviewer and the auditor; ``situations`` and
``statics`` are the static checks (validate, lock, release); ``reviews`` is the append-only
review log; ``hazards``, ``regulatory`` and ``traceability`` build the regulatory pack.

May import: ``twitchrules.case`` (the contract's facts and words), ``twitchrules.errors``,
``twitchrules.resources``, ``twitchrules.templates``. Nothing here runs an engine.
"""

from .load import is_valid_ruleset, load_ruleset, read_merged
from .model import Rule, Ruleset, canonical_sha256
from .validate import ruleset_from_document

__all__ = [
    "Rule",
    "Ruleset",
    "canonical_sha256",
    "is_valid_ruleset",
    "load_ruleset",
    "read_merged",
    "ruleset_from_document",
]

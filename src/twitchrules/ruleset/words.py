"""Words: a rule's condition and conclusions as one line of text each, in one place.

Two styles of the same wording: ``trace`` (short, what a result's trace says a rule
concluded) and ``audit`` (the reviewer's long form, with reasons, evidence and texts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

Style = Literal["trace", "audit"]

_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

# kind -> (trace form, audit form); fields are the conclusion's body plus ``findings_list``.
_CONCLUSIONS: dict[str, tuple[str, str]] = {
    "assert": ("assert {body}", "asserts {body}"),
    "triage": ("triage {level}: {timeframe}", "triage {level}: {timeframe} ({reason})"),
    "checklist": ("checklist {item}: {status}", "checklist item {item} {status}: {evidence}"),
    "evidence": ("evidence {direction} {condition} ({weight}): {findings_list}",
                 "evidence {direction} {condition} (weight {weight}; {findings_list})"),
    "recommend": ("recommend {id}", "recommends: {text} [{source}]"),
    "notice": ("notice {code}", "notice {code}: {message}"),
}


def conclusion_text(conclusion: Mapping[str, Any], style: Style = "audit") -> str:
    """One conclusion in words, e.g. ``triage prompt: see a neurologist within 2-3 weeks``."""
    ((kind, body),) = conclusion.items()
    forms = _CONCLUSIONS.get(kind)
    if forms is None:  # pragma: no cover - validation refuses unknown kinds
        return f"{kind}: {json.dumps(body)}"
    fields: dict[str, Any] = dict(body) if isinstance(body, Mapping) else {}
    fields["body"] = body
    if "findings" in fields:
        fields["findings_list"] = ", ".join(fields["findings"])
    text = forms[style == "audit"].format(**fields)
    if style == "audit":  # where the conclusion applies, for the reviewer (never in the trace)
        if "within" in fields:
            text += f" [within: {fields['within']}]"
        if "up_to_level" in fields:
            text += f" (not beside a triage above {fields['up_to_level']})"
        if "unless" in fields:
            text += f" (not when {' or '.join(fields['unless'])})"
    return text


def condition_text(when: Mapping[str, Any]) -> str:
    """A rule condition in words, e.g. ``weakness is true and (age >= 50 or ...)``."""
    if "all" in when:
        parts = [condition_text(part) for part in when["all"]]
        return " and ".join(f"({p})" if " or " in p else p for p in parts) or "always"
    if "any" in when:
        return " or ".join(condition_text(part) for part in when["any"]) or "never"
    fact = when["fact"]
    if "is" in when:
        return f"{fact} is {json.dumps(when['is'])}"
    if "in" in when:
        return f"{fact} in {', '.join(json.dumps(v) for v in when['in'])}"
    for op, sign in _COMPARISONS.items():
        if op in when:
            return f"{fact} {sign} {when[op]}"
    return json.dumps(when)  # pragma: no cover - the schema allows nothing else

"""HTML report: a result -> one self-contained page a clinician reads (no scripts, no links out).

Every line of the page names the rules behind it, each with its version and its source:
the passage label and the quoted passage from the ruleset, or the reference it cites.
All text is escaped with ``html.escape``; the page has inline CSS and loads nothing.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._result import Result
from ._ruleset import Ruleset

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;
margin:1.5rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;
margin-top:1.8rem}table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}.level{display:inline-block;padding:.2rem .6rem;border-radius:.3rem;
font-weight:bold;text-transform:uppercase;color:#fff;background:#555}
.level-self-care{background:#2e7d32}.level-monitor{background:#1565c0}
.level-prompt{background:#ef6c00}.level-urgent{background:#c62828}
.level-immediate{background:#6a1b9a}.cite{font-size:.85rem;color:#444;margin:.15rem 0}
.cite q{font-style:italic}.notice{border-left:4px solid #c62828;background:#fff4f4;
padding:.4rem .7rem;margin:.4rem 0}.status-met{color:#b71c1c;font-weight:bold}
.status-unknown{color:#6d4c41}.muted{color:#666;font-size:.85rem}code{font-size:.9em}
blockquote{margin:.3rem 0 .3rem 1rem;color:#444;font-style:italic}
@media print{.level{border:1px solid #000;color:#000;background:none}}
"""


def page(title: str, body: str) -> str:
    """A complete HTML5 document with the report's inline CSS around ``body`` (already escaped)."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        # Nothing may load or run: the page is a self-contained record.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


@dataclass(frozen=True)
class _Citation:
    version: str
    label: str
    quote: str | None


def _citations(result: Result, ruleset: Ruleset | None) -> dict[str, _Citation]:
    """Rule id -> version and source, from the ruleset, else from the trace."""
    cites = {entry.rule: _Citation(entry.version, entry.source, None) for entry in result.trace}
    if ruleset is None:
        return cites
    items: list[Mapping[str, Any]] = [rule.data for rule in ruleset.rules]
    items.append(ruleset.data["triage_default"])
    for data in items:
        source = data["provenance"]["source"]
        passage = ruleset.passages.get(source.get("passage", ""))
        if passage is not None:
            cites[data["id"]] = _Citation(data["version"], str(passage["label"]),
                                          str(passage["quote"]))
        else:
            words = "; ".join(str(source[k]) for k in ("reference", "note") if k in source)
            cites[data["id"]] = _Citation(data["version"], words, None)
    return cites


class _Writer:
    def __init__(self, cites: Mapping[str, _Citation]) -> None:
        self.cites = cites

    def rules(self, rule_ids: Iterable[str]) -> str:
        """One line per rule: id, version, source label and quoted passage."""
        out = []
        for rule_id in rule_ids:
            cite = self.cites.get(rule_id)
            if cite is None:
                out.append(f"<div class=\"cite\">rule <code>{_e(rule_id)}</code></div>")
                continue
            quote = f" &mdash; <q>{_e(cite.quote)}</q>" if cite.quote else ""
            out.append(
                f"<div class=\"cite\">rule <code>{_e(rule_id)}</code> v{_e(cite.version)}"
                f" &middot; source: {_e(cite.label)}{quote}</div>"
            )
        return "".join(out)


def _e(value: Any) -> str:
    return html.escape(str(value))


def _list(items: Iterable[str]) -> str:
    return ", ".join(_e(i) for i in items) or "&mdash;"


def render_html(result: Result, ruleset: Ruleset | None = None) -> str:
    """The result as a self-contained HTML page.

    Pass the ``Ruleset`` that produced the result to quote each rule's source passage;
    without it the page names each fired rule's version and source label from the trace.
    Raises ``ValueError`` when the ruleset is not the one that produced the result.
    """
    if ruleset is not None and ruleset.sha256 != result.ruleset.sha256:
        raise ValueError("the ruleset given is not the one that produced this result "
                         f"({ruleset.sha256[:12]}... vs {result.ruleset.sha256[:12]}...)")
    w = _Writer(_citations(result, ruleset))
    triage = result.triage
    parts = [
        "<header><h1>Muscle twitching: decision support report</h1>",
        f"<p class=\"muted\">Ruleset {_e(result.ruleset.name)} {_e(result.ruleset.version)} "
        f"&middot; twitchrules {_e(result.package_version)} &middot; engine "
        f"{_e(result.engine.name)} {_e(result.engine.version)}</p></header>",
    ]
    parts += [f"<div class=\"notice\" id=\"notice-{_e(n.code)}\"><strong>{_e(n.code)}:</strong> "
              f"{_e(n.message)}</div>" for n in result.notices]

    parts.append("<section id=\"triage\"><h2>Triage</h2>")
    parts.append(f"<p><span class=\"level level-{_e(triage.level)}\">{_e(triage.level)}</span> "
                 f"{_e(triage.timeframe)}</p><p>Reasons:</p><ul>")
    parts += [f"<li>{_e(reason)}</li>" for reason in triage.reasons]
    parts.append(f"</ul><p>Set by:</p>{w.rules(triage.rules)}</section>")

    parts.append("<section id=\"differential\"><h2>Differential (most supported first)</h2>")
    if not result.differential:
        parts.append("<p>No condition has supporting evidence.</p>")
    else:
        parts.append("<table><thead><tr><th>#</th><th>Condition</th><th>Score</th>"
                     "<th>Evidence for</th><th>Evidence against</th><th>Next tests</th>"
                     "<th>Rules and sources</th></tr></thead><tbody>")
        for entry in result.differential:
            parts.append(
                f"<tr><td>{entry.rank}</td><td>{_e(entry.title)} "
                f"<span class=\"muted\">({_e(entry.condition)})</span></td>"
                f"<td>{entry.score}</td><td>{_list(entry.findings_in_words('for'))}</td>"
                f"<td>{_list(entry.findings_in_words('against'))}</td><td>{_list(entry.tests)}</td>"
                f"<td>{w.rules(entry.rules)}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</section>")

    checklist = result.checklist
    referral = " &mdash; refer to a neurologist promptly" if checklist.referral else ""
    parts.append(
        "<section id=\"checklist\"><h2>When to seek help: checklist</h2>"
        f"<p>{checklist.count} of {len(checklist.items)} items met "
        f"(threshold {checklist.threshold}){referral}.</p>"
        "<table><thead><tr><th>Item</th><th>Status</th><th>Evidence</th>"
        "<th>Rules and sources</th></tr></thead><tbody>")
    for item in checklist.items:
        parts.append(
            f"<tr><td>{_e(item.text)}</td><td class=\"status-{_e(item.status)}\">"
            f"{_e(item.status.replace('_', ' '))}</td><td>{_list(item.evidence)}</td>"
            f"<td>{w.rules(item.rules)}</td></tr>")
    parts.append("</tbody></table></section>")

    parts.append("<section id=\"recommendations\"><h2>Recommendations</h2>")
    if not result.recommendations:
        parts.append("<p>None.</p>")
    else:
        parts.append("<ul>")
        parts += [f"<li>{_e(rec.text)} <span class=\"muted\">({_e(rec.source)})</span>"
                  f"{w.rules(rec.rules)}</li>" for rec in result.recommendations]
        parts.append("</ul>")
    parts.append("</section>")

    parts.append("<section id=\"missing\"><h2>Missing information</h2>")
    if not result.missing_information:
        parts.append("<p>Nothing unknown would change the triage or the differential.</p>")
    else:
        parts.append("<p>Unknown inputs that would change the triage or the differential if "
                     "they were known:</p><ul>")
        parts += [f"<li><code>{_e(m.input)}</code>: {_e(m.why)}{w.rules(m.rules)}</li>"
                  for m in result.missing_information]
        parts.append("</ul>")
    parts.append("</section>")

    parts.append("<section id=\"trace\"><h2>Trace: rules in firing order</h2><table><thead>"
                 "<tr><th>Rule</th><th>Matched</th><th>Concluded</th><th>Source</th></tr>"
                 "</thead><tbody>")
    for entry in result.trace:
        matched = ", ".join(f"{_e(k)} = {_e(v)}" for k, v in entry.matched.items()) or "always"
        concluded = "<br>".join(_e(c) for c in entry.concluded)
        parts.append(f"<tr><td><code>{_e(entry.rule)}</code> v{_e(entry.version)}</td>"
                     f"<td>{matched}</td><td>{concluded}</td><td>{_e(entry.source)}</td></tr>")
    parts.append("</tbody></table></section>")

    parts.append(
        f"<footer><p class=\"muted\">Ruleset {_e(result.ruleset.name)} "
        f"{_e(result.ruleset.version)}, content sha256 <code>{_e(result.ruleset.sha256)}</code>; "
        f"contract version {_e(result.contract_version)}. This report supports a clinician's "
        "judgement; it is not a diagnosis.</p></footer>")
    return page(f"Twitching assessment: {triage.level}", "".join(parts))

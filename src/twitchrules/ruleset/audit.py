"""Audit: a loaded ruleset -> the provenance of every rule (who, whence, reviewed or not).

An auditor reads this to check each rule against its source: the rule's id, version and
title, the quoted passage or reference it rests on, its author, review status, reviewer and
date. ``audit_records`` gives the records; ``render_audit`` prints them as a table, JSON,
Markdown (the docs' rules reference is generated from it) or a self-contained HTML page.
The ruleset's default triage (used when no triage rule fires) is audited like a rule.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..templates import render_page
from .model import Ruleset, canonical_sha256
from .reviews import ReviewState, latest_reviews
from .words import conclusion_text, condition_text

AUDIT_FORMATS: tuple[str, ...] = ("table", "json", "md", "html")

TABLE_WIDTH = 100
"""The width of the default audit table, in characters (it reads in a 100-column terminal)."""


@dataclass(frozen=True)
class AuditRecord:
    """The provenance of one rule (or of the default triage), as an auditor reads it."""

    id: str
    version: str
    title: str
    kind: str  # "rule", or "default" for the ruleset's default triage
    file: str
    source_passage: str | None
    source_label: str | None
    source_quote: str | None
    source_reference: str | None
    source_note: str | None
    author: str
    status: str
    reviewer: str | None
    reviewed_on: str | None
    date: str
    explanation: str
    when: Mapping[str, Any] | None
    then: Sequence[Mapping[str, Any]]
    sha256: str
    latest_review: Mapping[str, Any] | None = None  # the review log's latest entry for this rule
    review_stale: bool | None = None  # the rule changed since that review (None: never reviewed)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON values."""
        data = asdict(self)
        data["then"] = list(self.then)
        return data

    @property
    def source_text(self) -> str:
        """One line naming the source: the passage label (and id), or the reference."""
        if self.source_passage:
            return f"{self.source_label} ({self.source_passage})"
        parts = [p for p in (self.source_reference, self.source_note) if p]
        return "; ".join(parts) or "(no source)"

    @property
    def review_text(self) -> str:
        """The latest review in words, e.g. ``approve by A. Name (neurologist) 2026-12-03T10:00:00Z``."""
        review = self.latest_review
        if review is None:
            return "none recorded"
        text = f"{review['decision']} by {review['by']} ({review['role']}) {review['at']}"
        return text + ("; STALE: the rule changed since" if self.review_stale else "")


def versioned_items(ruleset: Ruleset) -> list[tuple[str, str, Mapping[str, Any]]]:
    """Every versioned item of a ruleset as ``(id, version, data)``: each rule, then the default triage."""
    items = [(rule.id, rule.version, rule.data) for rule in ruleset.rules]
    default = ruleset.triage_default
    items.append((default["id"], default["version"], default))
    return items


def _record(ruleset: Ruleset, data: Mapping[str, Any], kind: str, file: str,
            state: ReviewState | None = None) -> AuditRecord:
    provenance = data["provenance"]
    source = provenance["source"]
    passage = ruleset.passages.get(source["passage"]) if "passage" in source else None
    if kind == "rule":
        title, explanation = data["title"], data["explanation"]
        when, then = data["when"], list(data["then"])
    else:
        title = f"Default triage: {data['level']}"
        explanation, when = data["reason"], None
        then = [{"triage": {k: data[k] for k in ("level", "timeframe", "reason")}}]
    return AuditRecord(
        id=data["id"], version=data["version"], title=title, kind=kind, file=file,
        source_passage=source.get("passage"),
        source_label=str(passage["label"]) if passage else None,
        source_quote=str(passage["quote"]) if passage else None,
        source_reference=source.get("reference"), source_note=source.get("note"),
        author=provenance["author"], status=provenance["status"],
        reviewer=provenance.get("reviewer"), reviewed_on=provenance.get("reviewed_on"),
        date=provenance["date"], explanation=explanation, when=when, then=then,
        sha256=canonical_sha256(data),
        latest_review=state.review.to_dict() if state else None,
        review_stale=state.stale if state else None,
    )


def audit_records(ruleset: Ruleset) -> list[AuditRecord]:
    """The provenance record of every rule in ruleset order, then the default triage."""
    reviews = latest_reviews(ruleset)
    records = [_record(ruleset, rule.data, "rule", rule.file, reviews.get(rule.id))
               for rule in ruleset.rules]
    default = ruleset.triage_default
    records.append(_record(ruleset, default, "default", "(header)", reviews.get(default["id"])))
    return records


def count_text(ruleset: Ruleset) -> str:
    """How many rules a ruleset has, in the words ``validate`` and ``audit`` both print.

    The default triage (used when no triage rule fires) is versioned, locked and audited like
    a rule but is not one: "128 rules plus the default triage (129 audited items)".
    """
    count = len(ruleset.rules)
    return f"{count} rule{'s' if count != 1 else ''} plus the default triage ({count + 1} audited items)"


def audit_dict(ruleset: Ruleset) -> dict[str, Any]:
    """The audit as one JSON object: ``{"ruleset": {...}, "summary": {...}, "rules": [...]}``."""
    records = audit_records(ruleset)
    statuses = Counter(record.status for record in records)
    return {
        "ruleset": {
            "name": ruleset.name, "version": ruleset.version, "sha256": ruleset.sha256,
            "status": ruleset.data.get("status"), "date": ruleset.data.get("date"),
            "path": ruleset.path,
        },
        "summary": {"rules": len(ruleset.rules), "default_triage": 1, "audited_items": len(records),
                    "by_status": dict(sorted(statuses.items())),
                    "unreviewed": sum(1 for r in records if not r.reviewer),
                    "review_log": {
                        "approved": sum(1 for r in records if _decided(r, "approve")),
                        "rejected": sum(1 for r in records if _decided(r, "reject")),
                        "stale": sum(1 for r in records if r.review_stale),
                        "never_reviewed": sum(1 for r in records if r.latest_review is None)}},
        "rules": [record.to_dict() for record in records],
    }


def _decided(record: AuditRecord, decision: str) -> bool:
    """Whether the record's latest review, still current, made this decision."""
    review = record.latest_review
    return review is not None and review["decision"] == decision and not record.review_stale


# ---------------------------------------------------------------- renderers


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


def render_table(ruleset: Ruleset) -> str:
    """A plain-text table within ``TABLE_WIDTH`` columns: per item a line (id, version, status,
    reviewer, date, author), then its title and its source (label and passage id, or the
    reference), wrapped and indented; the quotes are in the json, md and html formats."""
    records = audit_records(ruleset)
    headers = ["ID", "VERSION", "STATUS", "REVIEWER", "DATE", "AUTHOR"]
    rows = [[r.id, r.version, r.status, r.reviewer or "-", r.date, r.author] for r in records]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = min(widths[-1], max(TABLE_WIDTH - fixed, len(headers[-1])))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(_cut(c, w).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    wrap = textwrap.TextWrapper(width=TABLE_WIDTH, initial_indent="    ", subsequent_indent="      ")
    out = [f"Ruleset {ruleset.name} {ruleset.version} ({ruleset.data.get('status')})",
           f"sha256 {ruleset.sha256}",
           f"{count_text(ruleset)}; {sum(1 for r in records if not r.reviewer)} of the "
           f"{len(records)} without a reviewer", "",
           line(headers), "    title", "    source", line(["-" * w for w in widths])]
    for record, row in zip(records, rows, strict=True):
        out.append(line(row))
        out.extend(wrap.wrap(record.title))
        out.extend(wrap.wrap("source: " + record.source_text))
        out.extend(wrap.wrap("latest review: " + record.review_text))
    return "\n".join(out) + "\n"


def _md(text: Any) -> str:
    """Escape text for Markdown prose: HTML characters and Markdown emphasis/link marks."""
    escaped = html.escape(str(text), quote=False)
    for mark in ("\\", "`", "*", "_", "[", "]"):
        escaped = escaped.replace(mark, "\\" + mark)
    return escaped.replace("\n", " ")


def _md_cell(text: Any) -> str:
    return _md(text).replace("|", "\\|")


def render_markdown(ruleset: Ruleset) -> str:
    """A Markdown reference of every rule with its provenance (the docs' rules reference)."""
    records = audit_records(ruleset)
    data = ruleset.data
    out = [
        "# Rules reference",
        "",
        f"Generated from the ruleset **{_md(ruleset.name)} {_md(ruleset.version)}** "
        f"(status {_md(data.get('status'))}, dated {_md(data.get('date'))}); "
        f"content sha256 `{ruleset.sha256}`. Do not edit by hand: "
        "`twitchrules ruleset audit --format md` prints it.",
        "",
        f"{_md(count_text(ruleset))}; of the {len(records)}, "
        f"{sum(1 for r in records if r.status == 'draft')} draft, "
        f"{sum(1 for r in records if not r.reviewer)} without a named reviewer.",
        "",
        "| Rule | Version | Title | Source | Status | Reviewer | Date |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        out.append(
            f"| [{r.id}](#{r.id.lower()}) | {r.version} | {_md_cell(r.title)} | "
            f"{_md_cell(r.source_text)} | {r.status} | {_md_cell(r.reviewer or '-')} | {r.date} |"
        )
    for r in records:
        out += ["", f"## {r.id}", "", f"**{_md(r.title)}** (version {r.version}, "
                f"file `{r.file}`)", "", _md(r.explanation), ""]
        if r.when is not None:
            out += [f"- **When:** {_md(condition_text(r.when))}"]
        out += [f"- **Then:** {_md(conclusion_text(c))}" for c in r.then]
        if r.source_passage:
            out += [f"- **Source:** {_md(r.source_label)} (passage `{r.source_passage}`)", "",
                    f"    > {_md(r.source_quote)}", ""]
        else:
            out += [f"- **Source:** {_md(r.source_text)}"]
        out += [
            f"- **Author:** {_md(r.author)}",
            f"- **Review status:** {r.status}; reviewer: {_md(r.reviewer or 'none')}"
            + (f" on {r.reviewed_on}" if r.reviewed_on else ""),
            f"- **Latest review (reviews.jsonl):** {_md(r.review_text)}",
            f"- **Date:** {r.date}",
            f"- **Content sha256:** `{r.sha256}`",
        ]
    return "\n".join(out) + "\n"


def render_audit_html(ruleset: Ruleset) -> str:
    """A self-contained HTML page with the audit table, quotes included."""
    return render_page("audit.html.j2", title=f"Rule provenance: {ruleset.name} {ruleset.version}",
                       ruleset=ruleset, status=str(ruleset.data.get("status")),
                       records=audit_records(ruleset))


def render_audit(ruleset: Ruleset, output_format: str = "table") -> str:
    """The audit of a ruleset in one of ``AUDIT_FORMATS``."""
    if output_format == "json":
        return json.dumps(audit_dict(ruleset), indent=2, ensure_ascii=False) + "\n"
    if output_format == "md":
        return render_markdown(ruleset)
    if output_format == "html":
        return render_audit_html(ruleset)
    if output_format == "table":
        return render_table(ruleset)
    raise ValueError(f"unknown audit format {output_format!r} (known: {', '.join(AUDIT_FORMATS)})")

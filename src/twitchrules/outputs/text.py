"""Text report: a result -> the readable explanation the CLI prints by default."""

from __future__ import annotations

from ..conclusions import Result


def render_text(result: Result) -> str:
    """A plain-text explanation of a result, every line traced to its rules."""
    lines: list[str] = []
    triage = result.triage
    lines.append(f"Triage: {triage.level.upper()} - {triage.timeframe}")
    for reason in triage.reasons:
        lines.append(f"  because: {reason}")
    lines.append(f"  set by: {', '.join(triage.rules)}")
    lines.append("")
    lines.append("Differential (most supported first):")
    if not result.differential:
        lines.append("  (no condition has supporting evidence)")
    for entry in result.differential:
        lines.append(f"  {entry.rank}. {entry.title} [{entry.condition}] score {entry.score}")
        if entry.for_:
            lines.append(f"     for: {', '.join(entry.findings_in_words('for'))}")
        if entry.against:
            lines.append(f"     against: {', '.join(entry.findings_in_words('against'))}")
        if entry.tests:
            lines.append(f"     next tests: {'; '.join(entry.tests)}")
        lines.append(f"     rules: {', '.join(entry.rules)}")
    lines.append("")
    lines.append("Recommendations:")
    for rec in result.recommendations:
        lines.append(f"  - {rec.text}  [{', '.join(rec.rules)}; {rec.source}]")
    if not result.recommendations:
        lines.append("  (none)")
    lines.append("")
    checklist = result.checklist
    lines.append(
        f"When to seek help: {checklist.count} of {len(checklist.items)} met "
        f"(threshold {checklist.threshold}){' - see a neurologist promptly' if checklist.referral else ''}"
    )
    marks = {"met": "[x]", "not_met": "[ ]", "unknown": "[?]"}
    for item in checklist.items:
        lines.append(f"  {marks[item.status]} {item.text}")
    if result.missing_information:
        lines.append("")
        lines.append("Missing information that would change the answer:")
        for missing in result.missing_information:
            lines.append(f"  - {missing.input}: {missing.why}")
    lines.append("")
    for notice in result.notices:
        lines.append(f"Note ({notice.code}): {notice.message}")
    lines.append("")
    lines.append("Trace (rules in firing order):")
    for fired in result.trace:
        matched = ", ".join(f"{k}={v}" for k, v in fired.matched.items()) or "always"
        lines.append(f"  {fired.rule} v{fired.version} matched {matched}")
        for concluded in fired.concluded:
            lines.append(f"      -> {concluded}")
        lines.append(f"      source: {fired.source}")
    ruleset = result.ruleset
    lines.append("")
    lines.append(
        f"Ruleset {ruleset.name} {ruleset.version} sha256 {ruleset.sha256}; "
        f"engine {result.engine.name} {result.engine.version}; twitchrules {result.package_version}"
    )
    return "\n".join(lines) + "\n"

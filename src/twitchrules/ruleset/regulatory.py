"""Regulatory pack: pages an auditor or regulator reads, generated from rule metadata only.

Three kinds (``REPORT_KINDS``), each a ``Pack`` of titled tables that renders as Markdown,
HTML (``templates/regulatory.html.j2``, autoescaped, self-contained) or JSON:

* ``hti1``: the ONC HTI-1 source attributes of an evidence-based decision support
  intervention (45 CFR 170.315(b)(11)(iv)(A)), filled from the ruleset header, its sources
  and the contract; "not recorded" where the project holds no such fact, never invented;
* ``basis``: for each recommendation a clinician may see, its basis in plain words and its
  source (the FDA CDS guidance's fourth criterion: the clinician can review it independently);
* ``trace``: seed passage -> rules -> test cases -> hazards (``traceability``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..case import vocabulary as contract
from ..templates import render_page
from .conditions import All, Any_, Atom, Condition
from .lock import default_lock_path
from .model import Rule, Ruleset

REPORT_KINDS: tuple[str, ...] = ("hti1", "trace", "basis")
REPORT_FORMATS: tuple[str, ...] = ("md", "html", "json")
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Table:
    """One section of a pack: a heading, a note in words, and rows under named columns."""

    heading: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    note: str = ""


@dataclass
class Pack:
    """A generated report: its title, what it is generated from, its tables and its data."""

    kind: str
    title: str
    ruleset: str
    intro: str
    tables: list[Table] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def ruleset_label(ruleset: Ruleset) -> str:
    """The ruleset a page was generated from: name, version and content hash."""
    return f"{ruleset.name} {ruleset.version} (sha256 {ruleset.sha256})"


# The 13 source attributes, in the rule's order. Wording as listed in clinical-references.md
# (45 CFR 170.315(b)(11)(iv)(A)); the nine demographic attributes ask whether the
# intervention uses the data "as an expressed input or output".
HTI1_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("citation", "Bibliographic citation of the intervention (clinical research or guideline)"),
    ("developer", "Developer of the intervention (translation from research or guideline)"),
    ("funding", "Funding source of the intervention's development and technical implementation"),
    ("dates", "Release and, if applicable, revision dates of the intervention or reference source"),
    ("race", "Use of race as an expressed input or output"),
    ("ethnicity", "Use of ethnicity as an expressed input or output"),
    ("language", "Use of language as an expressed input or output"),
    ("sexual_orientation", "Use of sexual orientation as an expressed input or output"),
    ("gender_identity", "Use of gender identity as an expressed input or output"),
    ("sex", "Use of sex as an expressed input or output"),
    ("date_of_birth", "Use of date of birth as an expressed input or output"),
    ("sdoh", "Use of social determinants of health data as an expressed input or output"),
    ("health_status", "Use of health status assessments data as an expressed input or output"),
)

# What the contract (case-and-result.md 1.1, fhir.md) says about each demographic attribute:
# (answer, the contract names it rests on, the words). "not recorded" is a question the
# project has not settled: the inputs a reviewer would weigh are named, no answer is given.
_DEMOGRAPHICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "race": ("no", (), "No input or output of the contract carries race."),
    "ethnicity": ("no", (), "No input or output of the contract carries ethnicity."),
    "language": ("no", (), "No input or output of the contract carries the patient's language."),
    "sexual_orientation": ("no", (), "No input or output of the contract carries sexual orientation."),
    "gender_identity": ("no", (), "No input or output carries gender identity (patient.sex is read "
                        "from FHIR Patient.gender, administrative gender)."),
    "sex": ("yes", ("patient.sex",), "An input: patient.sex (female, male, other, unknown; from FHIR "
            "Patient.gender). Rules may read it; it is not an output."),
    "date_of_birth": ("yes", ("patient.age",), "An input through FHIR: Patient.birthDate gives "
                      "patient.age on the assessment date; a JSON case gives the age in years."),
    "sdoh": (NOT_RECORDED, ("alcohol_excess", "vegan_diet"), "No input is declared as social "
             "determinants of health data; a reviewer should classify alcohol_excess and vegan_diet."),
    "health_status": (NOT_RECORDED, ("pregnant", "stress_level", "health_anxiety"), "No input is "
                      "declared as health status assessments data; a reviewer should classify "
                      "pregnant, stress_level and health_anxiety."),
}


def _contract_names() -> set[str]:
    names = set(contract.BOOLEAN_FINDINGS) | set(contract.NUMBER_FINDINGS)
    names |= set(contract.ENUM_FINDINGS) | set(contract.DATE_FINDINGS)
    return names | {"patient.sex", "patient.age"}


def hti1_pack(ruleset: Ruleset, releases: Sequence[str]) -> Pack:
    """The HTI-1 source attributes of ``ruleset``; ``releases`` are the versions of its archive."""
    header = ruleset.data
    sources = [f"{s['title']} ({s.get('kind', 'source')}{', ' + s['location'] if s.get('location') else ''})"
               for s in header.get("sources", [])]
    references = sorted({" ".join(part.split()) for r in ruleset.rules
                         for part in str(r.provenance["source"].get("reference", "")).split(";")
                         if part.strip()})
    released = release_dates(ruleset)
    versions = list(dict.fromkeys([*releases, ruleset.version]))
    dates = [f"{version}: released {released[version]}" if version in released
             else f"{version}: release date not recorded" for version in versions]
    dates.append(f"rules last changed {max(str(r.provenance['date']) for r in ruleset.rules)}")
    citation = "; ".join(sources) or NOT_RECORDED
    if references:
        citation += ". References the rules cite where the article is silent: " + "; ".join(references)
    filled: dict[str, tuple[str, str]] = {
        "citation": (citation, "ruleset header: sources; each rule's provenance.source.reference"),
        "developer": (str(header.get("developer") or NOT_RECORDED), "ruleset header: developer"),
        "funding": (str(header.get("funding_source") or NOT_RECORDED), "ruleset header: funding_source"),
        "dates": ("; ".join(dates), "archived releases (the lock), CHANGELOG.md headings, rule dates"),
    }
    known = _contract_names()
    rows = []
    data: dict[str, Any] = {}
    for key, wording in HTI1_ATTRIBUTES:
        if key in filled:
            value, basis = filled[key]
            names: tuple[str, ...] = ()
        else:
            value, names, basis = _DEMOGRAPHICS[key]
            missing = [name for name in names if name not in known]
            if missing:  # pragma: no cover - a test keeps the names in step with the contract
                raise ValueError(f"HTI-1 {key}: {missing} are not names of the contract")
        rows.append((wording, value, basis))
        data[key] = {"attribute": wording, "value": value, "basis": basis, "contract_names": list(names)}
    pack = Pack("hti1", "HTI-1 source attributes", ruleset_label(ruleset), (
        "The source attributes ONC's HTI-1 rule asks a certified health IT module to show for an "
        "evidence-based decision support intervention, filled from the ruleset's header and "
        "sources and from the case contract. \"not recorded\" means the project holds no such "
        "fact yet; nothing here is guessed. Attribute wording as listed in the project's "
        "clinical references for 45 CFR 170.315(b)(11)(iv)(A); check it against the eCFR text "
        "before quoting it."))
    pack.tables.append(Table("Source attributes", ("attribute", "value", "from"), rows))
    pack.data = {"attributes": data}
    return pack


_BOUNDS = {"gt": "above", "gte": "at least", "lt": "below", "lte": "at most"}


def condition_words(ruleset: Ruleset, condition: Condition) -> str:
    """A condition in a clinician's words (the vocabulary's phrases), e.g. ``muscle weakness``."""
    words = ruleset.vocabulary
    if isinstance(condition, Atom):
        if condition.op == "is":
            return words.phrase(condition.fact, condition.value)
        if condition.op == "in":
            return " or ".join(words.phrase(condition.fact, value) for value in condition.value)
        return f"{words.label(condition.fact).lower()} {_BOUNDS[condition.op]} {condition.value:g}"
    if isinstance(condition, (All, Any_)):
        joiner = " and " if isinstance(condition, All) else " or "
        parts = [condition_words(ruleset, part) for part in condition.parts]
        nested = [f"({p})" if (" or " in p and joiner == " and ") else p for p in parts]
        return joiner.join(nested) or ("always" if isinstance(condition, All) else "never")
    return ""  # pragma: no cover - Unknown appears only in compiled conditions


def release_dates(ruleset: Ruleset) -> dict[str, str]:
    """Version -> release date, from the CHANGELOG.md headings beside the lock (``## 1.0.1 - 2026-12-03``)."""
    changelog = default_lock_path(ruleset.path).parent / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8") if changelog.is_file() else ""
    dates = {}
    for line in text.splitlines():
        words = line[3:].split() if line.startswith("## ") else []
        if len(words) >= 3 and words[1] in ("-", "–"):
            dates[words[0].strip("[]")] = words[2]
    return dates


def _basis_of(ruleset: Ruleset, rule: Rule) -> dict[str, str]:
    source = rule.provenance["source"]
    passage = ruleset.passages.get(source.get("passage", ""))
    return {
        "rule": rule.id, "title": rule.title,
        "when": condition_words(ruleset, rule.condition),
        "explanation": " ".join(rule.explanation.split()),
        "source": ruleset.source_label(rule.provenance),
        "quote": str(passage["quote"]) if passage else "",
        "reference": str(source.get("reference", "")),
        "status": str(rule.provenance["status"]),
        "reviewer": str(rule.provenance.get("reviewer") or "none"),
    }


def basis_pack(ruleset: Ruleset) -> Pack:
    """For every recommendation a clinician may see: its text, its basis in words and its source."""
    advice: dict[str, dict[str, Any]] = {}
    for rule in ruleset.rules:
        for body in rule.conclusions("recommend"):
            entry = advice.setdefault(body["id"], {"id": body["id"], "text": body["text"],
                                                   "source": body["source"], "given_by": []})
            entry["given_by"].append(_basis_of(ruleset, rule))
    pack = Pack("basis", "Basis of each recommendation", ruleset_label(ruleset), (
        "Every recommendation the ruleset can give, with the rules that give it: when each "
        "rule fires (its condition), why (its explanation in plain words) and its source (the "
        "seed article's passage, quoted, or the named reference), so that a clinician can "
        "review the basis independently. Every rule is a draft until a named clinician "
        "reviews it."))
    for entry in advice.values():
        rows = [(b["rule"], b["when"], b["explanation"],
                 b["source"] + (f": \"{b['quote']}\"" if b["quote"] else "")
                 + (f" ({b['reference']})" if b["reference"] and b["reference"] not in b["source"] else ""),
                 f"{b['status']}, reviewer {b['reviewer']}") for b in entry["given_by"]]
        pack.tables.append(Table(f"{entry['text']} ({entry['id']})",
                                 ("rule", "given when", "basis in plain words", "source", "review"),
                                 rows, note=f"Source as the advice states it: {entry['source']}"))
    pack.data = {"recommendations": list(advice.values())}
    return pack


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|") or " "


def render_pack(pack: Pack, output_format: str = "md") -> str:
    """A pack as Markdown (the docs site's pages), a self-contained HTML page or JSON."""
    if output_format == "json":
        document = {"kind": pack.kind, "title": pack.title, "ruleset": pack.ruleset, **pack.data}
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output_format == "html":
        return render_page("regulatory.html.j2", title=pack.title, pack=asdict(pack))
    lines = [f"# {pack.title}", "", f"Generated from ruleset {pack.ruleset}.", "", pack.intro, ""]
    for table in pack.tables:
        lines += [f"## {table.heading}", ""]
        if table.note:
            lines += [table.note, ""]
        if not table.rows:
            lines += ["None.", ""]
            continue
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "---|" * len(table.columns))
        lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in table.rows]
        lines.append("")
    return "\n".join(lines)

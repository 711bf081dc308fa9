"""Load: a ruleset file or folder -> one merged document -> a checked ``Ruleset``.

YAML is read with a safe loader (libyaml's scanner and parser where PyYAML has them) that
also refuses aliases (``*name``: an alias bomb expands to gigabytes), nesting deeper than
``MAX_DEPTH`` levels and a key given twice in a mapping; JSON is read by the case package's
strict reader, with the same limits. Nothing is evaluated. A folder's files are merged in
sorted path order: exactly one holds the header, the others may add ``rules`` and
``passages``. The sha256 is taken over the merged content as canonical JSON
(sorted keys, no whitespace), so formatting and the order of files on disk do not change it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import diskcache
from ..case.reading import MAX_JSON_DEPTH, JsonProblem, parse_json
from ..errors import RulesetError
from ..resources import bundled_ruleset_path, schema_path
from ..version import __version__
from .model import Ruleset, canonical_sha256
from .validate import ruleset_from_document

_SUFFIXES = (".yaml", ".yml", ".json")
RELEASES = "releases"
"""The folder of a ruleset folder that holds its archived releases."""

RESERVED = frozenset({RELEASES, "tests", "hazards.yaml", "reviews.jsonl", "reviews.head.json"})
"""Entries of a ruleset folder that are not rules: archived releases, the ruleset's own test
cases, its hazard log and its review log (with the head that anchors its end). They are
never merged into the ruleset."""


_CACHE_FORMAT = "1"
"""The layout of a cached ruleset entry (a new layout is a new entry name)."""

MAX_DEPTH = MAX_JSON_DEPTH
"""Deepest nesting of mappings and lists a ruleset document may have (the bundled one needs 12)."""


def read_utf8(path: Path, display: str) -> str:
    """A ruleset file's text, its newlines read as text mode reads them; ``RulesetError`` if it cannot be.

    A file that is not UTF-8 is refused naming the file and the offset, line and value of its
    first bad byte, never with a ``UnicodeDecodeError``.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RulesetError([(display, f"cannot be read: {error.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise RulesetError([(display, f"is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset "
                             f"{error.start}, line {line}); a ruleset file must be UTF-8")]) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_document(path: Path, display: str) -> Any:
    text = read_utf8(path, display)
    try:
        if path.suffix == ".json":
            return parse_json(text)
    except JsonProblem as problem:
        where = f"{display}: {problem.location}" if problem.location else display
        raise RulesetError([(where, problem.message)]) from None
    from .yaml_reader import YamlProblem, read_yaml  # PyYAML only when YAML is read

    try:
        return read_yaml(text)
    except YamlProblem as problem:
        raise RulesetError([(display, f"is not valid YAML: {problem}")]) from None


def _folder_files(path: Path) -> list[Path]:
    """The files of a ruleset folder that are merged, in merge order (sorted paths).

    The reserved entries (``RESERVED``: the releases archive, the test cases...) are skipped
    without being walked: they hold hundreds of files that every load would otherwise list.
    """
    try:
        top = [entry for entry in path.iterdir() if entry.name not in RESERVED]
    except OSError:
        return []
    files = [entry for entry in top if entry.is_file()]
    for entry in top:
        if entry.is_dir():
            files.extend(p for p in entry.rglob("*") if p.is_file())
    return sorted(p for p in files if p.suffix in _SUFFIXES)


def read_merged(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Merge a ruleset file or folder into one document; return it and each rule's file."""
    if path.is_file():
        document = _read_document(path, path.name)
        if not isinstance(document, dict):
            raise RulesetError([(path.name, "must hold a mapping at the top")])
        return document, [path.name] * len(document.get("rules") or [])
    if not path.is_dir():
        raise RulesetError([(str(path), "no such ruleset file or folder")])
    files = _folder_files(path)
    merged: dict[str, Any] = {}
    rule_files: list[str] = []
    header_file = None
    for file in files:
        display = file.relative_to(path).as_posix()
        document = _read_document(file, display)
        if document is None:
            continue
        if not isinstance(document, dict):
            raise RulesetError([(display, "must hold a mapping at the top")])
        for key, value in document.items():
            if key in ("rules", "passages"):
                if not isinstance(value, list):
                    raise RulesetError([(display, f"'{key}' must be a list")])
                merged.setdefault(key, []).extend(value)
                if key == "rules":
                    rule_files.extend([display] * len(value))
            elif key in merged:
                raise RulesetError([(display, f"'{key}' is already given in {header_file}")])
            else:
                merged[key] = value
                header_file = header_file or display
    if not files:
        raise RulesetError([(str(path), "holds no .yaml, .yml or .json file")])
    return merged, rule_files


def load_ruleset(path: str | Path | None = None) -> Ruleset:
    """Load and check a ruleset file or folder (default: the bundled ruleset).

    A ruleset that passed its checks is kept in the disk cache (``twitchrules.diskcache``),
    keyed by every byte it is read from, the schema and the package version; the next
    process reads it from there without the JSON Schema pass (the semantic checks still
    run). A corrupt entry is removed and the ruleset read again. The bundled ruleset also
    ships in that checked form (``prepared_path``), used while it matches the files' bytes,
    so the first run after install skips the YAML and the schema pass too.

    Raises ``RulesetError`` naming the file, the rule id and the field of every problem.
    """
    target = Path(path) if path is not None else bundled_ruleset_path()
    bundled = path is None or target.resolve() == bundled_ruleset_path().resolve()
    sources = _sources_digest(target) if bundled or diskcache.cache_dir() is not None else None
    entry = _cache_entry(sources)
    cached = _from_cache(entry, str(target)) if entry is not None else None
    if cached is not None:
        return cached
    prepared = _from_prepared(target, sources) if bundled and sources is not None else None
    if prepared is not None:
        ruleset, rule_files = prepared
    else:
        document, rule_files = read_merged(target)
        ruleset = ruleset_from_document(document, rule_files, str(target))
    if entry is not None:
        _store(entry, ruleset, rule_files)
    return ruleset


def _sources_digest(target: Path) -> str | None:
    """A digest of every byte a ruleset file or folder is read from (names and contents) and
    of the schema it is checked against; ``None`` when they cannot be read (reported later)."""
    try:
        if target.is_file():
            files = [(target.name, target)]
        elif target.is_dir():
            files = [(file.relative_to(target).as_posix(), file) for file in _folder_files(target)]
        else:
            return None
        parts: list[str | bytes] = [_CACHE_FORMAT, schema_path("ruleset").read_bytes()]
        for display, file in files:
            parts += [display, file.read_bytes()]
    except OSError:
        return None
    return diskcache.entry_name("sources", *parts)


def _cache_entry(sources: str | None) -> str | None:
    """The disk cache entry prefix of a ruleset whose sources digest is ``sources``, for this
    package version (a sealed entry: ``<prefix>-<digest of its bytes>.json``); ``None``: cache
    off or sources unreadable."""
    if sources is None or diskcache.cache_dir() is None:
        return None
    return diskcache.entry_name("ruleset", __version__, sources)


def _checked(stored: Any, path: str, *, sealed: bool = False) -> Ruleset:
    """The ruleset a stored checked form holds (raises ValueError, KeyError, TypeError or
    RulesetError when it is damaged): its sha256 is checked, then the semantic checks run.

    ``sealed``: the bytes were read from a sealed cache entry, whose name vouches for them,
    so the stored sha256 is the one this package computed when it wrote them.
    """
    document, rule_files = stored["document"], stored["rule_files"]
    sha256 = stored["sha256"] if sealed else canonical_sha256(document)
    if not isinstance(sha256, str) or sha256 != stored["sha256"]:
        raise ValueError("the document does not match its sha256")
    return ruleset_from_document(document, rule_files, path, schema_checked=True, sha256=sha256)


def _from_cache(entry: str, path: str) -> Ruleset | None:
    """The ruleset a cache entry holds, or ``None`` (missing, or corrupt: then removed)."""
    found = diskcache.find_sealed(entry, ".json")
    if found is None:
        return None
    try:
        return _checked(json.loads(found[1]), path, sealed=True)
    except (ValueError, KeyError, TypeError, RulesetError):
        diskcache.forget_entry(found[0].name)
        return None


def prepared_path(folder: Path | None = None) -> Path:
    """Where the checked form of a ruleset folder is shipped: ``<folder>.prepared.json`` beside it
    (default: the bundled ruleset's, ``rulesets/twitching.prepared.json``)."""
    folder = folder if folder is not None else bundled_ruleset_path()
    return folder.parent / f"{folder.name}.prepared.json"


def prepared_form(path: Path | None = None) -> str:
    """The checked form of a ruleset folder (default: bundled), as written to ``prepared_path``:
    JSON data (never code) holding the merged document, its sha256, each rule's file and the
    digest of the sources it was made from. Raises ``RulesetError`` if the ruleset has problems."""
    target = path if path is not None else bundled_ruleset_path()
    document, rule_files = read_merged(target)
    ruleset = ruleset_from_document(document, rule_files, str(target))
    return json.dumps({"sources": _sources_digest(target), "sha256": ruleset.sha256,
                       "rule_files": rule_files, "document": dict(ruleset.data)},
                      ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def _from_prepared(target: Path, sources: str) -> tuple[Ruleset, list[str]] | None:
    """The bundled ruleset (and each rule's file) from its shipped checked form, or ``None``
    when there is none or it was made from other sources (an edited ruleset is read from its
    files)."""
    try:
        stored = json.loads(prepared_path(target).read_bytes())
        if stored["sources"] != sources:
            return None
        return _checked(stored, str(target)), list(stored["rule_files"])
    except (OSError, ValueError, KeyError, TypeError, RulesetError):
        return None


def _store(entry: str, ruleset: Ruleset, rule_files: list[str]) -> None:
    """Keep a checked ruleset's document for the next process (when JSON holds it exactly)."""
    document = dict(ruleset.data)
    try:
        text = json.dumps({"sha256": ruleset.sha256, "rule_files": rule_files,
                           "document": document}, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return
    if json.loads(text)["document"] == document:  # e.g. no integer mapping keys
        diskcache.write_sealed(entry, text.encode("utf-8"), ".json")


def is_valid_ruleset(path: str | Path | None = None) -> bool:
    """Whether a ruleset loads without problems (the non-raising twin of ``load_ruleset``)."""
    try:
        load_ruleset(path)
    except RulesetError:
        return False
    return True

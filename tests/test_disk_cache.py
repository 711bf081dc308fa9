"""The disk cache: checked rulesets and CLIPS images reused across processes, never trusted blindly.

Each test points ``TWITCHRULES_CACHE_DIR`` at its own empty folder and runs the real CLI in
real processes: the first run fills the cache, the next reads it; corrupt entries are
removed and rebuilt; two processes starting together both succeed; ``--no-cache`` and
``TWITCHRULES_NO_CACHE=1`` leave the folder empty. Results are the same bytes every time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from twitchrules import diskcache, load_ruleset
from twitchrules.ruleset import canonical_sha256

from .conftest import EXAMPLES, STARTER

EXE = shutil.which("twitchrules") or str(Path(sys.executable).parent / "twitchrules")
CASE = str(EXAMPLES / "mark.json")
HEAVY = ("fastapi", "fhir", "jsonschema", "durable", "dask", "distributed", "jinja2", "yaml")
_REPORT_HEAVY = (
    "import sys, atexit\n"
    f"HEAVY = {HEAVY!r}\n"
    "atexit.register(lambda: sys.stderr.write('HEAVY ' + ' '.join(sorted("
    "{m.split('.')[0] for m in sys.modules if m.split('.')[0] in HEAVY})) + '\\n'))\n"
)


def _env(folder: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != diskcache.ENV_OFF}
    return {**env, diskcache.ENV_DIR: str(folder), **extra}


def _evaluate(folder: Path, *options: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *options, "evaluate", CASE, "--format", "json"], capture_output=True,
                          text=True, env=_env(folder, **extra), timeout=120)


def _entries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_second_process_reads_the_cache_and_gives_the_same_bytes(tmp_path: Path) -> None:
    """The first run writes a ruleset entry and a CLIPS image; the second reuses them with the
    same bytes out; --no-cache and TWITCHRULES_NO_CACHE=1 give them too and write nothing."""
    first = _evaluate(tmp_path)
    assert first.returncode == 0, first.stderr
    names = _entries(tmp_path)
    assert [name.split("-")[0] for name in names] == ["clips", "ruleset"], names
    stamps = {name: (tmp_path / name).stat().st_mtime_ns for name in names}
    second = _evaluate(tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in _entries(tmp_path)} == stamps
    assert _evaluate(tmp_path / "a", "--no-cache").stdout == first.stdout
    assert _evaluate(tmp_path / "b", **{diskcache.ENV_OFF: "1"}).stdout == first.stdout
    assert _entries(tmp_path / "a") == _entries(tmp_path / "b") == []


def test_warm_import_and_evaluate_import_no_heavy_module(tmp_path: Path) -> None:
    """'import twitchrules' and a warm 'twitchrules evaluate' (text and JSON) import no FastAPI,
    FHIR, jsonschema, durable-rules, Dask, Jinja2 or PyYAML."""
    warm = subprocess.run([EXE, "evaluate", CASE], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=120)
    assert warm.returncode == 0, warm.stderr
    imported = subprocess.run([sys.executable, "-c", _REPORT_HEAVY + "import twitchrules"],
                              capture_output=True, text=True, env=_env(tmp_path), timeout=120)
    assert imported.stderr.strip() == "HEAVY", imported.stderr
    for output_format in ("text", "json"):
        cli = (_REPORT_HEAVY + "sys.argv = ['twitchrules', 'evaluate', sys.argv[1], '--format', "
               "sys.argv[2]]\nfrom twitchrules.cli import main\nmain()")
        done = subprocess.run([sys.executable, "-c", cli, CASE, output_format], capture_output=True,
                              text=True, env=_env(tmp_path), timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip().splitlines()[-1] == "HEAVY", (output_format, done.stderr)


def test_corrupt_entries_are_ignored_and_rebuilt(tmp_path: Path) -> None:
    """A garbage ruleset entry and a CLIPS image whose bytes no longer match its name are
    removed (the image never loaded) and rebuilt; the result does not change."""
    good = _evaluate(tmp_path)
    [entry] = [tmp_path / name for name in _entries(tmp_path) if name.startswith("ruleset-")]
    [image] = [tmp_path / name for name in _entries(tmp_path) if name.startswith("clips-")]
    text = entry.read_text(encoding="utf-8")
    entry.write_bytes(b"\x00\xff not json")
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0xFF
    image.write_bytes(bytes(data))
    again = _evaluate(tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == good.stdout
    assert json.loads(entry.read_text(encoding="utf-8")) == json.loads(text)
    images = [name for name in _entries(tmp_path) if name.startswith("clips-")]
    assert len(images) == 1 and (tmp_path / images[0]).read_bytes() != bytes(data)


@pytest.mark.parametrize("damage", ["truncated", "wrong-sha", "not-a-ruleset"])
def test_damaged_ruleset_entry_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             damage: str) -> None:
    """A truncated entry, one whose document no longer matches its sha256, or one that no
    longer passes the semantic checks, is replaced by the ruleset read from its files."""
    monkeypatch.setenv(diskcache.ENV_DIR, str(tmp_path))
    reference = load_ruleset(STARTER)
    [entry] = [tmp_path / name for name in _entries(tmp_path) if name.startswith("ruleset-")]
    text = entry.read_text(encoding="utf-8")
    stored = json.loads(text)
    if damage == "truncated":
        entry.write_text(text[: len(text) // 2], encoding="utf-8")
    elif damage == "wrong-sha":
        stored["document"]["version"] = "9.9.9"
        entry.write_text(json.dumps(stored), encoding="utf-8")
    else:
        stored["document"]["rules"][0]["when"] = {"fact": "no_such_fact", "is": True}
        stored["sha256"] = canonical_sha256(stored["document"])
        entry.write_text(json.dumps(stored), encoding="utf-8")
    again = load_ruleset(STARTER)
    assert again.sha256 == reference.sha256 and again.version == reference.version
    assert json.loads(entry.read_text(encoding="utf-8")) == json.loads(text)


def test_processes_starting_at_once(tmp_path: Path) -> None:
    """Three processes filling an empty cache together all succeed with the same bytes as an
    uncached run, and leave whole entries only (no temporary files)."""
    command = [EXE, "evaluate", CASE, "--format", "json"]
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=_env(tmp_path)) for _ in range(3)]
    outputs = [process.communicate(timeout=180) for process in running]
    assert [process.returncode for process in running] == [0, 0, 0], outputs
    assert {stdout for stdout, _ in outputs} == {_evaluate(tmp_path / "off", "--no-cache").stdout}
    names = _entries(tmp_path)
    assert names and not any(name.startswith(".") for name in names), names


def test_edited_ruleset_is_a_new_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing one byte of a ruleset file makes a new entry: the old one is never served."""
    monkeypatch.setenv(diskcache.ENV_DIR, str(tmp_path / "cache"))
    folder = tmp_path / "starter"
    shutil.copytree(STARTER, folder)
    before = load_ruleset(folder)
    header = folder / "ruleset.yaml"
    header.write_text(header.read_text(encoding="utf-8").replace(
        f"version: {before.version}", "version: 9.9.9", 1), encoding="utf-8")
    after = load_ruleset(folder)
    assert after.version == "9.9.9" and after.sha256 != before.sha256
    assert len([n for n in _entries(tmp_path / "cache") if n.startswith("ruleset-")]) == 2


def test_shipped_prepared_form_is_current() -> None:
    """rulesets/twitching.prepared.json is exactly what `twitchrules ruleset prepare` writes now,
    and its sha256 is the one the bundled YAML loads to (run that command after an edit)."""
    from twitchrules.ruleset.load import prepared_form, prepared_path, read_merged
    from twitchrules.ruleset.validate import ruleset_from_document

    shipped = prepared_path().read_text(encoding="utf-8")
    assert shipped == prepared_form(), "stale: run `twitchrules ruleset prepare` and commit the file"
    document, rule_files = read_merged(prepared_path().parent / "twitching")
    from_yaml = ruleset_from_document(document, rule_files, "bundled")
    assert json.loads(shipped)["sha256"] == from_yaml.sha256 == canonical_sha256(document)


def _bundled_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[int]]:
    """A copy of the bundled ruleset and its prepared form, made the bundled one; cache off.
    Returns the folder and a list that grows each time the YAML files are read."""
    from twitchrules.resources import bundled_ruleset_path
    from twitchrules.ruleset import load

    folder = tmp_path / "twitching"
    shutil.copytree(bundled_ruleset_path(), folder)
    shutil.copy(load.prepared_path(), load.prepared_path(folder))
    monkeypatch.setenv(diskcache.ENV_OFF, "1")
    monkeypatch.setattr(load, "bundled_ruleset_path", lambda: folder)
    reads: list[int] = []
    real = load.read_merged

    def counted(path: Path) -> Any:
        reads.append(1)
        return real(path)

    monkeypatch.setattr(load, "read_merged", counted)
    return folder, reads


def test_first_run_reads_the_prepared_form_with_the_same_result(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """With the cache empty (here: off), the bundled ruleset comes from its prepared form, not
    the YAML, and gives the same ruleset and the same result bytes as the YAML."""
    from twitchrules import evaluate
    from twitchrules.ruleset import load

    folder, reads = _bundled_copy(tmp_path, monkeypatch)
    prepared = load_ruleset()
    assert reads == []
    load.prepared_path(folder).unlink()
    from_yaml = load_ruleset()
    assert reads == [1]
    assert prepared.sha256 == from_yaml.sha256 and prepared.data == from_yaml.data
    case = json.loads(Path(CASE).read_text(encoding="utf-8"))
    assert (evaluate(case, ruleset=prepared).to_json()
            == evaluate(case, ruleset=from_yaml).to_json())


@pytest.mark.parametrize("change", ["edited-yaml", "wrong-sha", "not-json"])
def test_stale_or_damaged_prepared_form_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    change: str) -> None:
    """A prepared form made from other bytes than the ruleset's files (an edit since), or
    damaged, is ignored: the ruleset is read from its files."""
    from twitchrules.ruleset import load

    folder, reads = _bundled_copy(tmp_path, monkeypatch)
    version = load_ruleset().version
    prepared = load.prepared_path(folder)
    if change == "edited-yaml":
        header = folder / "ruleset.yaml"
        header.write_text(header.read_text(encoding="utf-8").replace(
            f"version: {version}", "version: 9.9.9", 1), encoding="utf-8")
        version = "9.9.9"
    elif change == "wrong-sha":
        stored = json.loads(prepared.read_text(encoding="utf-8"))
        stored["document"]["version"] = "9.9.9"
        prepared.write_text(json.dumps(stored), encoding="utf-8")
    else:
        prepared.write_bytes(b"{ not json")
    assert load_ruleset().version == version
    assert reads == [1]


def test_first_run_imports_no_yaml_or_schema_validator(tmp_path: Path) -> None:
    """A first 'twitchrules evaluate' (empty cache) reads the prepared form: no PyYAML, no
    jsonschema, nor any other heavy module, and the same bytes as a warm run."""
    cli = (_REPORT_HEAVY + "sys.argv = ['twitchrules', 'evaluate', sys.argv[1], '--format', 'json']\n"
           "from twitchrules.cli import main\nmain()")
    first = subprocess.run([sys.executable, "-c", cli, CASE], capture_output=True, text=True,
                           env=_env(tmp_path), timeout=120)
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip().splitlines()[-1] == "HEAVY", first.stderr
    assert first.stdout == _evaluate(tmp_path).stdout


def test_evaluate_imports_only_its_own_command(tmp_path: Path) -> None:
    """A warm 'twitchrules evaluate' imports its own command's module only: not the other
    commands', nor the population, FHIR, verify, service or release and lock tooling."""
    assert _evaluate(tmp_path).returncode == 0
    others = ("twitchrules.cli.population", "twitchrules.cli.ruleset", "twitchrules.cli.service",
              "twitchrules.cli.verify", "twitchrules.cli.explain", "twitchrules.population",
              "twitchrules.fhir", "twitchrules.verify", "twitchrules.service",
              "twitchrules.ruleset.release", "twitchrules.ruleset.lock", "twitchrules.ruleset.audit")
    cli = ("import sys, atexit\n"
           f"OTHERS = {others!r}\n"
           "atexit.register(lambda: sys.stderr.write('LOADED ' + ' '.join(sorted("
           "m for m in sys.modules if m in OTHERS or m == 'twitchrules.cli.evaluate')) + '\\n'))\n"
           "sys.argv = ['twitchrules', 'evaluate', sys.argv[1], '--format', 'json']\n"
           "from twitchrules.cli import main\nmain()")
    done = subprocess.run([sys.executable, "-c", cli, CASE], capture_output=True, text=True,
                          env=_env(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "LOADED twitchrules.cli.evaluate", done.stderr


def test_a_cache_folder_that_cannot_be_listed_or_changed_is_no_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder the user may not list, or whose damaged entry cannot be removed, is
    read as no cache (the entry is left unused), never an error. (Root ignores file modes,
    so the refusals the operating system would give are raised here.)"""
    monkeypatch.setenv(diskcache.ENV_DIR, str(tmp_path))
    monkeypatch.delenv(diskcache.ENV_OFF, raising=False)
    damaged = tmp_path / f"probe-{'0' * 32}.bin"
    damaged.write_bytes(b"not what its name says")

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "unlink", refuse)
    assert diskcache.find_sealed("probe", ".bin") is None
    assert damaged.exists()
    monkeypatch.setattr(Path, "glob", refuse)
    assert diskcache.find_sealed("probe", ".bin") is None

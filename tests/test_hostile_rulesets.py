"""Hostile ruleset files (issue 17, item 12): refused at load, exit 2, on every path that loads one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from twitchrules import RulesetError, load_ruleset
from twitchrules.ruleset.load import MAX_DEPTH

from .conftest import EXAMPLES, STARTER

EXE = shutil.which("twitchrules") or str(Path(sys.executable).parent / "twitchrules")


def billion_laughs() -> str:
    """The classic alias bomb: nine levels of nine aliases (10^9 strings once expanded)."""
    lines = ['  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    names = "abcdefghi"
    for previous, name in zip(names, names[1:], strict=False):
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def hostile_copy(tmp_path: Path, name: str, header_extra: str = "", rule_when: str | None = None) -> Path:
    """A copy of the starter ruleset with ``header_extra`` appended to its header file."""
    target = tmp_path / name
    shutil.copytree(STARTER, target)
    header = target / "ruleset.yaml"
    header.write_text(header.read_text() + header_extra)
    if rule_when is not None:
        rules = target / "rules" / "20-red-flags.yaml"
        text = rules.read_text()
        rules.write_text(text.replace("when: {fact: muscle_wasting, is: true}", rule_when, 1))
    return target


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The console script; a hang would fail the timeout instead of blocking the suite."""
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60)


def assert_refused(done: subprocess.CompletedProcess[str], needle: str) -> None:
    """Exit 2 with ``needle`` in stderr and no traceback."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert needle in done.stderr, done.stderr


@pytest.fixture
def bomb(tmp_path: Path) -> Path:
    """A starter ruleset whose header carries the alias bomb in a text field."""
    return hostile_copy(tmp_path, "bomb", "description_extra:\n" + billion_laughs())


def test_alias_bomb_is_refused_by_validate(bomb: Path) -> None:
    """ruleset validate refuses the alias bomb before expanding anything."""
    assert_refused(run("ruleset", "validate", str(bomb)), "alias")


def test_alias_bomb_is_refused_by_lock(bomb: Path, tmp_path: Path) -> None:
    """ruleset lock refuses it (and writes no lock file)."""
    lock = tmp_path / "bomb.lock.json"
    assert_refused(run("ruleset", "lock", str(bomb), "--lock-file", str(lock)), "alias")
    assert not lock.exists()


def test_alias_bomb_is_refused_by_diff(bomb: Path) -> None:
    """ruleset diff refuses it on either side."""
    assert_refused(run("ruleset", "diff", str(STARTER), str(bomb)), "alias")


def test_alias_bomb_is_refused_by_evaluate(bomb: Path) -> None:
    """evaluate --ruleset refuses it."""
    assert_refused(run("evaluate", str(EXAMPLES / "mark.json"), "--ruleset", str(bomb)), "alias")


def test_alias_bomb_is_refused_by_serve(bomb: Path, tmp_path: Path) -> None:
    """serve --ruleset refuses it before listening."""
    done = run("serve", "--ruleset", str(bomb), "--port", "1", "--audit-log",
               str(tmp_path / "audit.jsonl"))
    assert_refused(done, "alias")


def test_alias_chain_in_a_rule_condition_is_refused(tmp_path: Path) -> None:
    """A small, schema-valid alias chain inside a rule's `when` is refused at load (it hung validation)."""
    chain = ["&w0 {fact: muscle_wasting, is: true}"]
    for level in range(1, 12):
        chain.append(f"&w{level} {{any: [*w{level - 1}, *w{level - 1}]}}")
    when = "when: {all: [" + ", ".join(chain) + "]}"
    with pytest.raises(RulesetError, match="alias"):
        load_ruleset(hostile_copy(tmp_path, "chain", rule_when=when))


def test_yaml_nested_20000_deep_is_refused(tmp_path: Path) -> None:
    """A YAML file nested 20,000 deep is refused naming the depth limit, not a RecursionError."""
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: x\nvalue: " + "[" * 20_000 + "]" * 20_000 + "\n")
    assert_refused(run("ruleset", "validate", str(deep)), f"nested deeper than {MAX_DEPTH}")


def test_json_ruleset_nested_deep_is_refused(tmp_path: Path) -> None:
    """A JSON ruleset file nested 20,000 deep is refused too."""
    deep = tmp_path / "deep.json"
    deep.write_text('{"name": ' + "[" * 20_000 + "]" * 20_000 + "}")
    with pytest.raises(RulesetError, match="nested deeper"):
        load_ruleset(deep)


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    """A key given twice in one mapping (the last would silently win) is refused with its line."""
    target = hostile_copy(tmp_path, "dup", "version: 9.9.9\n")
    with pytest.raises(RulesetError, match="'version' is given twice"):
        load_ruleset(target)


def test_anchor_without_alias_still_loads(tmp_path: Path) -> None:
    """An anchor that nothing refers to is harmless and still loads."""
    target = tmp_path / "anchored"
    shutil.copytree(STARTER, target)
    header = target / "ruleset.yaml"
    header.write_text(header.read_text().replace("name: twitching", "name: &n twitching", 1))
    assert load_ruleset(target).name == "twitching"


def test_a_ruleset_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """A Latin-1 ruleset file is exit 2 naming the file and the byte (validate, evaluate), no traceback."""
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: x\n\xe9\n")
    needle = "latin.yaml: is not UTF-8 text (byte 0xe9 at offset 8, line 2)"
    assert_refused(run("ruleset", "validate", str(latin)), needle)
    assert_refused(run("evaluate", str(EXAMPLES / "mark.json"), "--ruleset", str(latin)), needle)


def test_a_rule_file_hazard_log_or_lock_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    """A non-UTF-8 file of a ruleset folder, its hazard log or its lock is a RulesetError naming the file."""
    from twitchrules.ruleset.hazards import load_hazards
    from twitchrules.ruleset.lock import read_lock

    target = hostile_copy(tmp_path, "latin")
    rules = target / "rules" / "20-red-flags.yaml"
    rules.write_bytes(rules.read_bytes().replace(b"muscle_wasting", b"muscle_w\xe4sting", 1))
    with pytest.raises(RulesetError, match=r"rules/20-red-flags.yaml: is not UTF-8 text \(byte 0xe4"):
        load_ruleset(target)
    hazards = tmp_path / "hazards.yaml"
    hazards.write_bytes(b"format: 1\nhazards:\n- id: \"\xe9\"\n")
    with pytest.raises(RulesetError, match=r"hazards.yaml: is not UTF-8 text \(byte 0xe9 at offset 26, line 3"):
        load_hazards(hazards)
    lock = tmp_path / "latin.lock.json"
    lock.write_bytes(b'{"ruleset": "\xe9"}')
    with pytest.raises(RulesetError, match="latin.lock.json: cannot be read as JSON: .*position 13"):
        read_lock(lock)


def test_a_ruleset_with_windows_line_endings_loads_the_same(tmp_path: Path) -> None:
    """Reading the bytes as UTF-8 keeps text mode's newlines: CRLF files give the same ruleset sha256."""
    target = tmp_path / "crlf"
    shutil.copytree(STARTER, target)
    for file in target.rglob("*.yaml"):
        file.write_bytes(file.read_bytes().replace(b"\n", b"\r\n"))
    assert load_ruleset(target).sha256 == load_ruleset(STARTER).sha256

"""``twitchrules interview`` through a real pseudo-terminal: questions asked, answers typed, result printed."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from twitchrules import load_ruleset, next_questions

from .conftest import CASES_DIR

TIMEOUT = 60.0


class Terminal:
    """A command run on the slave side of a pty; read what it prints, type answers."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        self.master = master
        env = {**os.environ, "COLUMNS": "200", "TERM": "dumb"}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from twitchrules.cli import main; main()", *args],
            stdin=slave, stdout=slave, stderr=slave, close_fds=True, env=env)
        os.close(slave)
        self.seen = ""

    def expect(self, *texts: str) -> str:
        """Read until one of ``texts`` appears (fails after TIMEOUT seconds); return what came
        before it, and keep the text from it on."""
        deadline = time.monotonic() + TIMEOUT
        while not any(text in self.seen for text in texts):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {texts!r}; saw:\n{self.seen[-2000:]}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"ended before {texts!r}; saw:\n{self.seen[-2000:]}"
                self.seen += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        at = min(self.seen.index(text) for text in texts if text in self.seen)
        before, self.seen = self.seen[:at], self.seen[at:]
        return before

    def skip(self, text: str) -> None:
        """Drop ``text`` from the start of what was read (after ``expect`` found it)."""
        assert self.seen.startswith(text)
        self.seen = self.seen[len(text):]

    def type(self, line: str) -> None:
        """Type one line of answer."""
        os.write(self.master, (line + "\n").encode("utf-8"))

    def close(self) -> int:
        """Wait for the command to end and return its exit code."""
        code = self.process.wait(timeout=TIMEOUT)
        os.close(self.master)
        return code


def _case_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.json"
    data = json.loads((CASES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    path.write_text(json.dumps(data["case"]), encoding="utf-8")
    return path


def test_a_yes_to_breathing_ends_at_immediate(tmp_path: Path) -> None:
    """A benign calf case: the first question is the red flag; 'yes' makes it immediate and stops."""
    path = _case_file(tmp_path, "self-care-intense-exercise")
    first = next_questions(json.loads(path.read_text(encoding="utf-8"))).questions[0]
    assert first.input == "breathing_difficulty"
    terminal = Terminal("interview", str(path))
    terminal.expect(first.text)
    terminal.type("yes")
    terminal.expect("Nothing left to ask could change the triage.")
    assert "Triage: IMMEDIATE" in terminal.expect("For the auditor")
    assert terminal.close() == 0


def test_answers_no_and_unknown_until_nothing_can_change(tmp_path: Path) -> None:
    """Triage questions answered 'no' (yes/no) or 'unknown' (numbers): each asked once, then self-care."""
    path = _case_file(tmp_path, "self-care-intense-exercise")
    ruleset = load_ruleset()
    first = next_questions(json.loads(path.read_text(encoding="utf-8"))).triage_questions[0]
    texts = {ruleset.vocabulary.question(name): name for name in ruleset.input_names.values()}
    terminal = Terminal("interview", str(path))
    asked = []
    stop = "Nothing more to ask; answered unknown, these could still change the triage:"
    unknown = []
    for _ in range(len(texts)):
        before = terminal.expect("]: ", stop)
        if terminal.seen.startswith(stop):
            break
        terminal.skip("]: ")
        name = next((name for text, name in texts.items() if text in before), None)
        assert name is not None, before
        asked.append(name)
        fact = next(f for f, n in ruleset.input_names.items() if n == name)
        boolean = ruleset.catalogue[fact].type == "boolean"
        terminal.type("no" if boolean else "unknown")
        if not boolean:
            unknown.append(name)
    assert unknown, "a number was asked and answered unknown"
    terminal.expect(stop)
    listed = terminal.expect("\n")  # the line goes on with the inputs left unknown
    # what is named are inputs answered unknown, by their labels
    labels = {ruleset.vocabulary.label(name) for name in unknown}
    named = listed[len(stop):].strip().rstrip(".").split("; ")
    assert named and set(named) <= labels, (named, labels)
    assert "Nothing left to ask could change the triage." not in terminal.seen
    assert "Triage: SELF-CARE" in terminal.expect("For the auditor")
    assert terminal.close() == 0
    assert asked[0] == first.input and len(set(asked)) == len(asked)


def test_without_a_case_the_basics_come_first() -> None:
    """No case file: date, age, sex, region, side, since and course are asked, then the questions."""
    terminal = Terminal("interview")
    # each prompt is read before its answer is typed
    for prompt, answer in [("Date of this assessment", "2026-11-20"), ("Age in years", "35"),
                           ("Sex", "female"), ("Body region", "calf"), ("Side", "left"),
                           ("Since when", "2026-11-18"), ("another region", "no"),
                           ("How is the twitching going?", "worsening")]:
        terminal.expect(prompt)
        terminal.skip(prompt)
        terminal.type(answer)
    case = {"assessed_on": "2026-11-20", "patient": {"age": 35, "sex": "female"},
            "twitching": {"regions": [{"region": "calf", "side": "left", "since": "2026-11-18"}],
                          "course": "worsening"}}
    terminal.expect(next_questions(case).questions[0].text)
    terminal.type("maybe")
    terminal.expect("please answer yes/no/unknown")
    terminal.skip("please answer yes/no/unknown")
    terminal.expect("]: ")  # the same question, asked again
    terminal.skip("]: ")
    terminal.type("no")
    terminal.expect("]: ")  # the next question
    os.write(terminal.master, b"\x04")  # end of input: the interview ends without a traceback
    rest = ""
    try:
        rest = terminal.expect("Aborted")
    finally:
        code = terminal.close()
    assert code == 1 and "Traceback" not in rest

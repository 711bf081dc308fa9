"""The fenced code blocks of README.md and docs/*.md, and how the docs test runs them.

The convention (docs/contributing.md, "Commands in the docs"): every fence names its
language; ``sh`` and ``python`` blocks are run as written, in page order, on a fresh copy
of the repository; an HTML comment on the line before a fence changes that:

- ``<!-- docs-test: illustration REASON -->``: not run (a synopsis, an install step CI
  runs, a command needing what a test machine lacks); the reason is required.
- ``<!-- docs-test: fresh-clone -->``: run in a copy of its own with no ``.venv`` (the
  README's install line: it makes the venv, without extras, that other tests reuse).
- ``<!-- docs-test: exit N -->``: the block is expected to end with exit status N.

A line ending in `` &`` starts a server that stays up until the page's last block has run (or a
later block starts a server on the same port: the earlier one is stopped first, as a reader
would with Ctrl-C);
the test waits until each loopback port the block names answers. Every port a page names
(``--port N``, ``127.0.0.1:N``, ``localhost:N``) is replaced by one free port for the page.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

RUN_LANGUAGES = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python"}
SHOWN_LANGUAGES = {"text", "json", "yaml", "toml", "jsonl", "http", "ini", "html", "csv", "diff"}
MARKER_KINDS = ("illustration", "fresh-clone", "exit")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<kind>[\w-]+)\s*(?P<arg>.*?)\s*-->\s*$")
_PORT = re.compile(r"(?:(?<=--port[ =])|(?<=127\.0\.0\.1:)|(?<=localhost:))(?P<port>\d{2,5})\b")
# Commands that keep running: a line starting one must end with '&'.
_LONG_RUNNING = re.compile(r"^\s*(?:\S+=\S+\s+)*(?:\S*/)?(?:twitchrules\s+serve|dask\s+(?:scheduler|worker)|"
                           r"mkdocs\s+serve|uvicorn)\b")
# pip writing into an environment: outside a fresh clone that is the test's own venv.
_BACKGROUND = re.compile(r"\s&\s*(?:#.*)?$")
_PIP_INSTALL = re.compile(r"\b(?:pip3?|-m\s+pip)\s+install\b")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its code and its marker."""

    page: str
    line: int
    language: str
    code: str
    marker: str | None = None
    argument: str = ""

    @property
    def where(self) -> str:
        """``page:line`` of the opening fence."""
        return f"{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        """True when the test runs this block."""
        return self.language in RUN_LANGUAGES and self.marker != "illustration"


class FenceError(ValueError):
    """A fence or marker that breaks the convention."""


def blocks_of(page: Path) -> list[Block]:
    """Every fenced block of a page, with the marker on the line before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    name = page.relative_to(ROOT).as_posix()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines) and not (lines[index].strip().startswith(fence)
                                           and lines[index].strip().strip(fence[0]) == ""):
            body.append(lines[index][len(indent):] if lines[index].startswith(indent) else lines[index])
            index += 1
        index += 1
        language = info.split()[0].lower() if info else ""
        marker, argument = _marker_before(lines, start)
        found.append(Block(name, start + 1, language, "\n".join(body) + "\n", marker, argument))
    return found


def _marker_before(lines: list[str], fence: int) -> tuple[str | None, str]:
    for previous in range(fence - 1, -1, -1):
        if lines[previous].strip():
            match = _MARKER.match(lines[previous])
            return (match["kind"], match["arg"]) if match else (None, "")
    return None, ""


def problems(block: Block) -> list[str]:
    """What breaks the convention in a block (empty when nothing)."""
    found: list[str] = []
    if not block.language:
        found.append("the fence names no language (use ```text for output, ```sh for commands)")
    elif block.language not in RUN_LANGUAGES and block.language not in SHOWN_LANGUAGES:
        found.append(f"unknown fence language {block.language!r}")
    if block.marker is not None and block.marker not in MARKER_KINDS:
        found.append(f"unknown docs-test marker {block.marker!r} (one of {', '.join(MARKER_KINDS)})")
    if block.marker == "illustration" and not block.argument:
        found.append("an illustration marker must say why the block is not run")
    if block.marker == "exit" and not block.argument.isdigit():
        found.append("the exit marker needs a number: <!-- docs-test: exit 1 -->")
    if block.marker is not None and block.language not in RUN_LANGUAGES:
        found.append("a docs-test marker only applies to sh and python blocks")
    if block.runs and block.language in ("sh", "bash", "shell"):
        for line in block.code.splitlines():
            if _LONG_RUNNING.match(line) and not _BACKGROUND.search(line):
                found.append(f"{line.strip()!r} keeps running: end it with ' &'")
        if block.marker != "fresh-clone" and _PIP_INSTALL.search(block.code):
            found.append("'pip install' outside a fresh-clone block would change the test's own venv: "
                         "mark the block fresh-clone, or an illustration saying why")
    return found


def free_port() -> int:
    """A loopback TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_map(blocks: list[Block]) -> dict[str, str]:
    """Each port the page's run blocks name, mapped to a free loopback port."""
    return {port: str(free_port()) for block in blocks if block.runs
            for port in sorted({m["port"] for m in _PORT.finditer(block.code)})}


def with_ports(code: str, ports: dict[str, str]) -> str:
    """The code with every documented port replaced by the page's free port."""
    return _PORT.sub(lambda m: ports.get(m["port"], m["port"]), code)


def ports_in(code: str) -> list[int]:
    """The loopback ports a block names."""
    return sorted({int(m["port"]) for m in _PORT.finditer(code)})


def fresh_copy(target: Path) -> Path:
    """A copy of the repository's files (tracked and untracked, not ignored) at ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=False)
    if listed.returncode == 0:
        for name in listed.stdout.decode("utf-8").split("\0"):
            source = ROOT / name
            if name and source.is_file():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)
    else:  # not a git checkout (a source archive): everything but the build products
        shutil.copytree(ROOT, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv*", "build", "site", "dist", "__pycache__", "*.egg-info", ".*_cache"))
    return target


def block_env(state: Path) -> dict[str, str]:
    """The environment blocks run in: the test's venv first on PATH, state kept out of HOME."""
    bin_dir = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH=bin_dir + os.pathsep + env.get("PATH", ""), XDG_STATE_HOME=str(state),
               PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1", TERM="dumb", COLUMNS="100")
    return env


@dataclass
class Outcome:
    """What running one block gave."""

    block: Block
    status: int
    stdout: str
    stderr: str
    seconds: float

    def report(self) -> str:
        """The block, its status and the tail of its output, for a failure message."""
        return (f"{self.block.where} ({self.block.language}) exited {self.status}:\n{self.block.code}"
                f"--- stdout ---\n{self.stdout[-2000:]}\n--- stderr ---\n{self.stderr[-4000:]}")


def run_blocks(blocks: list[Block], workdir: Path, env: dict[str, str], timeout: float = 180) -> list[Outcome]:
    """Run the page's run blocks in order in ``workdir``; servers started with '&' stop at the end."""
    ports = port_map(blocks)
    groups: list[int] = []
    serving: dict[int, int] = {}  # port -> the process group of the server a block started on it
    outcomes: list[Outcome] = []
    logs = workdir.parent / f"{workdir.name}-logs"
    logs.mkdir(exist_ok=True)
    try:
        for number, block in enumerate(b for b in blocks if b.runs):
            code = with_ports(block.code, ports)
            command = (["bash", "-euo", "pipefail", "-c", code] if RUN_LANGUAGES[block.language] == "sh"
                       else [sys.executable, "-c", code])
            backgrounded = any(_BACKGROUND.search(line) for line in code.splitlines())
            if backgrounded:  # a new server on a port an earlier one holds: stop that one first
                for port in ports_in(code):
                    if port in serving:
                        stop_group(serving.pop(port))
            out_path, err_path = logs / f"{number}.out", logs / f"{number}.err"
            began = time.monotonic()
            with out_path.open("wb") as out, err_path.open("wb") as err:
                process = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=err,
                                           stdin=subprocess.DEVNULL, start_new_session=True)
                groups.append(process.pid)
                try:
                    status = process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    status = -1
            if status == 0 and backgrounded:
                for port in ports_in(code):
                    serving[port] = process.pid
                    if not wait_for_port(port, timeout=300):
                        status = -2
                        err_path.write_text(err_path.read_text() + f"\nnothing answered on port {port}\n")
            outcomes.append(Outcome(block, status, out_path.read_text(errors="replace"),
                                    err_path.read_text(errors="replace"), time.monotonic() - began))
            expected = int(block.argument) if block.marker == "exit" else 0
            if status != expected:
                break
    finally:
        for group in groups:
            stop_group(group)
    return outcomes


def wait_for_port(port: int, timeout: float) -> bool:
    """True once something accepts connections on the loopback port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def stop_group(group: int) -> None:
    """Stop a block's process group (its servers): SIGTERM, then SIGKILL after 10 s."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 0.0)):
        try:
            os.killpg(group, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

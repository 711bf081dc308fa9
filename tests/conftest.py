"""Shared fixtures: paths and small case builders."""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

# The suite (and every process it starts) keeps its disk cache to itself, not in the user's.
if not os.environ.get("TWITCHRULES_CACHE_DIR"):
    _CACHE = tempfile.mkdtemp(prefix="twitchrules-test-cache-")
    os.environ["TWITCHRULES_CACHE_DIR"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "tests" / "fixtures" / "starter"
EXAMPLES = ROOT / "examples"
CASES_DIR = ROOT / "rulesets" / "twitching" / "tests"
"""The bundled ruleset's own expected-outcome case files."""


@pytest.fixture
def starter_ruleset() -> Path:
    """The small starter ruleset the core tests use (independent of clinical content)."""
    return STARTER


def base_case(**findings: Any) -> dict[str, Any]:
    """A short single-site case with the given findings."""
    return {
        "assessed_on": "2026-11-20",
        "patient": {"age": 35, "sex": "female"},
        "twitching": {"regions": [{"region": "calf", "side": "left", "since": "2026-11-15"}],
                      "course": "stable"},
        "findings": dict(findings),
    }


def load_example(name: str) -> dict[str, Any]:
    """A bundled example case as a dict."""
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def with_changes(case: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of a case with top-level keys replaced."""
    changed = copy.deepcopy(case)
    changed.update(changes)
    return changed



@pytest.fixture(scope="session")
def docs_runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every page's commands and the README's install line, run side by side (they mostly wait).

    Returns ``{"install": future of (copy, outcome), page: future of (outcomes, the files
    the page's commands wrote in the copy)}``; see
    tests/docs_blocks.py for how a page runs.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .docs_blocks import PAGES, block_env, blocks_of, fresh_copy, run_blocks

    def install() -> Any:
        blocks = [b for b in blocks_of(PAGES[0]) if b.marker == "fresh-clone"]
        assert len(blocks) == 1, "README.md needs exactly one <!-- docs-test: fresh-clone --> install block"
        base = tmp_path_factory.mktemp("readme-install")
        workdir = fresh_copy(base / "repo")
        (outcome,) = run_blocks(blocks, workdir, block_env(base / "state"), timeout=900)
        return workdir, outcome

    def page(path: Path) -> Any:
        blocks = [b for b in blocks_of(path) if b.marker != "fresh-clone"]
        base = tmp_path_factory.mktemp(path.stem)
        workdir = fresh_copy(base / "repo")
        # The venv README's development line makes (.[dev], what CI installs) is the test's own.
        import sys

        (workdir / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
        before = {p for p in workdir.rglob("*") if ".venv" not in p.parts}
        outcomes = run_blocks(blocks, workdir, block_env(base / "state"))
        written = sorted(p.relative_to(workdir).as_posix() for p in workdir.rglob("*")
                         if p.is_file() and p not in before and ".venv" not in p.parts
                         and "__pycache__" not in p.parts)
        return outcomes, written

    pool = ThreadPoolExecutor(max_workers=4)
    futures: dict[Any, Any] = {"install": pool.submit(install)}
    for path in PAGES:
        if any(b.runs and b.marker != "fresh-clone" for b in blocks_of(path)):
            futures[path] = pool.submit(page, path)
    yield futures
    pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def readme_install(docs_runs: Any) -> Any:
    """The README's install line run as written in a fresh copy: its venv has no extras.

    One venv per test session (pip's cache makes it quick after the first run); the docs
    test checks its outcome and the extras tests use its ``.venv``.
    """
    return docs_runs["install"].result()

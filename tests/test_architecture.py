"""The package tree shows the pipeline: every module imports only what its package may."""

from __future__ import annotations

import ast
from pathlib import Path

import twitchrules

PACKAGE = Path(twitchrules.__file__).resolve().parent
ROOT = Path(__file__).resolve().parent.parent

LEAVES = {"errors", "resources", "version", "templates", "diskcache", "files"}
ALLOWED: dict[str, set[str]] = {
    "errors": set(), "resources": set(), "version": set(), "templates": set(), "diskcache": set(),
    "files": {"errors"},
    "case": {"errors", "diskcache"},
    "ruleset": {"case", "errors", "files", "resources", "templates", "diskcache", "version"},
    "engine": {"case", "ruleset", "errors", "diskcache", "version"},
    "conclusions": {"case", "ruleset", "engine", "errors"},
    "pipeline": {"case", "ruleset", "engine", "conclusions", "errors", "version"},
    "outputs": {"case", "ruleset", "conclusions", "templates", "errors", "files", "version"},
    "fhir": {"case", "errors", "version"},
    "verify": {"case", "ruleset", "engine", "conclusions", "pipeline", "templates", "errors",
               "version"},
    "population": {"pipeline", "case", "ruleset", "engine", "conclusions", "outputs", "templates",
                   "errors", "files", "version"},
    "explain": {"pipeline", "case", "ruleset", "engine", "conclusions", "outputs", "templates",
                "errors", "version"},
}
TOP = {"service", "cli"}


def _part(module: Path) -> str:
    """The first-level package (or top-level module) a file belongs to."""
    relative = module.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported_parts(module: Path) -> set[str]:
    """The first-level parts of twitchrules a module imports (relative imports resolved)."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    package = ["twitchrules", *module.relative_to(PACKAGE).parts[:-1]]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if not node.level:
                names.append(node.module or "")
                continue
            base = package[: len(package) - (node.level - 1)]
            if node.module:
                names.append(".".join([*base, node.module]))
            else:
                names += [".".join([*base, alias.name]) for alias in node.names]
    return {name.split(".")[1] for name in names
            if name.startswith("twitchrules.") and len(name.split(".")) > 1}


def test_imports_only_go_down_the_pipeline() -> None:
    """No module imports a part of twitchrules its package may not use."""
    problems = []
    for module in sorted(PACKAGE.rglob("*.py")):
        part = _part(module)
        if part == "__init__" or part in TOP:
            continue
        used = _imported_parts(module) - {part}
        extra = used - ALLOWED[part]
        if extra:
            problems.append(f"{module.relative_to(PACKAGE)} imports {sorted(extra)}")
    assert not problems, problems


def test_service_never_imports_the_cli() -> None:
    """The service sits below the CLI: it never imports it."""
    for module in sorted((PACKAGE / "service").rglob("*.py")):
        assert "cli" not in _imported_parts(module), module


def test_every_package_says_what_it_may_import() -> None:
    """Each package's __init__ docstring says what it does and what it may import."""
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc, f"{init.parent.name}: no 'May import' in its docstring"


def test_architecture_page_names_every_package() -> None:
    """docs/architecture.md and its drawing name every package of the tree."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawing = (ROOT / "docs" / "assets" / "architecture.svg").read_text(encoding="utf-8")
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        name = init.parent.name
        assert f"`{name}" in page, f"docs/architecture.md does not name {name}"
        assert f"{name}/" in drawing, f"the drawing does not show {name}/"


def test_py_typed_ships() -> None:
    """The package declares its type hints (PEP 561)."""
    assert (PACKAGE / "py.typed").is_file()

"""Resources: where the bundled rulesets, schemas and examples live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder ``rulesets``, ``schemas`` or ``examples``: inside the wheel, else the checkout."""
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"twitchrules data folder '{name}' is missing from the installation")


def bundled_ruleset_path() -> Path:
    """The path of the bundled ruleset (a folder)."""
    return data_dir("rulesets") / "twitching"


def schema_path(name: str) -> Path:
    """The path of a JSON Schema shipped with the package, e.g. ``ruleset``."""
    return data_dir("schemas") / f"{name}.schema.json"

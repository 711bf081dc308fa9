"""Schemas: the JSON Schemas of the case and the result, generated from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..case import Case
from ..case.vocabulary import CONTRACT_VERSION
from ..conclusions import Result
from ..files import write_whole

SCHEMA_BASE = "https://twitchrules.example/schemas/"


def case_schema() -> dict[str, Any]:
    """JSON Schema of the case (input), generated from ``Case``."""
    schema = Case.model_json_schema(mode="validation")
    schema["$id"] = SCHEMA_BASE + "case.schema.json"
    schema["description"] = (
        f"One assessment of one person's twitching (contract v{CONTRACT_VERSION}). Absent findings are unknown,"
        " never false. Enforced by the models beyond this schema: every "
        "twitching.regions[].since is not after assessed_on; dates are strict YYYY-MM-DD;"
        " laboratory values outside their plausible range are refused as likely unit errors."
    )
    return schema


def result_schema() -> dict[str, Any]:
    """JSON Schema of the result (output), generated from ``Result``."""
    schema = Result.model_json_schema(mode="serialization", by_alias=True)
    schema["$id"] = SCHEMA_BASE + "result.schema.json"
    return schema


def rendered_schemas() -> dict[str, str]:
    """The generated schema files by name, as the text written to ``schemas/``."""
    return {
        "case.schema.json": json.dumps(case_schema(), indent=2, ensure_ascii=False) + "\n",
        "result.schema.json": json.dumps(result_schema(), indent=2, ensure_ascii=False) + "\n",
    }


def write_schemas(folder: Path) -> list[Path]:
    """Write the generated schemas into ``folder``; return the paths written."""
    written = []
    for name, text in rendered_schemas().items():
        path = folder / name
        write_whole(path, text)
        written.append(path)
    return written

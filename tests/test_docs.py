"""The documented JSON schema names every field the result has."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from plansearch.result import Candidate, Plan, SearchResult, SearchStats

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("model", [SearchResult, SearchStats, Candidate, Plan])
def test_json_output_page_documents_every_field(model: type[BaseModel]) -> None:
    text = (DOCS / "json-output.md").read_text(encoding="utf-8")
    section = text.split(f"## `{model.__name__}`", 1)[1].split("\n## ", 1)[0]
    for name in model.model_fields:
        assert f"| `{name}` |" in section, f"{model.__name__}.{name}"

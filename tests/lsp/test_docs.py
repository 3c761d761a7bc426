"""The language server page documents exactly the settings the server reads."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from plansearch_lsp.options import SETTING_FIELDS, ServerOptions, camel_case, parse_options

PAGE = Path(__file__).resolve().parents[2] / "docs" / "language-server.md"


def test_every_setting_is_documented_and_every_documented_one_is_read() -> None:
    section = PAGE.read_text(encoding="utf-8").split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))
    read = {camel_case(name) for name in SETTING_FIELDS}
    read |= {camel_case(field.name) for field in fields(ServerOptions)}
    assert documented == read
    _, messages = parse_options({key: "not a valid value" for key in documented})
    rejected = {message.split(":")[0].removeprefix("plansearch.") for message in messages}
    assert rejected == documented - {"model", "baseUrl", "testsFile", "storePath",
                                     "codeActionCommand"}, "only text settings take text"

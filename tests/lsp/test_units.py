"""Small parts of the server that need no server process."""

from __future__ import annotations

import argparse
from typing import NoReturn

import pytest
from plansearch_lsp import documents
from plansearch_lsp.apply import text_edits
from plansearch_lsp.cli import add_serve_parser
from pygls.workspace import TextDocument


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("x = 1\n\x0c\ndef f():\n    ...\n", "x = 1\n\x0c\ndef f():\n    return 2\n",
         [((3, 0), (4, 0), "    return 2\n")]),
        ("a\r\nb\r\nc", "a\r\nb\r\nd", [((2, 0), (2, 1), "d")]),
        ("s = '😀'\nf()", "s = '😀'\ng()", [((1, 0), (1, 3), "g()")]),
        ("import os\n\ndef f():\n    ...\n", "import os\nimport re\n\ndef f():\n    pass\n",
         [((1, 0), (1, 0), "import re\n"), ((3, 0), (4, 0), "    pass\n")]),
    ],
)
def test_edits_count_lines_as_lsp_does(
    old: str, new: str, expected: list[tuple[tuple[int, int], tuple[int, int], str]]
) -> None:
    edits = text_edits(old, new, utf16)
    got = [((e.range.start.line, e.range.start.character),
            (e.range.end.line, e.range.end.character), e.new_text) for e in edits]
    assert got == expected


def test_serve_accepts_stdio_and_tcp_but_not_both() -> None:
    parser = argparse.ArgumentParser(prog="plansearch", exit_on_error=False)
    add_serve_parser(parser.add_subparsers(dest="command"))
    assert parser.parse_args(["serve", "--stdio"]).tcp is None
    args = parser.parse_args(["serve", "--tcp", "127.0.0.1:2087", "--log-file", "x.log"])
    assert (args.tcp, args.log_file, args.stdio) == ("127.0.0.1:2087", "x.log", False)
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--stdio", "--tcp", "127.0.0.1:1"])


def test_a_key_the_settings_found_is_scrubbed_from_the_log() -> None:
    from plansearch_lsp.secrets import KeyStore, Redactor
    from pydantic import SecretStr

    keys = KeyStore()
    redactor = Redactor(keys)
    secret = "config-file-key-0123456789abcdef"
    assert secret in redactor.scrub(f"value {secret}")  # not known yet, not key-shaped
    keys.remember(SecretStr(secret))
    assert redactor.scrub(f"value {secret}") == "value [redacted]"
    assert keys.get("anthropic") is None  # remembered for scrubbing only


def test_a_document_over_the_limit_is_never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused on its size alone: parsing it would stall every request behind it."""

    def parse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the document was parsed")

    monkeypatch.setattr(documents, "find_stubs", parse)
    monkeypatch.setattr(documents.ast, "parse", parse)
    body = "def f(x: int) -> int:\n    return x\n\n"
    text = body * (documents.MAX_DOCUMENT_CHARS // len(body) + 1)
    huge = TextDocument("file:///ws/huge.py", text, version=1, language_id="python")
    with pytest.raises(documents.DocumentError, match=r"huge\.py is too large for PlanSearch"):
        documents.DocumentCache().analyse(huge)
    small = TextDocument("file:///ws/small.py", body, version=1, language_id="python")
    with pytest.raises(AssertionError, match="was parsed"):
        documents.DocumentCache().analyse(small)  # one under the limit is


def test_a_plan_is_prose_without_code_blocks_or_preamble() -> None:
    from plansearch_lsp.plan_text import code_text, prose

    sketch = ("Here is the revised sketch:\n\n**Sketch:**\nSort by start.\n\n```python\n"
              "def f(xs):\n    return sorted(xs)\n```\n\n\n\nThen merge neighbours.\n~~~\nx\n")
    assert prose(sketch) == "Sort by start.\n\nThen merge neighbours."
    assert prose("```python\nonly code\n```") is None
    assert prose("Use a heap: pop the two smallest.") == "Use a heap: pop the two smallest."
    assert code_text("```\nfor x in xs:\n    emit(x)\n```") == "for x in xs:\n    emit(x)"
    assert code_text("for x in xs: emit(x)") == "for x in xs: emit(x)"


def test_each_client_hears_how_it_sets_a_key_and_where_its_log_is() -> None:
    from plansearch_lsp.wording import Audience

    text = ("Set a valid key with `export OPENAI_API_KEY=...` or check --base-url; "
            "see the log.")
    code = Audience.of("Visual Studio Code", extension=True, log_file="/l/lsp.log")
    assert code.editor == "VS Code"
    assert code.say(text) == ('Set a valid key with the command "PlanSearch: Set API Key" or '
                              "check `plansearch.baseUrl`; see the log.")
    nvim = Audience.of("Neovim", extension=False, log_file="/l/lsp.log")
    assert nvim.say(text) == ("Set a valid key with `OPENAI_API_KEY` in the environment Neovim "
                              "is started from or check `plansearch.baseUrl`; see the log "
                              "(/l/lsp.log).")
    assert Audience.of(None, extension=False).editor == "the editor"
    assert Audience.of("Helix", extension=False).editor == "Helix"


def test_progress_is_one_account_in_words_with_plurals() -> None:
    from plansearch_lsp.progress import Counts

    counts = Counts(stage="writing plans", calls=1, tokens=1, written=1, tested=1, passing=1)
    assert counts.message() == "writing plans · 1 call · 1 token · 1 candidate, 1 tested, 1 passing"
    counts = Counts(stage="testing", calls=14, failed_calls=2, tokens=5210, written=6)
    assert counts.message() == "testing · 14 calls (2 failed) · 5,210 tokens · 6 candidates"
    assert counts.dump() == {"stage": "testing", "calls": 14, "failedCalls": 2, "tokens": 5210,
                             "candidates": 6, "tested": 0, "passing": 0}

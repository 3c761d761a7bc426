"""Messages in an editor's words: settings, not command-line flags (plansearch_lsp.wording)."""

from __future__ import annotations

import pytest
from plansearch_lsp.wording import editor_words


@pytest.mark.parametrize(
    ("terminal", "editor"),
    [
        ("Set it with --base-url or OPENAI_BASE_URL.",
         "Set it with `plansearch.baseUrl` or OPENAI_BASE_URL."),
        ("  --provider openai --base-url http://localhost:11434/v1 --model llama3.1",
         "  `plansearch.provider` = openai `plansearch.baseUrl` = http://localhost:11434/v1 "
         "`plansearch.model` = llama3.1"),
        ("use --no-tests to skip testing, or --isolation rlimits)",
         "use `plansearch.runTests` = false to skip testing, or `plansearch.isolation` = rlimits)"),
        ("raise the timeout (PLANSEARCH_TIMEOUT).", "raise the timeout (`plansearch.timeout`)."),
        ("Check --model, and that --base-url ends in /v1.",
         "Check `plansearch.model`, and that `plansearch.baseUrl` ends in /v1."),
        ("--frobnicate and PLANSEARCH_NOTHING stay", "--frobnicate and PLANSEARCH_NOTHING stay"),
    ],
)
def test_flags_and_variables_become_the_editors_settings(terminal: str, editor: str) -> None:
    assert editor_words(terminal) == editor

"""Hover over a function a search wrote: the plan it came from and its test results.

The function is recognised by the fingerprint of its code in the run store, so this works
after a restart, and shows the latest results after the tests were re-run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from plansearch.ranking import RankedCandidate
from plansearch.store import RunStore, StoredCandidate, StoreError
from plansearch.types import TestStatus

from .documents import DocumentCache, DocumentError
from .plan_text import code_text, prose

logger = logging.getLogger("plansearch_lsp")
MAX_TEST_ROWS = 20
_MARKS = {TestStatus.PASS: "✓"}


def hover(
    documents: Workspace,
    analyses: DocumentCache,
    params: types.HoverParams,
    *,
    store_of: Callable[[TextDocument], RunStore | None],
    markdown: bool,
) -> types.Hover | None:
    """The plan of the function whose header is under the cursor (in one of the client's
    `documents`, parsed with `analyses`), if a search wrote it: looked up in the run store
    of the document's project (`store_of`, None when there is none), as Markdown or plain
    text (see `wants_markdown`)."""
    document = documents.get_text_document(params.text_document.uri)
    try:
        analysis = analyses.analyse(document)
    except (DocumentError, OSError):
        return None
    span = analysis.function_at(params.position.line + 1)
    if span is None:
        return None
    store = store_of(document)
    if store is None:
        return None
    try:
        found = store.find_by_code(analysis.source_of(span))
    except StoreError as error:
        logger.warning("hover cannot read the run store: %s", error)
        return None
    if found is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText,
            value=render(found, markdown=markdown)),
        range=types.Range(start=types.Position(line=span.start_line - 1, character=0),
                          end=types.Position(line=span.header_end_line, character=0)),
    )


def render(found: StoredCandidate, *, markdown: bool) -> str:
    """The hover text: what produced the function, its plan, and its tests."""
    out = _Writer(markdown)
    candidate, plan, ranked = found.candidate, found.candidate.plan, found.ranked
    out.title(f"PlanSearch candidate {candidate.id}")
    made = (f"{found.strategy} with {found.model} ({found.provider}), "
            f"{found.created:%Y-%m-%d %H:%M} UTC")
    if ranked is not None and found.run is not None:
        made += f"; ranked {ranked.rank}"
    out.line(made + ("; applied" if found.applied else ""))
    if ranked is not None and ranked.tested:
        out.line(f"Tests: {ranked.tally_text} ({ranked.explanation})")
    if ranked is not None and (ranked.side_effects or ranked.special_casing):
        out.section("Warnings")
        out.bullets(warnings(ranked))
    observations = [text for o in plan.observations if (text := prose(o))]
    if observations:
        out.section("Observations")
        out.bullets(observations)
    for name, text in (("Sketch", prose(plan.sketch)), ("Criticism", prose(plan.criticism)),
                       ("Fixed sketch", prose(plan.fixed_sketch))):
        if text:
            out.section(name)
            out.text(text)
    pseudocode = code_text(plan.pseudocode)
    if pseudocode:
        out.section("Pseudocode")
        out.code(pseudocode)
    if found.run is not None and found.tests:
        out.section("Test results")
        out.tests(found)
    return out.value()


class _Writer:
    """Markdown, or the same structure as plain text."""

    def __init__(self, markdown: bool) -> None:
        self.markdown = markdown
        self.parts: list[str] = []

    def title(self, text: str) -> None:
        self.parts.append(f"### {text}" if self.markdown else text.upper())

    def line(self, text: str) -> None:
        self.parts.append(text)

    def section(self, name: str) -> None:
        self.parts.append(f"**{name}**" if self.markdown else f"{name}:")

    def text(self, text: str) -> None:
        self.parts.append(text.strip())

    def bullets(self, items: list[str]) -> None:
        self.parts.append("\n".join(f"- {item.strip()}" for item in items))

    def code(self, text: str) -> None:
        if not self.markdown:
            self.parts.append(text.rstrip())
            return
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, longest + 1)
        self.parts.append(f"{fence}text\n{text.rstrip()}\n{fence}")

    def tests(self, found: StoredCandidate) -> None:
        assert found.run is not None
        outcomes = {outcome.test_id: outcome for outcome in found.run.outcomes}
        rows = []
        for test in found.tests[:MAX_TEST_ROWS]:
            outcome = outcomes.get(test.id)
            status = outcome.status if outcome else None
            mark = _MARKS.get(status, "✗") if status else "-"
            note = outcome.message.splitlines()[0] if outcome and outcome.message else ""
            trusted = "" if test.trusted else " (model-written)"
            state = status.value if status else "not run"
            if outcome is not None and outcome.judged == "in_process":
                state += " (in-process)"
            if self.markdown:
                rows.append(f"| {mark} | `{test.id}` | {test.source}{trusted} | {state} | "
                            f"{_cell(note)} |")
            else:
                rows.append(f"  {mark} {test.id} [{test.source}{trusted}] {state} {note}".rstrip())
        if self.markdown:
            rows = ["| | test | source | status | note |", "|---|---|---|---|---|", *rows]
        more = len(found.tests) - MAX_TEST_ROWS
        if more > 0:
            rows.append(f"... and {more} more")
        self.parts.append("\n".join(rows))

    def value(self) -> str:
        return "\n\n".join(self.parts)


def warnings(ranked: RankedCandidate) -> list[str]:
    """What a person should know before applying the candidate, one line each."""
    where = {"outside": "seen by the sandbox", "reported": "reported by its process",
             "code": "in its code"}  # fmt: skip
    lines = [f"{effect.detail} ({where[effect.seen]})" for effect in ranked.side_effects]
    lines += [f"may special-case the tests: {reason}" for reason in ranked.special_casing]
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|")[:120]


def wants_markdown(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client shows hovers written in Markdown."""
    document = capabilities.text_document
    hover = document.hover if document else None
    formats = hover.content_format if hover else None
    return bool(formats) and types.MarkupKind.Markdown in (formats or [])

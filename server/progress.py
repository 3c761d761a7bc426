"""Work-done progress of one search: stage, calls, tokens, candidates tested.

The search starts at once; the progress token (the client's, or one created with
`window/workDoneProgress/create`) may arrive a little later, and reports begin then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.progress import Progress

from plansearch.events import (
    CallFinished,
    CallStarted,
    CandidateReady,
    CandidateTested,
    RankingChanged,
    SearchEvent,
    StageStarted,
)
from plansearch.words import plural

from .wire import ProgressToken

logger = logging.getLogger("plansearch_lsp")
_MIN_INTERVAL = 0.1
"""Seconds between two reports, unless a candidate was tested or the stage changed."""


STAGE_WORDS = {
    "observations": "finding observations",
    "sketch": "writing plans",
    "critique": "criticising plans",
    "fix": "fixing plans",
    "pseudocode": "writing pseudocode",
    "code": "writing code",
    "tests": "writing tests",
}
"""What each stage of the engine does, in words."""


@dataclass
class Counts:
    """One account of a search's progress: what every place that shows it says."""

    stage: str = "starting"
    """In words: "writing plans", "testing"."""
    calls: int = 0
    failed_calls: int = 0
    tokens: int = 0
    written: int = 0
    tested: int = 0
    passing: int = 0

    def update(self, event: SearchEvent) -> bool:
        """Take in an event; True when it changed what matters enough to report at once."""
        if isinstance(event, StageStarted | CallStarted):
            words = STAGE_WORDS.get(event.stage, event.stage)
            changed = words != self.stage
            self.stage = words
            return changed and isinstance(event, StageStarted)
        if isinstance(event, CallFinished):
            self.calls = event.stats.calls
            self.failed_calls = event.stats.failed_calls
            self.tokens = event.stats.usage.input_tokens + event.stats.usage.output_tokens
            if event.in_flight == 0 and event.queued == 0 and self.written > self.tested:
                self.stage = "testing"
        elif isinstance(event, CandidateReady):
            self.written += 1
        elif isinstance(event, CandidateTested):
            self.tested += 1
        elif isinstance(event, RankingChanged):
            self.passing = event.ranking.passing
            return True
        return False

    def message(self) -> str:
        """``writing plans · 14 calls · 5,210 tokens · 6 candidates, 4 tested, 2 passing``."""
        calls = plural(self.calls, "call")
        if self.failed_calls:
            calls += f" ({self.failed_calls:,} failed)"
        candidates = plural(self.written, "candidate")
        if self.tested:
            candidates += f", {self.tested:,} tested, {self.passing:,} passing"
        return " · ".join([self.stage, calls, plural(self.tokens, "token"), candidates])

    def dump(self) -> dict[str, object]:
        """The same account as numbers, for a client that shows it in several places."""
        return {"stage": self.stage, "calls": self.calls, "failedCalls": self.failed_calls,
                "tokens": self.tokens, "candidates": self.written, "tested": self.tested,
                "passing": self.passing}


class ProgressReporter:
    """Reports one search's progress once it has a token, through `progress` (pygls's
    work-done progress of the connection, which keeps the tokens) and `send` (`$/progress`);
    `create_tokens`: the client accepts tokens the server creates (see `creates_tokens`).

    Each value carries the message (`Counts.message`) and, beside it, the same account as
    numbers (`counts`), so that a client showing progress in several places shows one
    account everywhere."""

    def __init__(
        self, progress: Progress, title: str, *, create_tokens: bool,
        send: Callable[[types.ProgressParams], None],
    ) -> None:
        self._progress = progress
        self._send = send
        self._title = title
        self._create_tokens = create_tokens
        self.counts = Counts()
        self.token: ProgressToken | None = None
        self._sent = ""
        self._last = 0.0
        self._ended = False

    async def open(self, token: ProgressToken | None, server_token: str) -> None:
        """Begin reporting on the client's `token`, or on `server_token` created now when
        the client supports that. Cancelling this await leaves the search running."""
        if token is None:
            if not self._create_tokens:
                return
            try:
                await self._progress.create_async(server_token)
            except JsonRpcException as error:
                logger.info("no progress shown: the client refused a token (%s)", error)
                return
            token = server_token
        if self._ended:
            return
        self.token = token
        self._progress.tokens.setdefault(token, Future())  # a cancel from the client lands
        self._value("begin", title=self._title, cancellable=True)

    def update(self, event: SearchEvent) -> None:
        urgent = self.counts.update(event)
        if self.token is None or self._ended:
            return
        if self.counts.message() != self._sent and (
            urgent or time.monotonic() - self._last >= _MIN_INTERVAL
        ):
            self._value("report", cancellable=True)

    def end(self, message: str) -> None:
        """End the progress (once) with a summary."""
        if self._ended:
            return
        self._ended = True
        if self.token is None:
            return
        if self.counts.message() != self._sent:
            self._value("report")
        self._send(types.ProgressParams(token=self.token, value={
            "kind": "end", "message": message, "counts": self.counts.dump()}))
        self._progress.tokens.pop(self.token, None)

    def _value(self, kind: str, **fields: object) -> None:
        assert self.token is not None
        message = self.counts.message()
        self._send(types.ProgressParams(token=self.token, value={
            "kind": kind, **fields, "message": message, "counts": self.counts.dump()}))
        self._sent, self._last = message, time.monotonic()


def creates_tokens(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client accepts progress tokens the server creates
    (`window/workDoneProgress/create`)."""
    window = capabilities.window
    return bool(window and window.work_done_progress)

"""Work-done progress of one search: stage, calls, tokens, candidates tested.

The search starts at once; the progress token (the client's, or one created with
`window/workDoneProgress/create`) may arrive a little later, and reports begin then.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.progress import Progress

from plansearch.events import (
    CallFinished,
    CandidateReady,
    CandidateTested,
    RankingChanged,
    SearchEvent,
    StageStarted,
)

from .wire import ProgressToken

logger = logging.getLogger("plansearch_lsp")
_MIN_INTERVAL = 0.1
"""Seconds between two reports, unless a candidate was tested or the stage changed."""


@dataclass
class Counts:
    """What the progress line shows."""

    stage: str = "starting"
    calls: int = 0
    tokens: int = 0
    written: int = 0
    tested: int = 0
    passing: int = 0

    def update(self, event: SearchEvent) -> bool:
        """Take in an event; True when it changed what matters enough to report at once."""
        if isinstance(event, StageStarted):
            self.stage = event.stage
            return True
        if isinstance(event, CallFinished):
            self.calls = event.stats.calls
            self.tokens = event.stats.usage.input_tokens + event.stats.usage.output_tokens
        elif isinstance(event, CandidateReady):
            self.written += 1
        elif isinstance(event, CandidateTested):
            self.tested += 1
            return True
        elif isinstance(event, RankingChanged):
            self.passing = event.ranking.passing
        return False

    def message(self) -> str:
        parts = [self.stage, f"{self.calls} calls", f"{self.tokens:,} tokens",
                 f"{self.written} candidates"]
        if self.tested:
            parts.append(f"{self.tested} tested, {self.passing} passing")
        return " · ".join(parts)


class ProgressReporter:
    """Reports one search's progress once it has a token, through `progress` (pygls's
    work-done progress of the connection); `create_tokens`: the client accepts tokens the
    server creates (see `creates_tokens`)."""

    def __init__(self, progress: Progress, title: str, *, create_tokens: bool) -> None:
        self._progress = progress
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
        self._progress.begin(token, types.WorkDoneProgressBegin(
            title=self._title, message=self.counts.message(), cancellable=True))
        self._sent = self.counts.message()
        self._last = time.monotonic()

    def update(self, event: SearchEvent) -> None:
        urgent = self.counts.update(event)
        if self.token is None or self._ended:
            return
        message = self.counts.message()
        now = time.monotonic()
        if message != self._sent and (urgent or now - self._last >= _MIN_INTERVAL):
            self._progress.report(self.token, types.WorkDoneProgressReport(
                message=message, cancellable=True))
            self._sent, self._last = message, now

    def end(self, message: str) -> None:
        """End the progress (once) with a summary."""
        if self._ended:
            return
        self._ended = True
        if self.token is None:
            return
        if self.counts.message() != self._sent:
            self._progress.report(self.token, types.WorkDoneProgressReport(
                message=self.counts.message()))
        self._progress.end(self.token, types.WorkDoneProgressEnd(message=message))
        self._progress.tokens.pop(self.token, None)


def creates_tokens(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client accepts progress tokens the server creates
    (`window/workDoneProgress/create`)."""
    window = capabilities.window
    return bool(window and window.work_done_progress)

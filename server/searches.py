"""Running searches: `plansearch/generate`, with progress, partial results and cancellation.

A search runs on the engine's loop (`engine.py`), made by the workbench, and is watched by a
task of its own on the LSP loop (a `SearchJob`) that translates its events into progress and
partial results, so the request that started it can be cancelled (`$/cancelRequest`) without
losing what finished: cancelling the request, or the progress
(`window/workDoneProgress/cancel`), stops the search, and the request still answers with the
candidates that were ready, ranked, with `finishReason: "cancelled"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pydantic import ValidationError
from pygls.progress import Progress
from pygls.workspace import Workspace

from plansearch.events import CandidateReady, CandidateTested, RankingChanged, SearchEvent
from plansearch.execution.errors import ExecutorError, SandboxUnavailable
from plansearch.models.cache import CacheError
from plansearch.models.errors import ModelError
from plansearch.problem import ProblemError
from plansearch.result import Candidate, SearchResult
from plansearch.search import Search
from plansearch.words import plural
from plansearch.workbench import Target as SearchTarget
from plansearch.workbench import Workbench

from .documents import DocumentCache, DocumentError, columns, file_name
from .engine import EngineThread
from .options import parse_overrides
from .progress import ProgressReporter
from .targets import Target, TargetError, resolve
from .wire import (
    GENERATE,
    CandidateItem,
    GenerateParams,
    GenerateResult,
    PartialResult,
    Place,
    ProgressToken,
    RequestFailed,
    SearchStatsItem,
    candidate_item,
    parse_params,
    places,
    ranked_items,
)
from .wording import editor_words

logger = logging.getLogger("plansearch_lsp")
_KEPT_SEARCHES = 32
"""Finished searches kept for `plansearch/apply` (the oldest are forgotten)."""
_SETTINGS_WAIT = 10.0
"""Seconds a search waits for the client's settings at startup."""


class SearchJob:
    """One search of one target: a task on the LSP loop that waits for the search on the
    engine loop and translates its events.

    The `workbench` makes the search on the `engine` loop; the job reports on `progress`
    and sends each candidate with `send_partial` (None: the client wants no partial
    results). Nothing runs until `start`."""

    def __init__(
        self,
        target: Target,
        overrides: dict[str, Any],
        workspace: Path | None,
        *,
        engine: EngineThread,
        workbench: Workbench,
        progress: ProgressReporter,
        send_partial: Callable[[PartialResult], None] | None,
        say: Callable[[str], str] = editor_words,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.target = target
        self.workspace = workspace
        self.started = time.monotonic()
        self.progress = progress
        self.result: SearchResult | None = None
        self.run_id: str | None = None
        self.task: asyncio.Task[GenerateResult] | None = None
        self._engine = engine
        self._workbench = workbench
        self._send_partial = send_partial
        self._overrides = overrides
        self._search: Search | None = None
        self._candidates: dict[str, Candidate] = {}
        self._opening: asyncio.Task[None] | None = None
        self._cancelled = False
        self._say = say
        self._tested: CandidateTested | None = None
        """A test run whose ranking (the next event) has not come yet."""

    def start(self) -> asyncio.Task[GenerateResult]:
        """Start the search (on the engine loop) and this job's watch of it."""
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self.task

    def candidate(self, candidate_id: str) -> Candidate | None:
        """A candidate of this search: of its result, or streamed so far while it runs."""
        if self.result is not None:
            return next((c for c in self.result.candidates if c.id == candidate_id), None)
        return self._candidates.get(candidate_id)

    @property
    def server_token(self) -> str:
        return f"plansearch-{self.id}"

    def show_progress(self, token: ProgressToken | None) -> None:
        """Report progress on the client's `token`, or on one the server asks for; the
        search does not wait for the client's answer."""
        self._opening = asyncio.get_running_loop().create_task(
            self.progress.open(token, self.server_token))

    def cancel(self) -> None:
        """Stop the search; it finishes with what it has."""
        self._cancelled = True
        self._engine.call(self._cancel_on_engine)

    async def outcome(self) -> GenerateResult:
        """Wait for the end; if the waiting is cancelled, cancel the search and still
        return what it kept."""
        assert self.task is not None, "the job was not started"
        try:
            return await asyncio.shield(self.task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            self.cancel()
            return await self.task

    async def _run(self) -> GenerateResult:
        """The search runs on the engine's loop; this waits and sums up. The job is kept
        for `plansearch/apply` after this: it keeps the result, not the search."""
        try:
            home = asyncio.get_running_loop()
            self.result = await self._engine.run(self._search_on_engine(home))
        except RequestFailed as error:
            self.progress.end(f"failed: {error.message}")
            raise
        except Exception:
            logger.exception("search %s failed", self.id)
            self.progress.end("failed: an internal error (see the log)")
            raise
        finally:
            if self._opening is not None:
                self._opening.cancel()  # a token the client has not granted yet: unneeded
            self._candidates.clear()
        outcome = self.summary()
        summary = _summary(self.result)
        self.progress.end(summary if outcome.candidates or not outcome.message
                          else outcome.message)
        logger.info("search %s ended: %s%s", self.id, summary,
                    f": {self.result.message}" if self.result.errors else "")
        return outcome

    async def _search_on_engine(self, home: asyncio.AbstractEventLoop) -> SearchResult:
        """On the engine loop: the workbench's search, every event relayed `home`."""
        target = SearchTarget(
            self.target.problem,
            module_source=self.target.source,
            workspace=self.workspace,
            document_uri=self.target.uri,
        )
        with _as_request_failure():
            search = await self._workbench.search(target, self._overrides)
        self._search = search
        try:
            if self._cancelled:
                search.cancel()
            testing = bool(search.tests) or search.settings.generate_tests > 0
            async for event in search.events():
                home.call_soon_threadsafe(self._on_event, event, testing)
        finally:
            self._search = None
        assert search.result is not None
        self.run_id = search.run_id
        return search.result

    def _cancel_on_engine(self) -> None:
        if self._search is not None:
            self._search.cancel()

    def summary(self) -> GenerateResult:
        result = self.result
        assert result is not None
        stats = result.stats
        failures = stats.failure_summary()
        message = " ".join(part for part in (result.message, failures) if part) or None
        if message is not None:
            message = self._say(message)
        return GenerateResult(
            search_id=self.id, run_id=self.run_id, target=self.target.label,
            strategy=result.strategy, model=result.model,
            finish_reason=result.finish_reason.value, message=message,
            candidates=ranked_items(result),
            tests=sum(test.trusted for test in result.tests),
            stats=SearchStatsItem(
                calls=stats.calls, input_tokens=stats.usage.input_tokens,
                output_tokens=stats.usage.output_tokens, seconds=stats.wall_seconds,
                failed_calls=stats.failed_calls, retries=stats.retries,
                recovered_calls=stats.recovered_calls, faults=dict(stats.faults),
                empty_replies=stats.empty_replies, dropped_branches=stats.dropped_branches),
            errors=[self._say(error) for error in result.errors],
        )

    def _on_event(self, event: SearchEvent, testing: bool) -> None:
        """On the LSP loop: the candidate as a partial result, then progress, so that the
        counts a client shows never run ahead of the candidates it has.

        A test run (`CandidateTested`) is followed at once by the ranking it changed
        (`RankingChanged`): the candidate goes out with every candidate's new place, and
        the progress counts both."""
        if isinstance(event, CandidateReady):
            self._candidates[event.candidate.id] = event.candidate
            if not testing:
                self._partial([candidate_item(event.candidate, None)], None)
        elif isinstance(event, CandidateTested):
            self._tested = event
            return
        elif isinstance(event, RankingChanged):
            tested, self._tested = self._tested, None
            if tested is not None:
                self._partial([candidate_item(self._candidates[tested.candidate_id],
                                              tested.ranked)], places(event.ranking))
                self.progress.update(tested)
        self.progress.update(event)

    def _partial(self, items: list[CandidateItem], ranking: list[Place] | None) -> None:
        if self._send_partial is not None:
            self._send_partial(PartialResult(search_id=self.id, candidates=items,
                                             ranking=ranking))


@contextlib.contextmanager
def _as_request_failure() -> Iterator[None]:
    """What stops a search before it starts, as the request's error, in the editor's words."""
    try:
        yield
    except ModelError as error:  # a missing key too: the client's words say how to set one
        raise RequestFailed(error.message) from None
    except ValidationError as error:
        raise RequestFailed(f"the settings are not valid: {error}") from None
    except (ProblemError, CacheError) as error:
        raise RequestFailed(str(error)) from None
    except (ExecutorError, SandboxUnavailable) as error:
        raise RequestFailed(
            f"cannot run candidates: {error} (set plansearch.runTests to false, or "
            "plansearch.isolation to rlimits)") from None


class SearchRegistry:
    """Searches running now, and recent ones to apply from."""

    def __init__(self) -> None:
        self._running: dict[str, SearchJob] = {}
        self._starting: set[str] = set()
        """Targets whose search is being set up and not yet running."""
        self._recent: OrderedDict[str, SearchJob] = OrderedDict()

    def add(self, job: SearchJob) -> None:
        """Track `job`, which has been started."""
        assert job.task is not None, "the job was not started"
        self._running[job.target.key] = job
        self._recent[job.id] = job
        while len(self._recent) > _KEPT_SEARCHES:
            self._recent.popitem(last=False)
        job.task.add_done_callback(lambda _: self._finished(job))

    def _finished(self, job: SearchJob) -> None:
        if self._running.get(job.target.key) is job:
            del self._running[job.target.key]

    @contextlib.contextmanager
    def starting(self, target: Target) -> Iterator[None]:
        """Hold `target` while its search is set up: a second request for it fails at once,
        whichever of the two would finish its setup first."""
        self.check_free(target)
        self._starting.add(target.key)
        try:
            yield
        finally:
            self._starting.discard(target.key)

    def check_free(self, target: Target) -> None:
        if target.key in self._starting:
            raise RequestFailed(
                f"A search for {target.label} in {file_name(target.uri)} is already running "
                "(it is starting). Cancel it or wait for it to finish.")
        running = self._running.get(target.key)
        if running is not None:
            seconds = time.monotonic() - running.started
            raise RequestFailed(
                f"A search for {target.label} in {file_name(target.uri)} is already "
                f"running (started {seconds:.0f} s ago, search {running.id}). Cancel it or "
                "wait for it to finish.", data={"searchId": running.id})

    def get(self, search_id: str) -> SearchJob | None:
        return self._recent.get(search_id)

    def by_token(self, token: ProgressToken) -> SearchJob | None:
        return next((job for job in self._running.values() if job.progress.token == token),
                    None)

    def running(self) -> list[SearchJob]:
        return list(self._running.values())


@dataclass(frozen=True, kw_only=True)
class SearchServices:
    """What starting searches takes from the server (its handlers gather it)."""

    documents: Workspace
    """The client's documents (pygls's workspace)."""
    analyses: DocumentCache
    registry: SearchRegistry
    engine: EngineThread
    workbench: Workbench
    """Makes the searches, on the `engine` loop."""
    configured: asyncio.Event
    """Set once the client's settings are read."""
    project_of: Callable[[Path | None], Path | None]
    """The project a file belongs to (its tests and run store live there)."""
    progress: Progress
    """pygls's work-done progress of the connection."""
    creates_progress: bool
    """The client accepts progress tokens the server creates (`progress.creates_tokens`)."""
    send_progress: Callable[[types.ProgressParams], None]
    """Sends `$/progress` (a partial result) to the client."""
    say: Callable[[str], str] = editor_words
    """Puts a text for the client's user in their words (`wording.Audience.say`)."""

    def job(
        self, target: Target, overrides: dict[str, Any], workspace: Path | None,
        partial_token: ProgressToken | None,
    ) -> SearchJob:
        """A search job (not started) reporting to this client; its candidates go to
        `partial_token` as they come, if there is one."""
        progress = ProgressReporter(self.progress, f"PlanSearch: {target.label}",
                                    create_tokens=self.creates_progress,
                                    send=self.send_progress)
        send_partial = (None if partial_token is None
                        else _partial_sender(self.send_progress, partial_token))
        return SearchJob(target, overrides, workspace, engine=self.engine,
                         workbench=self.workbench, progress=progress,
                         send_partial=send_partial, say=self.say)


def _partial_sender(
    send: Callable[[types.ProgressParams], None], token: ProgressToken
) -> Callable[[PartialResult], None]:
    """Sends partial results as `$/progress` on the client's `token`."""

    def send_partial(partial: PartialResult) -> None:
        send(types.ProgressParams(token=token, value=partial.dump()))

    return send_partial


async def begin(services: SearchServices, params: GenerateParams) -> SearchJob:
    """Resolve the target and start the search; RequestFailed if it cannot.

    The target is held from the first step, before anything is awaited, so that of two
    requests for one function the first sent wins. Then the client's settings are waited for
    (a few seconds at most). The settings, the tests and a provider are made on the engine
    loop, so the editor's requests never wait behind them."""
    uri = params.text_document.uri
    document = services.documents.get_text_document(uri)
    try:
        analysis = services.analyses.analyse(document)
    except (DocumentError, OSError) as error:
        raise RequestFailed(_document_message(error, uri)) from None
    if params.range is not None:
        start_at, end_at = params.range.start, params.range.end
    elif params.position is not None:
        start_at = end_at = params.position
    else:
        raise RequestFailed("plansearch/generate needs a position or a range")
    path = Path(document.path) if document.path else None
    codec = document.position_codec
    try:
        target = resolve(uri, document.version, analysis,
                         columns(analysis, codec, start_at.line, start_at.character),
                         columns(analysis, codec, end_at.line, end_at.character),
                         path=path, signature=params.signature)
        overrides = parse_overrides(params.overrides)
    except (TargetError, ValueError) as error:
        raise RequestFailed(str(error)) from None
    workspace = services.project_of(path)
    with services.registry.starting(target):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(services.configured.wait(), _SETTINGS_WAIT)
        job = services.job(target, overrides, workspace, params.partial_result_token)
        job.start()
        services.registry.add(job)
    logger.info("search %s started: %s in %s", job.id, target.label, file_name(uri))
    return job


async def generate(services: SearchServices, raw: object) -> dict[str, object]:
    """`plansearch/generate`: run a search to its end (or its cancellation)."""
    params = parse_params(GenerateParams, raw, GENERATE)
    setup = asyncio.ensure_future(begin(services, params))
    try:
        job = await asyncio.shield(setup)
    except asyncio.CancelledError:  # cancelled while it was set up: it answers all the same
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        job = await setup
        job.cancel()
    job.show_progress(params.work_done_token)
    return (await job.outcome()).dump()


def _summary(result: SearchResult | None) -> str:
    if result is None:
        return "failed"
    ranking = result.ranking
    passing = ""
    if ranking and ranking.trusted_tests:
        passing = f", {ranking.passing} {'passes' if ranking.passing == 1 else 'pass'} every test"
    return f"{plural(len(result.candidates), 'candidate')}{passing} ({result.finish_reason.value})"


def _document_message(error: Exception, uri: str) -> str:
    if isinstance(error, OSError):
        return f"cannot read {file_name(uri)}: {error.strerror or error}"
    return str(error)

"""Running searches: `plansearch/generate`, with progress, partial results and cancellation.

A search runs on the engine's loop (`engine.py`), watched by a task of its own on the LSP
loop (a `SearchJob`), so the request that started it can be cancelled (`$/cancelRequest`)
without losing what finished: cancelling the request, or the progress
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
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pydantic import ValidationError

from plansearch.config import Settings
from plansearch.events import CandidateReady, CandidateTested, SearchEvent
from plansearch.execution.executor import Executor, ExecutorError
from plansearch.execution.sandbox import SandboxUnavailable
from plansearch.models.base import Provider
from plansearch.models.errors import MissingKeyError, ModelError
from plansearch.models.factory import make_provider
from plansearch.problem import ProblemError
from plansearch.result import Candidate, SearchResult
from plansearch.search import Search
from plansearch.store import StoreError
from plansearch.testsources.collect import collect_tests
from plansearch.types import TestCase

from .documents import DocumentError, columns, file_name
from .options import OVERRIDE_FIELDS, parse_overrides
from .progress import ProgressReporter
from .targets import Target, TargetError, resolve
from .wire import (
    GENERATE,
    GenerateParams,
    GenerateResult,
    PartialResult,
    ProgressToken,
    RequestFailed,
    SearchStatsItem,
    candidate_item,
    parse_params,
    ranked_items,
)

if TYPE_CHECKING:
    from .engine import EngineThread
    from .server import PlanSearchServer

logger = logging.getLogger("plansearch_lsp")
_KEPT_SEARCHES = 32
"""Finished searches kept for `plansearch/apply` (the oldest are forgotten)."""
_SETTINGS_WAIT = 10.0
"""Seconds a search waits for the client's settings at startup."""


class SearchJob:
    """One search of one target: a task on the LSP loop that waits for the search on the
    engine loop."""

    def __init__(
        self, ls: PlanSearchServer, target: Target, settings: Settings, provider: Provider,
        workspace: Path | None, partial_token: ProgressToken | None,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.target = target
        self.settings = settings
        self.workspace = workspace
        self.started = time.monotonic()
        self.progress = ProgressReporter(ls, f"PlanSearch: {target.label}")
        self.result: SearchResult | None = None
        self.run_id: str | None = None
        self._ls = ls
        self._partial_token = partial_token
        self._search: Search | None = None
        self._candidates: dict[str, Candidate] = {}
        self._opening: asyncio.Task[None] | None = None
        self._cancelled = False
        self.task: asyncio.Task[GenerateResult] = asyncio.get_running_loop().create_task(
            self._run(provider))

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
        self._ls.engine.call(self._cancel_on_engine)

    async def outcome(self) -> GenerateResult:
        """Wait for the end; if the waiting is cancelled, cancel the search and still
        return what it kept."""
        try:
            return await asyncio.shield(self.task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            self.cancel()
            return await self.task

    async def _run(self, provider: Provider) -> GenerateResult:
        """The search runs on the engine's loop; this waits, then saves and sums up. The job
        is kept for `plansearch/apply` after this: it keeps the result, not the provider or
        the search's working state."""
        try:
            home = asyncio.get_running_loop()
            self.result = await self._ls.engine.run(self._search_on_engine(home, provider))
            self.run_id = await self._save(self.result)
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
            await self._ls.searches.providers.release(provider, self._ls.engine)
        summary = _summary(self.result)
        self.progress.end(summary)
        logger.info("search %s ended: %s%s", self.id, summary,
                    f": {self.result.message}" if self.result.errors else "")
        return self.summary()

    async def _search_on_engine(
        self, home: asyncio.AbstractEventLoop, provider: Provider
    ) -> SearchResult:
        """On the engine loop: collect the tests, search, relay every event `home`."""
        try:
            tests = await self._tests()
            async with self._executor(tests) as executor:
                search = Search(self.target.problem, self.settings, provider=provider,
                                executor=executor, tests=tests,
                                module_source=self.target.source)
                self._search = search
                if self._cancelled:
                    search.cancel()
                async for event in search.events():
                    home.call_soon_threadsafe(self._on_event, event, executor is not None)
        finally:
            self._search = None
        assert search.result is not None
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
            errors=result.errors,
        )

    async def _tests(self) -> list[TestCase]:
        if not self.settings.run_tests:
            return []
        try:
            return await asyncio.to_thread(collect_tests, self.target.problem, self.settings,
                                           workspace=self.workspace)
        except ProblemError as error:
            raise RequestFailed(str(error)) from None

    @contextlib.asynccontextmanager
    async def _executor(self, tests: list[TestCase]) -> AsyncIterator[Executor | None]:
        if not (tests or self.settings.generate_tests):
            yield None
            return
        try:
            module = self.target.problem.source_path
            async with self._ls.executors.lease(
                self.settings, self.workspace, Path(module) if module else None
            ) as executor:
                yield executor
        except (ExecutorError, SandboxUnavailable) as error:
            raise RequestFailed(
                f"cannot run candidates: {error} (set plansearch.runTests to false, or "
                "plansearch.isolation to rlimits)") from None

    def _on_event(self, event: SearchEvent, testing: bool) -> None:
        """On the LSP loop: progress, and the candidate as a partial result."""
        self.progress.update(event)
        if isinstance(event, CandidateReady):
            self._candidates[event.candidate.id] = event.candidate
        if self._partial_token is None:
            return
        if isinstance(event, CandidateTested):
            item = candidate_item(self._candidates[event.candidate_id], event.ranked)
        elif isinstance(event, CandidateReady) and not testing:
            item = candidate_item(event.candidate, None)
        else:
            return
        self._ls.progress(types.ProgressParams(
            token=self._partial_token,
            value=PartialResult(search_id=self.id, candidates=[item]).dump()))

    async def _save(self, result: SearchResult) -> str | None:
        store = self._ls.store_for(self.workspace)
        if store is None:
            return None
        try:
            return await asyncio.to_thread(
                store.save_run, result, self.target.problem, document_uri=self.target.uri,
                workspace=str(self.workspace) if self.workspace else None,
                module_source=self.target.source)
        except StoreError as error:
            logger.warning("the run was not saved (hover will not know it): %s", error)
            return None


class ProviderPool:
    """Model providers, one per configuration, shared by the searches that use it.

    Making a provider loads the system's certificates into its HTTP client: tens of
    milliseconds of CPU, and about a megabyte that outlives the closed provider until a full
    garbage collection. Made once, it also keeps its connections for the next search. The
    pool is used on the LSP loop; a provider is used and closed on the engine loop. One for
    settings that changed since is closed when its last search ends.
    """

    def __init__(self) -> None:
        self._current: tuple[tuple[str, str | None], Provider] | None = None
        self._users: dict[Provider, int] = {}
        self._lock = asyncio.Lock()

    async def lease(self, settings: Settings, engine: EngineThread) -> Provider:
        """The provider for `settings` (made in a worker thread when the configuration is
        new); RequestFailed when it cannot be made. Give it back with `release`."""
        key = _provider_key(settings)
        async with self._lock:
            current = self._current
            if current is None or current[0] != key:
                current = (key, await asyncio.to_thread(_make_provider, settings))
                old, self._current = self._current, current
                if old is not None and old[1] not in self._users:
                    await _close(old[1], engine)
            provider = current[1]
            self._users[provider] = self._users.get(provider, 0) + 1
        return provider

    async def release(self, provider: Provider, engine: EngineThread) -> None:
        """A search is done with `provider`; close it if it is unused and not current."""
        self._users[provider] -= 1
        if self._users[provider] == 0:
            del self._users[provider]
            if self._current is None or self._current[1] is not provider:
                await _close(provider, engine)

    async def aclose(self, engine: EngineThread) -> None:
        """Close every provider (the searches have ended)."""
        providers = set(self._users)
        if self._current is not None:
            providers.add(self._current[1])
        self._current = None
        self._users.clear()
        for provider in providers:
            await _close(provider, engine)


async def _close(provider: Provider, engine: EngineThread) -> None:
    """Close `provider` on the engine loop, where its connections live."""
    try:
        await engine.run(provider.aclose())
    except Exception as error:  # its connections are dropped either way
        logger.warning("closing the %s client failed: %r", provider.name, error)


class SearchRegistry:
    """Searches running now, recent ones to apply from, and the providers they share."""

    def __init__(self) -> None:
        self._running: dict[str, SearchJob] = {}
        self._starting: set[str] = set()
        """Targets whose search is being set up (settings, provider) and not yet running."""
        self._recent: OrderedDict[str, SearchJob] = OrderedDict()
        self.providers = ProviderPool()

    def add(self, job: SearchJob) -> None:
        """Track `job`; RequestFailed when a search of the same target is running."""
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


async def begin(ls: PlanSearchServer, params: GenerateParams) -> SearchJob:
    """Resolve the target and settings and start the search; RequestFailed if it cannot.

    The target is held from the first step, before anything is awaited, so that of two
    requests for one function the first sent wins. Then the client's settings are waited for
    (a few seconds at most), and the settings (and a provider, when they are new) are made in
    a worker thread: that takes tens of milliseconds, more on a busy machine, and the
    editor's requests must not wait behind it."""
    uri = params.text_document.uri
    document = ls.workspace.get_text_document(uri)
    try:
        analysis = ls.documents.analyse(document)
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
    workspace = ls.workspace_for(path)
    with ls.searches.starting(target):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ls.configured.wait(), _SETTINGS_WAIT)
        settings = await asyncio.to_thread(_settings, ls, overrides, workspace)
        provider = await ls.searches.providers.lease(settings, ls.engine)
        job = SearchJob(ls, target, settings, provider, workspace, params.partial_result_token)
        ls.searches.add(job)
    logger.info("search %s started: %s in %s", job.id, target.label, file_name(uri))
    return job


def _settings(
    ls: PlanSearchServer, overrides: dict[str, Any], workspace: Path | None
) -> Settings:
    """The search's settings; RequestFailed when they are not valid."""
    try:
        return ls.settings(overrides, workspace)
    except ValidationError as error:
        raise RequestFailed(f"the settings are not valid: {error}") from None


_SEARCH_ONLY = frozenset({*OVERRIDE_FIELDS, "tests_file", "api_key"})
"""Settings that vary between searches of one configuration (per request or per
workspace) and leave the provider alone; the key counts apart, unmasked."""


def _provider_key(settings: Settings) -> tuple[str, str | None]:
    """What makes two searches' providers interchangeable: every other setting, and the key."""
    return settings.model_dump_json(exclude=set(_SEARCH_ONLY)), settings.resolved_api_key()


def _make_provider(settings: Settings) -> Provider:
    """`make_provider`, with its errors as RequestFailed."""
    try:
        return make_provider(settings)
    except MissingKeyError as error:
        raise RequestFailed(f"{error.message}\nIn the editor, the PlanSearch extension's "
                            "'Set API key' command keeps one in its secret storage.") from None
    except ModelError as error:
        raise RequestFailed(error.message) from None


async def generate(ls: PlanSearchServer, raw: object) -> dict[str, object]:
    """`plansearch/generate`: run a search to its end (or its cancellation)."""
    params = parse_params(GenerateParams, raw, GENERATE)
    setup = asyncio.ensure_future(begin(ls, params))
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
    passing = f", {ranking.passing} pass every test" if ranking and ranking.trusted_tests else ""
    return f"{len(result.candidates)} candidates{passing} ({result.finish_reason.value})"


def _document_message(error: Exception, uri: str) -> str:
    if isinstance(error, OSError):
        return f"cannot read {file_name(uri)}: {error.strerror or error}"
    return str(error)

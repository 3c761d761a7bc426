"""The engine, assembled once: everything a search needs, built from settings.

    async with Workbench(settings) as bench:
        search = await bench.search(Target(problem, module_source, workspace))
        async for event in search.events():
            ...                              # translate: terminal, LSP, a report

A `Workbench` owns the model providers, the executors that test candidates, the response
cache, the run stores and test collection; it closes all it opened. Front ends (the CLI, the
watcher, the bench, the language server) hold one and only translate between their world and
the events. What goes wrong before a search can start raises the error of the part that
failed: `ModelError` (no key, a provider that cannot be made), `ProblemError` (a missing tests
file), `ExecutorError` / `SandboxUnavailable` (candidates cannot run), `CacheError`, or
pydantic's `ValidationError` (settings).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import SecretStr

from plansearch.config import Settings
from plansearch.models.cache import ResponseCache
from plansearch.models.factory import make_provider, provider_key
from plansearch.models.retry import RetryPolicy
from plansearch.pools import Pool
from plansearch.problem import Problem
from plansearch.ranking import Ranking
from plansearch.result import SearchResult
from plansearch.search import Search
from plansearch.store import RunStore, StoredRun, StoreError, default_store_path
from plansearch.types import CandidateRun, TestCase

if TYPE_CHECKING:
    from plansearch.execution.executor import Executor
    from plansearch.execution.limits import Limits
    from plansearch.models.base import Provider

logger = logging.getLogger("plansearch")


class KeySource(Protocol):
    """API keys a front end holds (the editor's secret storage)."""

    def get(self, provider: str) -> SecretStr | None:
        """The key for `provider`, if the front end has one (it wins over the settings')."""
        ...

    def remember(self, key: SecretStr) -> None:
        """A key the settings found elsewhere (a config file): to scrub from logs too."""
        ...


_ExecutorKey = tuple["Limits", str, tuple[Path, ...], tuple[str, ...]]


@dataclass(frozen=True)
class Target:
    """What to search: a problem, the module it lives in, and where its project is."""

    problem: Problem
    module_source: str | None = None
    workspace: Path | None = None
    """The project folder: its tests rank the candidates, its run store keeps the run."""
    document_uri: str | None = None
    """The editor's document, kept with the run (for hover)."""

    @property
    def module_path(self) -> Path | None:
        return Path(self.problem.source_path) if self.problem.source_path else None


@dataclass(frozen=True)
class Rerun:
    """A stored run's candidates run again against the tests as they are now."""

    tests: list[TestCase]
    runs: dict[str, CandidateRun]
    ranking: Ranking


class Workbench:
    """Providers, executors, the response cache and run stores, made on first use, shared
    by every search, closed by `aclose` (or leaving `async with`)."""

    def __init__(
        self,
        settings: Settings | Mapping[str, Any],
        *,
        keys: KeySource | None = None,
        store_path: Path | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        """`settings`, or the values to read over the environment and the config file for
        each search (an editor's settings); `keys` gives the front end's own API keys, which
        win over the settings'; `store_path` puts every run in one store instead of each
        project's own."""
        self._settings = settings if isinstance(settings, Settings) else None
        self._values: dict[str, Any] = {} if isinstance(settings, Settings) else dict(settings)
        self._keys = keys
        self._store_path = store_path
        self._retry_policy = retry_policy
        self._providers: Pool[tuple[str, str | None], Provider] = Pool(_close_provider)
        self._executors: Pool[_ExecutorKey, Executor] = Pool(_close_executor)
        self._caches: dict[Path, ResponseCache] = {}
        self._stores: dict[Path, RunStore] = {}
        self._failed_stores: set[Path] = set()

    async def __aenter__(self) -> Workbench:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def settings(self) -> Settings:
        """The settings searches start from (ValidationError when they are not valid)."""
        return self._settings if self._settings is not None else Settings(**self._values)

    def reconfigure(self, values: Mapping[str, Any], *, store_path: Path | None = None) -> None:
        """New settings for the searches to come (the editor's changed): `values` over the
        environment and the config file, read again for each search. Providers and
        executors that no longer fit are replaced when next leased."""
        self._settings = None
        self._values = dict(values)
        self._store_path = store_path

    def settings_for(
        self, overrides: Mapping[str, Any] | None = None, workspace: Path | None = None
    ) -> Settings:
        """The settings of one search: `overrides` on top, a relative tests file under
        `workspace`, and the front end's own key. Raises ValidationError."""
        if self._settings is None:
            settings = Settings(**{**self._values, **(overrides or {})})
        elif overrides:
            settings = Settings(**{**self._settings.model_dump(), **overrides})
        else:
            settings = self._settings
        tests_file = settings.tests_file
        if tests_file is not None and not tests_file.is_absolute() and workspace is not None:
            settings = settings.model_copy(update={"tests_file": workspace / tests_file})
        if self._keys is None:
            return settings
        if settings.api_key is not None:
            self._keys.remember(settings.api_key)
        key = self._keys.get(settings.provider)
        return settings if key is None else settings.model_copy(update={"api_key": key})

    def collect_tests(self, target: Target, settings: Settings) -> list[TestCase]:
        """The trusted tests of `target` (none when tests are off). Raises ProblemError."""
        from plansearch.testsources.collect import collect_tests

        if not settings.run_tests:
            return []
        return collect_tests(target.problem, settings, workspace=target.workspace)

    async def search(
        self, target: Target, overrides: Mapping[str, Any] | None = None
    ) -> Search:
        """A search of `target`, ready to run: its tests collected, a provider and (when
        there is something to test) an executor leased until it ends, and its run saved in
        the project's store when it finishes."""
        settings = self.settings_for(overrides, target.workspace)
        tests = await asyncio.to_thread(self.collect_tests, target, settings)
        resources = contextlib.AsyncExitStack()
        try:
            provider = await resources.enter_async_context(self.lease_provider(settings))
            executor = None
            if settings.run_tests and (tests or settings.generate_tests):
                executor = await resources.enter_async_context(
                    self.lease_executor(settings, target.workspace, target.module_path)
                )
            cache = self.cache_for(settings)
        except BaseException:
            await resources.aclose()
            raise
        return Search(
            target.problem,
            settings,
            provider=provider,
            cache=cache,
            executor=executor,
            tests=tests,
            module_source=target.module_source,
            retry_policy=self._retry_policy,
            resources=resources,
            save=lambda result: self._save(target, result),
        )

    async def rerun(self, stored: StoredRun, workspace: Path | None = None) -> Rerun:
        """Run a stored run's candidates against its tests as they are now, re-rank, and
        keep the new results in its store. Raises ProblemError, ExecutorError, StoreError."""
        from plansearch.rerun import rerun

        root = workspace or (Path(stored.workspace) if stored.workspace else None)
        settings = self.settings_for(None, root)
        module = Path(stored.problem.source_path) if stored.problem.source_path else None
        async with self.lease_executor(settings, root, module) as executor:
            tests, runs, ranking = await rerun(stored, executor, workspace=root, settings=settings)
        store = self.store_for(root)
        if store is not None:
            await asyncio.to_thread(store.update_tests, stored.run_id, tests, runs, ranking)
        return Rerun(tests, runs, ranking)

    @contextlib.asynccontextmanager
    async def lease_provider(self, settings: Settings) -> AsyncIterator[Provider]:
        """The provider `settings` configure, made on first use (ModelError if it cannot)."""
        made = lambda: asyncio.to_thread(make_provider, settings)  # noqa: E731 (certificates: CPU)
        async with self._providers.lease(provider_key(settings), made) as provider:
            yield provider

    @contextlib.asynccontextmanager
    async def lease_executor(
        self, settings: Settings, workspace: Path | None = None, module: Path | None = None
    ) -> AsyncIterator[Executor]:
        """An executor with the limits and isolation of `settings`, importing from
        `workspace`, whose test files (and `module`'s file) candidates cannot read."""
        key = await asyncio.to_thread(_executor_key, settings, workspace, module)
        async with self._executors.lease(key, lambda: _start_executor(key)) as executor:
            yield executor

    def cache_for(self, settings: Settings) -> ResponseCache | None:
        """The response cache `settings` name (opened once); None when caching is off."""
        if not settings.cache:
            return None
        cache = self._caches.get(settings.cache_path)
        if cache is None:
            cache = self._caches[settings.cache_path] = ResponseCache(settings.cache_path)
        return cache

    def store_for(self, workspace: Path | None, *, create: bool = True) -> RunStore | None:
        """The run store of a project (opened once); None when it cannot be used, or when
        there is none yet and `create` is false."""
        path = self._store_path or (default_store_path(workspace) if workspace else None)
        if path is None or path in self._failed_stores:
            return None
        store = self._stores.get(path)
        if store is None and not create and not path.exists():
            return None
        if store is None:
            try:
                store = self._stores[path] = RunStore(path)
            except StoreError as error:
                self._failed_stores.add(path)
                logger.warning("runs will not be kept (no hover over generated code): %s", error)
                return None
        return store

    async def aclose(self) -> None:
        """Close every provider, executor, cache and store this workbench opened."""
        await self._providers.aclose()
        await self._executors.aclose()
        for cache in self._caches.values():
            cache.close()
        self._caches.clear()
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    async def _save(self, target: Target, result: SearchResult) -> str | None:
        """Keep a run with candidates in the project's store; its id (None if not kept)."""
        store = self.store_for(target.workspace)
        if store is None or not result.candidates:
            return None
        try:
            return await asyncio.to_thread(
                store.save_run,
                result,
                target.problem,
                document_uri=target.document_uri,
                workspace=str(target.workspace) if target.workspace else None,
                module_source=target.module_source,
            )
        except StoreError as error:
            logger.warning("the run was not stored: %s", error)
            return None


def _executor_key(settings: Settings, workspace: Path | None, module: Path | None) -> _ExecutorKey:
    """What makes two searches' executors interchangeable (walks the workspace for the
    files to hide)."""
    from plansearch.execution.hiding import hidden_paths
    from plansearch.execution.limits import Limits

    limits = Limits(
        test_timeout=settings.test_timeout,
        candidate_timeout=settings.candidate_timeout,
        memory_mb=settings.memory_mb,
    )
    if workspace is None:
        return limits, settings.isolation, (), ()
    hidden = hidden_paths(workspace, extra=[module] if module else [])
    return limits, settings.isolation, (workspace,), tuple(hidden)


async def _start_executor(key: _ExecutorKey) -> Executor:
    from plansearch.execution.executor import Executor

    limits, isolation, paths, hidden = key
    executor = Executor(limits=limits, isolation=isolation, paths=paths, hidden=hidden)  # type: ignore[arg-type]
    await executor.start()
    return executor


async def _close_executor(executor: Executor) -> None:
    await executor.aclose()


async def _close_provider(provider: Provider) -> None:
    try:
        await provider.aclose()
    except Exception as error:  # its connections are dropped either way
        logger.warning("closing the %s client failed: %r", provider.name, error)

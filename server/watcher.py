"""Re-ranking stored runs when the test files they used change.

The workspace's Python files are watched (watchfiles); a change to a file that a stored
run took tests from re-runs that run's candidates against the tests as they are now,
updates the store, and tells the client with `plansearch/rankingChanged`.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from watchfiles import PythonFilter, awatch

from plansearch.config import Settings
from plansearch.execution.executor import ExecutorError
from plansearch.execution.sandbox import SandboxUnavailable
from plansearch.problem import ProblemError
from plansearch.ranking import Ranking
from plansearch.rerun import rerun
from plansearch.result import SearchResult
from plansearch.store import RunStore, StoredRun, StoreError
from plansearch.testsources.collect import find_workspace
from plansearch.types import CandidateRun, TestCase

from .wire import RANKING_CHANGED, RankingChangedParams, ranked_items

if TYPE_CHECKING:
    from .server import PlanSearchServer

logger = logging.getLogger("plansearch_lsp")
DEBOUNCE_MS = 200


class TestWatcher:
    """Watches one workspace folder while the server runs."""

    __test__ = False  # not a pytest class

    def __init__(self, ls: PlanSearchServer) -> None:
        self._ls = ls
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self, root: Path) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._watch(root))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self, root: Path) -> None:
        logger.info("watching %s for changes to tests", root)
        async for changes in awatch(root, watch_filter=PythonFilter(), debounce=DEBOUNCE_MS,
                                    stop_event=self._stop):
            for path in sorted({Path(name) for _, name in changes}):
                await self.test_file_changed(path)

    async def test_file_changed(self, path: Path) -> None:
        """Re-rank every stored run that took tests from `path`."""
        if not self._ls.options.server.watch_tests:
            return
        root = find_workspace(path)  # as for searches: the runs using it are stored there
        store = self._ls.store_for(root)
        if store is None:
            return
        try:
            run_ids = await asyncio.to_thread(store.runs_using_test_file, path)
        except StoreError as error:
            logger.warning("cannot look up runs using %s: %s", path, error)
            return
        for run_id in run_ids:
            async with self._lock:  # one re-run at a time: they share the executor
                await self._rerun(store, run_id, root, path)

    async def _rerun(self, store: RunStore, run_id: str, root: Path, path: Path) -> None:
        try:
            settings = self._ls.settings({}, root)
            stored = await asyncio.to_thread(store.load_run, run_id)
            if stored is None:
                return
            workspace = Path(stored.workspace) if stored.workspace else root
            tests, runs, ranking = await self._ls.engine.run(
                self._rerun_on_engine(stored, workspace, settings))
            await asyncio.to_thread(store.update_tests, run_id, tests, runs, ranking)
        except (StoreError, ProblemError, ExecutorError, SandboxUnavailable,
                ValidationError) as error:
            logger.warning("cannot re-rank run %s after %s changed: %s", run_id, path.name, error)
            return
        result: SearchResult = stored.result.model_copy(
            update={"tests": tests, "runs": runs, "ranking": ranking})
        label = _relative(path, root)
        logger.info("re-ranked %s after %s changed: %d of %d candidates pass",
                    stored.problem.qualname or "the run", label, ranking.passing,
                    len(result.candidates))
        self._ls.protocol.notify(RANKING_CHANGED, RankingChangedParams(
            run_id=run_id, uri=stored.document_uri, qualname=stored.problem.qualname,
            test_file=label, candidates=ranked_items(result)).dump())

    async def _rerun_on_engine(
        self, stored: StoredRun, root: Path, settings: Settings
    ) -> tuple[list[TestCase], dict[str, CandidateRun], Ranking]:
        module = stored.problem.source_path
        async with self._ls.executors.lease(
            settings, root, Path(module) if module else None
        ) as executor:
            return await rerun(stored, executor, workspace=root, settings=settings)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)

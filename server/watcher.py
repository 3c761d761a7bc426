"""Re-ranking stored runs when the test files they used change.

The workspace's Python files are watched (watchfiles); a change to a file that a stored
run took tests from re-runs that run's candidates against the tests as they are now,
updates the store, and tells the client with `plansearch/rankingChanged`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError
from watchfiles import PythonFilter, awatch

from plansearch.execution.errors import ExecutorError, SandboxUnavailable
from plansearch.problem import ProblemError
from plansearch.result import SearchResult
from plansearch.store import RunStore, StoreError
from plansearch.testsources.collect import find_workspace
from plansearch.workbench import Workbench

from .engine import EngineThread
from .wire import RANKING_CHANGED, RankingChangedParams, ranked_items

logger = logging.getLogger("plansearch_lsp")
DEBOUNCE_MS = 200


class TestWatcher:
    """Watches one workspace folder while the server runs, once `start`ed.

    The `workbench` re-runs a run on the `engine` loop; runs are found with `store_for` (a
    project's run store); the client is told with `notify(method, params)`; `watch_tests`
    says whether the setting asks for this now."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        *,
        engine: EngineThread,
        workbench: Workbench,
        store_for: Callable[[Path | None], RunStore | None],
        notify: Callable[[str, object], None],
        watch_tests: Callable[[], bool],
    ) -> None:
        self._engine = engine
        self._workbench = workbench
        self._store_for = store_for
        self._notify = notify
        self._watch_tests = watch_tests
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
        if not self._watch_tests():
            return
        root = find_workspace(path)  # as for searches: the runs using it are stored there
        store = self._store_for(root)
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
            stored = await asyncio.to_thread(store.load_run, run_id)
            if stored is None:
                return
            workspace = Path(stored.workspace) if stored.workspace else root
            again = await self._engine.run(self._workbench.rerun(stored, workspace))
        except (StoreError, ProblemError, ExecutorError, SandboxUnavailable,
                ValidationError) as error:
            logger.warning("cannot re-rank run %s after %s changed: %s", run_id, path.name, error)
            return
        result: SearchResult = stored.result.model_copy(
            update={"tests": again.tests, "runs": again.runs, "ranking": again.ranking})
        label = _relative(path, root)
        logger.info("re-ranked %s after %s changed: %d of %d candidates pass",
                    stored.problem.qualname or "the run", label, again.ranking.passing,
                    len(result.candidates))
        self._notify(RANKING_CHANGED, RankingChangedParams(
            run_id=run_id, uri=stored.document_uri, qualname=stored.problem.qualname,
            test_file=label, candidates=ranked_items(result)).dump())


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)

"""`plansearch watch FILE.py::FUNCTION`: re-rank a stored run whenever its tests change.

The engine is imported only when the command runs, so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from plansearch.cli.errors import CliError
from plansearch.cli.settings_args import add_test_arguments
from plansearch.cli.stored_target import StoredTarget
from plansearch.config import Settings
from plansearch.words import plural

if TYPE_CHECKING:
    from watchfiles import Change

    from plansearch.store import StoredRun
    from plansearch.workbench import Workbench


def add_watch_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `plansearch watch` and its flags."""
    watch = commands.add_parser(
        "watch", help="re-rank a stored run whenever the tests change",
        description="Re-run the candidates of the newest stored run for FILE.py::FUNCTION "
        "(made by `plansearch solve`) whenever a test file of the workspace changes, and "
        "print the new ranking. Ctrl-C stops.",
    )
    watch.add_argument("target", help="path/to/file.py::function_name (or ::Class.method)")
    watch.add_argument("--once", action="store_true", help="re-rank once and exit")
    watch.add_argument("--config", metavar="FILE", help="config file (TOML) to read")
    add_test_arguments(watch)


def run_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Run `watch`; returns the exit code (0 after Ctrl-C)."""
    from plansearch.execution.errors import ExecutorError, SandboxUnavailable
    from plansearch.problem import ProblemError
    from plansearch.store import StoreError
    from plansearch.workbench import Workbench

    target = StoredTarget.parse(args.target)
    err = Console(stderr=True, highlight=False)

    async def watch() -> None:
        # Ctrl-C cancels this task, by a handler of our own as `solve` has: asyncio.run
        # installs one only when SIGINT has Python's default handler, which a background job
        # (`plansearch watch ... &`, a CI step) does not have
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            async with Workbench(settings) as bench:
                store = bench.store_for(target.workspace)
                if store is None:
                    raise CliError(f"cannot open the run store {target.store_path}")
                stored = store.latest_run(target.path, target.function)
                if stored is None:
                    raise target.no_run()
                err.print(f"run {stored.run_id[:8]} of "
                          f"{stored.created.astimezone():%Y-%m-%d %H:%M}: "
                          f"{plural(len(stored.result.candidates), 'candidate')}")
                watcher = _Watcher(bench, stored, target.workspace.resolve(), settings,
                                   Console(), err)
                await watcher.run(once=args.once)
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    try:
        asyncio.run(watch())
    except StoreError as error:
        raise CliError(str(error)) from None
    except ProblemError as error:
        raise CliError(f"cannot collect the tests: {error}") from None
    except (ExecutorError, SandboxUnavailable) as error:
        raise CliError(f"cannot run candidates: {error} (try --isolation rlimits)") from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        err.print("stopped watching")
    return 0


@dataclass
class _Watcher:
    """Re-ranks one stored run, saving and printing each new ranking."""

    bench: Workbench
    stored: StoredRun
    workspace: Path
    settings: Settings
    out: Console
    err: Console

    async def run(self, *, once: bool) -> None:
        """Re-rank now, then (unless `once`) after every change of a test file."""
        from watchfiles import DefaultFilter, awatch

        from plansearch.problem import ProblemError

        if once:
            await self._rerank("re-ranked")
            return
        test_filter = _TestFiles(self.settings.tests_file, DefaultFilter())
        roots = {self.workspace, *test_filter.outside(self.workspace)}
        watching = False  # the first, empty, batch comes once the watch is in place
        async for changes in awatch(*roots, watch_filter=test_filter, yield_on_timeout=True,
                                    rust_timeout=500):
            if not watching:
                watching = True
                await self._rerank("re-ranked")
                self.err.print(f"watching the test files under {self.workspace} "
                               "(Ctrl-C to stop)")
                continue
            if not changes:
                continue
            names = sorted({_shown(Path(path), self.workspace) for _, path in changes})
            try:
                await self._rerank(f"{', '.join(names)} changed: re-ranked")
            except ProblemError as error:
                self.err.print(f"cannot collect the tests: {error}")

    async def _rerank(self, what: str) -> None:
        from plansearch.cli.render import candidates_table
        from plansearch.testsources.collect import describe

        again = await self.bench.rerun(self.stored, self.workspace)
        result = self.stored.result.model_copy(
            update={"tests": again.tests, "runs": again.runs, "ranking": again.ranking})
        trusted = again.ranking.trusted_tests
        every = "the trusted test" if trusted == 1 else f"all {trusted} trusted tests"
        self.err.print(f"{what}: {again.ranking.passing} of "
                       f"{plural(len(result.candidates), 'candidate')} pass {every} "
                       f"({describe(again.tests)})")
        self.out.print(candidates_table(result))


class _TestFiles:
    """Changes of files discovery reads tests from (``test_*.py``, ``*_test.py``) and of
    the explicit tests file, that `default` (watchfiles' filter of ignored folders) keeps."""

    def __init__(self, tests_file: Path | None, default: Callable[[Change, str], bool]) -> None:
        self.tests_file = tests_file.resolve() if tests_file is not None else None
        self.default = default

    def __call__(self, change: Change, path: str) -> bool:
        file = Path(path)
        named = file.suffix == ".py" and (
            file.name.startswith("test_") or file.name.endswith("_test.py")
        )
        chosen = self.tests_file is not None and file.resolve() == self.tests_file
        return (named or chosen) and self.default(change, path)

    def outside(self, workspace: Path) -> list[Path]:
        """The tests file's folder when it is not under `workspace` (to watch it too)."""
        if self.tests_file is None or self.tests_file.is_relative_to(workspace):
            return []
        return [self.tests_file.parent]


def _shown(path: Path, workspace: Path) -> str:
    return path.relative_to(workspace).as_posix() if path.is_relative_to(workspace) else str(path)

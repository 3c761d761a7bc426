"""The executor: runs candidates against tests in a pool of sandboxed fork servers.

    async with Executor(limits=Limits(test_timeout=2)) as executor:
        run = await executor.run(program, tests)

One worker per core by default; concurrent `run` calls are spread over the workers (see
`slots`), each running one candidate at a time with the next one queued. A worker that dies is
replaced. Cancelling `run` kills the candidate before the cancellation propagates; `aclose`
leaves no process behind.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import Sequence
from types import TracebackType
from typing import cast

from plansearch.execution import judge
from plansearch.execution.errors import ExecutorError
from plansearch.execution.hiding import redact_docstrings
from plansearch.execution.launch import worker_spec
from plansearch.execution.limits import Limits
from plansearch.execution.messages import Cancelled, RunRequest, RunResult, WireLimits
from plansearch.execution.sandbox import (
    IsolationReport,
    IsolationRequest,
    detect_isolation,
    warn_if_unprotected,
)
from plansearch.execution.slots import Slots
from plansearch.execution.worker import Worker, WorkerError
from plansearch.types import CandidateRun, Program, TestCase, TestOutcome, TestStatus

_REPLY_MARGIN = 10.0
_CANCEL_TIMEOUT = 3.0
_RESTART_ATTEMPTS = 3
# requests each worker holds at once: the next one waits in the fork server, so that the
# server starts it as soon as the current candidate is done
QUEUE_DEPTH = 2


class Executor:
    """Runs candidates, isolated and in parallel."""

    def __init__(
        self,
        workers: int | None = None,
        limits: Limits | None = None,
        isolation: IsolationRequest = "auto",
        paths: Sequence[str | os.PathLike[str]] = (),
        hidden: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        """`paths`: directories candidates and tests may import from (first on sys.path) and
        read; inside a sandbox they are the only part of the home directory left visible.
        `hidden`: files and folders under them that candidates must not read (test files, the
        module under test; see `hiding.hidden_paths`), at the sandboxed levels."""
        self._cores = _cores()
        self._size = workers or len(self._cores) or os.cpu_count() or 1
        # one worker per core (the default) pins each worker to its own core, so that a fork
        # server and its children never wait to be woken on another; otherwise the scheduler
        # places them
        self._pinned = self._size == len(self._cores)
        self._core_of: dict[Worker, int] = {}
        self._limits = limits or Limits()
        self._requested: IsolationRequest = isolation
        self._paths = [os.path.abspath(path) for path in paths]
        self._hidden = [os.path.abspath(path) for path in hidden]
        self._process_name = f"psc-{secrets.token_hex(4)}"
        self._slots: Slots[Worker] = Slots(QUEUE_DEPTH)
        self._workers: set[Worker] = set()
        self._restarts: set[asyncio.Task[None]] = set()
        self._report: IsolationReport | None = None
        self._ids = itertools.count(1)
        self._planner = judge.Planner()
        self._closed = False
        self._failure = ""

    @property
    def isolation(self) -> IsolationReport:
        """The protections candidates run with (known once started)."""
        if self._report is None:
            raise ExecutorError("the executor is not started")
        return self._report

    @property
    def process_name(self) -> str:
        """The name candidate processes carry (`ps`, /proc/<pid>/comm)."""
        return self._process_name

    @property
    def limits(self) -> Limits:
        """The limits a run has unless it brings its own."""
        return self._limits

    async def __aenter__(self) -> Executor:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Choose the isolation level and start the workers."""
        if self._report is not None:
            return
        report = await asyncio.to_thread(detect_isolation, self._requested)
        warn_if_unprotected(report)
        self._report = report
        cores: list[int | None] = list(self._cores) if self._pinned else [None] * self._size
        started = await asyncio.gather(
            *(self._start_worker(core) for core in cores), return_exceptions=True
        )
        errors = [result for result in started if isinstance(result, BaseException)]
        if errors:
            await self.aclose()
            raise ExecutorError(f"cannot start the workers: {errors[0]}") from errors[0]
        for worker in started:
            if isinstance(worker, Worker):
                self._slots.add(worker)

    async def run(
        self, program: Program, tests: Sequence[TestCase], limits: Limits | None = None
    ) -> CandidateRun:
        """Run `program` against `tests`, in order; one outcome per test."""
        if self._report is None or self._closed:
            raise ExecutorError("the executor is not running")
        if not all(part.isidentifier() for part in program.module_name.split(".")):
            raise ValueError(f"module_name {program.module_name!r} is not a dotted Python name")
        cases = list(tests)
        if not cases:
            return CandidateRun(outcomes=[])
        limits = limits or self._limits
        request: RunRequest | None = None
        plans: list[judge.PlannedTest] = []
        retried = False
        while True:
            worker = await self._acquire()
            if request is None:  # built once a worker is free: compiling tests takes a while
                plans = judge.plan_all(self._planner, cases)
                request = self._request(program, cases, plans, limits)
            if retried:
                # a second try runs alone, so that no candidate queued with it can end it
                await worker.wait_idle()
                if not worker.alive:
                    self._replace(worker)
                    continue
            try:
                reply = await worker.request(request, limits.candidate_timeout + _REPLY_MARGIN)
            except asyncio.CancelledError:
                await asyncio.shield(self._abandon(worker, request["id"]))
                raise
            except WorkerError as exc:
                # The worker died, perhaps from a candidate queued before this one: one more
                # try on a fresh worker, alone, so that only a candidate that kills every
                # worker it runs in loses its run (and that is its own error).
                self._replace(worker)
                if not retried:
                    retried = True
                    continue
                message = f"killed the test worker it ran in, twice ({exc})"
                return _failed(cases, message, TestStatus.ERROR)
            except TimeoutError:
                self._replace(worker)
                return _failed(cases, "the worker process did not answer; it was restarted")
            self._release(worker)
            break
        return _candidate_run(cases, plans, reply, limits)

    def _request(
        self,
        program: Program,
        cases: list[TestCase],
        plans: list[judge.PlannedTest],
        limits: Limits,
    ) -> RunRequest:
        """The run request: the program without its docstrings (which hold the examples'
        expected outputs), and each test as `judge` plans it, without expected values."""
        return {
            "t": "run",
            "id": next(self._ids),
            "program": {
                "source": redact_docstrings(program.source),
                "entry_point": program.entry_point,
                "module_name": program.module_name,
            },
            "tests": [
                judge.wire_test(plan, case, limits.output_bytes)
                for plan, case in zip(plans, cases, strict=True)
            ],
            "limits": _wire_limits(limits),
        }

    async def aclose(self) -> None:
        """Stop every worker; no process is left behind."""
        if self._closed:
            return
        self._closed = True
        self._slots.wake()
        for task in self._restarts:
            task.cancel()
        await asyncio.gather(*self._restarts, return_exceptions=True)
        await asyncio.gather(*(worker.close() for worker in self._workers), return_exceptions=True)
        self._workers.clear()

    async def _start_worker(self, core: int | None) -> Worker:
        spec = worker_spec(
            self.isolation.level,
            self._limits,
            self._process_name,
            self._paths,
            core=core,
            hidden=self._hidden,
        )
        worker = await Worker.start(spec)
        if self._closed:
            await worker.close()
            raise ExecutorError("the executor was closed")
        self._workers.add(worker)
        if core is not None:
            self._core_of[worker] = core
        return worker

    async def _acquire(self) -> Worker:
        while True:
            if self._closed:
                raise ExecutorError("the executor was closed")
            if not self._workers and not self._restarts:
                raise ExecutorError(f"no worker can be started: {self._failure}")
            worker = await self._slots.take()
            if worker is None:
                continue  # woken to look again
            if worker.alive:
                return worker
            self._replace(worker)

    def _release(self, worker: Worker) -> None:
        if not self._closed and worker in self._workers:
            self._slots.release(worker)

    async def _abandon(self, worker: Worker, run_id: int) -> None:
        """After a cancelled run: have the worker kill the candidate, or replace the worker."""
        try:
            await worker.cancel(run_id, _CANCEL_TIMEOUT)
        except (WorkerError, TimeoutError):
            self._replace(worker)
        else:
            self._release(worker)

    def _replace(self, worker: Worker) -> None:
        if worker not in self._workers:
            return  # already being replaced
        self._workers.discard(worker)
        self._slots.discard(worker)
        task = asyncio.create_task(self._restart(worker))
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, old: Worker) -> None:
        core = self._core_of.pop(old, None)  # the new worker takes the old one's core
        killing = asyncio.ensure_future(old.kill())
        try:
            await asyncio.shield(killing)
        except asyncio.CancelledError:
            await killing  # closing the executor: the old worker still goes, completely
            raise
        for attempt in range(_RESTART_ATTEMPTS):
            if self._closed:
                return
            try:
                self._slots.add(await self._start_worker(core))
                return
            except (WorkerError, ExecutorError) as exc:
                self._failure = str(exc)
                await asyncio.sleep(0.2 * 4**attempt)
        current = asyncio.current_task()
        if current is not None:
            self._restarts.discard(current)  # so that the runs woken now see it is over
        self._slots.wake()  # runs waiting for a worker see that none can start


def _wire_limits(limits: Limits) -> WireLimits:
    """`limits` as the sandbox gets them (the same fields: tests/test_messages.py)."""
    return cast("WireLimits", limits.model_dump())


def _candidate_run(
    cases: list[TestCase],
    plans: list[judge.PlannedTest],
    reply: RunResult | Cancelled,
    limits: Limits,
) -> CandidateRun:
    """The run a fork server's reply describes, checked: the server runs in the sandbox."""
    if reply["t"] != "result" or not isinstance(reply.get("outcomes"), list):
        return _failed(cases, "the worker sent no result")
    raw_outcomes = reply["outcomes"]
    if len(raw_outcomes) != len(cases):
        return _failed(cases, "the worker sent a result for a different number of tests")
    limit_values = _wire_limits(limits)
    outcomes = []
    for case, plan, raw in zip(cases, plans, raw_outcomes, strict=True):
        if isinstance(raw, dict):
            outcomes.append(judge.judge(case, plan, raw, limit_values))
        else:
            outcomes.append(_malformed(case))
    return CandidateRun(
        outcomes=outcomes,
        wall_ms=float(reply.get("wall_ms", 0.0)),
        stdout_truncated=bool(reply.get("stdout_truncated")),
        side_effects=judge.side_effects(reply.get("effects")),
    )


def _malformed(case: TestCase) -> TestOutcome:
    return TestOutcome(
        test_id=case.id, status=TestStatus.EXECUTOR_ERROR, message="malformed outcome"
    )


def _failed(
    cases: list[TestCase], message: str, status: TestStatus = TestStatus.EXECUTOR_ERROR
) -> CandidateRun:
    return CandidateRun(
        outcomes=[TestOutcome(test_id=case.id, status=status, message=message) for case in cases]
    )


def _cores() -> list[int]:
    """The CPUs this process may run on (none known where the system does not say)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return []

"""Progress where there is no terminal to redraw: one line per event worth knowing.

`ProgressLines` writes plain lines (a pipe, a CI log): a call that failed or is retried, a
branch dropped, a stage begun, a candidate written or tested, each with the counts so far.
`json_record` turns every event into one JSON object (`solve --json` writes them on stderr,
one per line); `docs/json-output.md` gives their schema.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console

from plansearch.events import (
    BranchDropped,
    CallFinished,
    CallRetrying,
    CallStarted,
    CandidateReady,
    CandidateTested,
    RankingChanged,
    SearchEvent,
    SearchFinished,
    StageStarted,
)
from plansearch.words import plural


class ProgressLines:
    """Folds events into counts and prints the ones worth a line."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._calls = 0
        self._failed = 0
        self._written = 0
        self._tested = 0
        self._passing = 0
        self._tested_line: str | None = None
        """A tested candidate's line, printed once the new ranking's counts are known."""

    def update(self, event: SearchEvent) -> None:
        """Take in one event; print a line if it is worth one."""
        line: str | None = None
        match event:
            case StageStarted(stage=stage):
                line = f"stage: {stage}"
            case CallFinished(error=error, stage=stage):
                self._calls += 1
                if error is not None:
                    self._failed += 1
                    line = f"a {stage} call failed: {error}"
            case CallRetrying(stage=stage, reason=reason, delay=delay):
                line = f"retrying a {stage} call in {delay:.1f} s: {reason}"
            case BranchDropped(stage=stage, reason=reason):
                line = f"dropped a {stage} branch: {reason}"
            case CandidateReady(candidate=candidate):
                self._written += 1
                line = f"candidate {candidate.id} written: {candidate.plan.headline()}"
            case CandidateTested(candidate_id=candidate_id, ranked=ranked):
                self._tested += 1
                self._tested_line = f"candidate {candidate_id} tested: {ranked.tally_text}"
            case RankingChanged(ranking=ranking):
                self._passing = ranking.passing
                line, self._tested_line = self._tested_line, None
        if line is not None:
            self._console.print(f"[{self._counts()}] {line}", markup=False, highlight=False,
                                soft_wrap=True)

    def _counts(self) -> str:
        failed = f", {self._failed} failed" if self._failed else ""
        return (f"{plural(self._calls, 'call')}{failed}; {plural(self._written, 'candidate')}, "
                f"{self._tested} tested, {self._passing} passing")


def json_record(event: SearchEvent) -> dict[str, Any]:
    """One event as a JSON-ready object: `time` (Unix seconds), `event` (its kind) and the
    fields that kind carries."""
    record: dict[str, Any] = {"time": round(time.time(), 3), "event": _KINDS[type(event)]}
    match event:
        case StageStarted(stage=stage, detail=detail):
            record.update(stage=stage, detail=detail)
        case CallStarted(call_id=call_id, stage=stage, in_flight=in_flight, queued=queued):
            record.update(call=call_id, stage=stage, in_flight=in_flight, queued=queued,
                          limit=event.limit)
        case CallFinished():
            record.update(call=event.call_id, stage=event.stage, cached=event.from_cache,
                          seconds=round(event.seconds, 3), error=event.error,
                          output_tokens=event.usage.output_tokens, in_flight=event.in_flight,
                          limit=event.limit, calls=event.stats.calls,
                          failed_calls=event.stats.failed_calls)
        case CallRetrying(call_id=call_id, stage=stage, reason=reason, delay=delay):
            record.update(call=call_id, stage=stage, reason=reason, delay=round(delay, 3))
        case BranchDropped(stage=stage, reason=reason):
            record.update(stage=stage, reason=reason)
        case CandidateReady(candidate=candidate):
            record.update(candidate=candidate.id, headline=candidate.plan.headline())
        case CandidateTested(candidate_id=candidate_id, ranked=ranked):
            record.update(candidate=candidate_id, rank=ranked.rank, tally=ranked.tally_text,
                          passes_all=ranked.passes_all, flags=ranked.flags)
        case RankingChanged(ranking=ranking):
            record.update(order=[r.candidate_id for r in ranking.candidates],
                          passing=ranking.passing)
        case SearchFinished(result=result, run_id=run_id):
            record.update(finish_reason=result.finish_reason.value, message=result.message,
                          candidates=len(result.candidates), run_id=run_id)
    return record


_KINDS: dict[type, str] = {
    StageStarted: "stage_started",
    CallStarted: "call_started",
    CallFinished: "call_finished",
    CallRetrying: "call_retrying",
    BranchDropped: "branch_dropped",
    CandidateReady: "candidate_ready",
    CandidateTested: "candidate_tested",
    RankingChanged: "ranking_changed",
    SearchFinished: "search_finished",
}

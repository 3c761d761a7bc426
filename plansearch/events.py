"""Events a search yields. Front ends render these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass

from plansearch.models.base import Usage
from plansearch.ranking import RankedCandidate, Ranking
from plansearch.result import Candidate, SearchResult, SearchStats
from plansearch.types import CandidateRun


@dataclass(frozen=True)
class StageStarted:
    """A stage of the method began (e.g. "observations", "sketches", "code")."""

    stage: str
    detail: str = ""


@dataclass(frozen=True)
class CallStarted:
    """A model call went out (or to the cache)."""

    call_id: int
    stage: str
    in_flight: int
    """Calls sent to the endpoint and not yet answered."""
    queued: int
    """Calls waiting for a concurrency slot."""
    limit: int | None = None
    """The endpoint's in-flight limit now (it adapts to what the endpoint sustains)."""


@dataclass(frozen=True)
class CallFinished:
    """A model call ended; `error` is set when it failed after retries."""

    call_id: int
    stage: str
    usage: Usage
    from_cache: bool
    seconds: float
    error: str | None
    stats: SearchStats
    in_flight: int
    queued: int
    limit: int | None = None
    """The endpoint's in-flight limit after this call."""


@dataclass(frozen=True)
class CallRetrying:
    """A call failed with a transient error and will be retried after `delay` seconds."""

    call_id: int
    stage: str
    reason: str
    delay: float


@dataclass(frozen=True)
class BranchDropped:
    """A branch of the search was abandoned (parse failure, failed call)."""

    stage: str
    reason: str


@dataclass(frozen=True)
class CandidateReady:
    """A new program was written."""

    candidate: Candidate


@dataclass(frozen=True)
class CandidateTested:
    """A candidate ran against the tests; `ranked` is its place in the new ranking."""

    candidate_id: str
    run: CandidateRun
    ranked: RankedCandidate


@dataclass(frozen=True)
class RankingChanged:
    """The ranking after the latest test run."""

    ranking: Ranking


@dataclass(frozen=True)
class SearchFinished:
    """The search ended; `result` holds everything that finished, `run_id` the stored run
    (None when it was not kept)."""

    result: SearchResult
    run_id: str | None = None


SearchEvent = (
    StageStarted
    | CallStarted
    | CallFinished
    | CallRetrying
    | BranchDropped
    | CandidateReady
    | CandidateTested
    | RankingChanged
    | SearchFinished
)

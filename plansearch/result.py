"""Candidates and search results: the stable, documented output schema (version 1)."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, Field

from plansearch.models.base import Usage
from plansearch.ranking import Ranking
from plansearch.types import CandidateRun, TestCase
from plansearch.words import plural

SCHEMA_VERSION = 1


class Plan(BaseModel):
    """The natural-language reasoning a candidate was written from (its provenance)."""

    observation_path: list[list[str]] = Field(
        default_factory=list,
        description="Observations per layer on the way to this node: first-order, then the "
        "second-order ones derived from them.",
    )
    observations: list[str] = Field(
        default_factory=list, description="The observations the sketch was asked to use."
    )
    sketch: str | None = Field(None, description="The natural-language solution sketch.")
    criticism: str | None = Field(
        None, description="The coach's criticism, when this candidate follows the fixed sketch."
    )
    fixed_sketch: str | None = Field(
        None, description="The sketch after the fix, when this candidate follows it."
    )
    pseudocode: str | None = Field(None, description="Pseudocode the code was written from.")

    def headline(self) -> str:
        """A one-line summary: the plan's own first idea (the first sentence of the sketch
        the code follows, past any preamble such as "Here is a sketch:"), else the first
        observation it combines."""
        for text in (self.fixed_sketch, self.sketch):
            idea = first_idea(text or "")
            if idea:
                return idea
        if self.observations:
            return _clipped(" ".join(self.observations[0].split()))
        return "(no plan: sampled directly)"


_LIST_MARK = re.compile(r"^(?:[-*•>#]+|\d+[.)]|step \d+[:.)])\s*", re.IGNORECASE)
_PREAMBLE = re.compile(
    r"^(?:here(?:'s| is| are)|sure|certainly|of course|okay|ok\b|let me|let's|below|"
    r"the following|i will|i'll|great|alright)",
    re.IGNORECASE,
)


_LABEL = re.compile(
    r"^(?:approach|idea|key idea|main idea|plan|solution|summary|sketch|fixed sketch|"
    r"revised sketch|strategy|algorithm|intuition)\s*:\s+(\S.*)$",
    re.IGNORECASE,
)


def first_idea(text: str) -> str | None:
    """The first sentence of `text` that says something: list marks, headings, Markdown
    emphasis and preamble lines ("Here is the fixed sketch:") skipped."""
    for raw in text.splitlines():
        if raw.lstrip().startswith("#"):
            continue  # a heading names a part; it is not the idea
        line = _LIST_MARK.sub("", raw.strip()).replace("**", "").replace("__", "").strip()
        labelled = _LABEL.match(line)
        if labelled:  # "Approach: use a heap" -> "use a heap"
            line = labelled.group(1)
        if len(line) <= 3 or line.startswith("```"):
            continue
        if line.endswith(":") or (_PREAMBLE.match(line) and len(line) < 60):
            continue
        sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z(`])", line, maxsplit=1)[0]
        return _clipped(sentence)
    return None


def _clipped(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Candidate(BaseModel):
    """One program the search produced, with the plan behind it and what it cost."""

    id: str = Field(description="Stable id within a run, e.g. 'c7'.")
    index: int = Field(description="1-based order in which candidates were written.")
    strategy: str
    code: str
    plan: Plan = Field(default_factory=Plan)
    branch_usage: Usage = Field(
        default_factory=Usage,
        description="Tokens of every call on this candidate's path from the root "
        "(calls shared with other candidates count fully for each).",
    )
    truncated: bool = Field(False, description="The code reply hit max_tokens.")
    graph_position: list[int] = Field(
        default_factory=list,
        description="Where in the search graph it came from (node path, then variant); "
        "results list candidates in this order, so it is the same on every run.",
    )


class FinishReason(StrEnum):
    """Why a search ended."""

    COMPLETED = "completed"
    MAX_CALLS = "max_calls"
    MAX_OUTPUT_TOKENS = "max_output_tokens"
    MAX_CANDIDATES = "max_candidates"
    ENOUGH_PASSING = "enough_passing"
    DEADLINE = "deadline"
    CANCELLED = "cancelled"
    ERROR = "error"


class SearchStats(BaseModel):
    """Counters of a finished (or stopped) search."""

    calls: int = Field(0, description="Model calls answered (from the endpoint or the cache).")
    cached_calls: int = Field(0, description="Of those, answered from the response cache.")
    failed_calls: int = Field(0, description="Calls that failed after retries.")
    retries: int = Field(0, description="Retried attempts (429, 529, 5xx, timeouts).")
    recovered_calls: int = Field(0, description="Calls that failed at first, then succeeded "
                                 "on a retry.")
    faults: dict[str, int] = Field(
        default_factory=dict,
        description="Failed attempts by kind (rate_limited, overloaded, server_error, "
        "timed_out, malformed_reply, ...), including those a retry recovered from.",
    )
    parse_failures: int = Field(0, description="Replies that could not be parsed.")
    dropped_branches: int = Field(0, description="Branches abandoned after failures.")
    truncated_replies: int = Field(0, description="Replies cut off by max_tokens.")
    empty_replies: int = Field(
        0, description="Replies with no text (each is asked again, as a fault of its own).")
    nodes: int = Field(0, description="Distinct observation sets turned into sketches.")
    graph_depth: int = Field(0, description="Longest chain of dependent model calls.")
    usage: Usage = Field(default_factory=Usage)
    wall_seconds: float = 0.0

    def failure_summary(self) -> str | None:
        """What went wrong with the model calls, in one sentence; None when nothing did."""
        parts: list[str] = []
        attempts = sum(self.faults.values())
        if attempts:
            kinds = ", ".join(f"{kind.replace('_', ' ')}: {count}"
                              for kind, count in sorted(self.faults.items(),
                                                        key=lambda item: (-item[1], item[0])))
            parts.append(f"{plural(attempts, 'model request')} failed ({kinds})")
            if self.recovered_calls:
                parts.append(f"{plural(self.recovered_calls, 'call')} recovered on a retry")
            if self.failed_calls:
                parts.append(f"{plural(self.failed_calls, 'call')} failed after retries")
        if self.empty_replies:
            parts.append(plural(self.empty_replies, "empty reply"))
        if self.dropped_branches:
            parts.append(f"{plural(self.dropped_branches, 'branch')} dropped")
        return "; ".join(parts) + "." if parts else None


class SearchResult(BaseModel):
    """The whole outcome of a search, as `plansearch solve --json` prints it."""

    schema_version: int = SCHEMA_VERSION
    problem: str = Field(description="Entry point, or the first line of the statement.")
    strategy: str
    provider: str
    model: str
    finish_reason: FinishReason
    message: str | None = Field(None, description="Why it stopped, for a person.")
    stats: SearchStats
    candidates: list[Candidate]
    errors: list[str] = Field(
        default_factory=list, description="Distinct failures seen (never containing a key)."
    )
    tests: list[TestCase] = Field(
        default_factory=list, description="The tests candidates ran against, in order."
    )
    runs: dict[str, CandidateRun] = Field(
        default_factory=dict, description="Each tested candidate's outcomes, by candidate id."
    )
    ranking: Ranking | None = Field(
        None, description="Candidates ordered by tests passed and agreement; None if untested."
    )
    isolation: str | None = Field(
        None, description="How candidates were isolated when they ran, for a person."
    )

    def ranked_candidates(self) -> list[Candidate]:
        """Candidates in rank order (graph order when they were not tested)."""
        if self.ranking is None:
            return list(self.candidates)
        by_id = {candidate.id: candidate for candidate in self.candidates}
        return [by_id[ranked.candidate_id] for ranked in self.ranking.candidates]

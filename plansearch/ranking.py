"""Ordering candidates by the tests they pass and by how many others behave the same.

The order, most important first:

1. candidates that were run before those that were not;
2. the number of trusted tests passed (every candidate runs the same tests);
3. of those, the number judged outside the candidate's process (an in-process verdict is one
   the candidate could have forged);
4. candidates without side effects the problem does not call for (files written outside the
   scratch directory, processes, network, secrets, signals) before those with them;
5. candidates that do not look like they special-case the tests before those that do;
6. the size of the candidate's behaviour cluster (candidates whose status and actual output
   are identical on every test, model-written ones included): a behaviour many independent
   programs share is more likely right (AlphaCode, CodeT);
7. the candidate's index (the order in which it was written).

Within each group equal on 1-5, one representative of each cluster (its first member in that
order) comes before the rest, so the top of the list holds distinct ideas. Members of a
cluster always share their trusted results, so this never lifts a candidate above one that
passes more trusted tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from plansearch.types import (
    CandidateRun,
    SideEffect,
    TestCase,
    TestOutcome,
    TestStatus,
)
from plansearch.words import plural

if TYPE_CHECKING:  # result.py holds a Ranking, so import Candidate for typing only
    from plansearch.result import Candidate

Signature = tuple[tuple[str, str | None], ...]
"""A behaviour: (status, actual output) on every test, in test order."""


_LABELS = {"docstring": "docstring examples", "statement": "statement examples"}


class Failure(BaseModel):
    """The first trusted test a candidate did not pass."""

    test_id: str
    source: str
    status: TestStatus
    message: str
    expected: str | None = None
    actual: str | None = None


class RankedCandidate(BaseModel):
    """One candidate's place in the ranking, and why."""

    rank: int = Field(description="1-based position.")
    candidate_id: str
    index: int = Field(description="The candidate's 1-based writing order.")
    tested: bool = Field(description="It has run against at least one test.")
    trusted_passed: int
    trusted_total: int
    tally: dict[str, tuple[int, int]] = Field(
        description="Trusted tests (passed, total) per source, e.g. {'docstring': (5, 5)}."
    )
    tally_text: str = Field(description="e.g. '5/5 docstring examples, 12/12 of tests/x.py'.")
    passes_all: bool = Field(description="Passes every trusted test (and there is one).")
    in_process_passed: int = Field(
        0,
        description="Of the trusted tests passed, those judged inside the candidate's own "
        "process (test code that could not be split into a call and an expected value).",
    )
    side_effects: list[SideEffect] = Field(
        default_factory=list, description="What it did besides returning."
    )
    unwanted_effects: bool = Field(
        False, description="It has side effects the problem does not call for."
    )
    special_casing: list[str] = Field(
        default_factory=list, description="Why it may special-case the tests."
    )
    flags: list[str] = Field(
        default_factory=list,
        description="Short warnings for a person: side effects, 'may special-case the tests', "
        "'3 verdicts in-process'.",
    )
    first_failure: Failure | None = None
    cluster: int | None = Field(
        None,
        description="Behaviour cluster, numbered by rank of its best member; None if untested.",
    )
    cluster_size: int = Field(0, description="Candidates in the cluster, this one included.")
    representative: bool = Field(False, description="First of its cluster in this ranking.")
    explanation: str = Field(description="One line: why it is here.")


class Diversity(BaseModel):
    """How varied the run's candidates are."""

    candidates: int
    tested: int
    behaviour_clusters: int = Field(description="Distinct behaviours among tested candidates.")
    distinct_plans: int = Field(
        description="Distinct sketches (normalised text) among candidates written from one."
    )


class Ranking(BaseModel):
    """Candidates in rank order, with the run's diversity."""

    candidates: list[RankedCandidate]
    trusted_tests: int
    passing: int = Field(description="Candidates passing every trusted test.")
    diversity: Diversity


def rank(
    candidates: Sequence[Candidate],
    runs: Mapping[str, CandidateRun],
    tests: Sequence[TestCase],
    wanted_effects: frozenset[str] = frozenset(),
) -> Ranking:
    """Rank `candidates` by their `runs` (keyed by candidate id) on `tests`. `wanted_effects`:
    the kinds of side effect the problem calls for (see `inspection.effects_called_for`)."""
    trusted = [test for test in tests if test.trusted]
    scores = {c.id: _score(runs.get(c.id), tests, wanted_effects) for c in candidates}
    members: dict[Signature, list[str]] = {}
    for candidate in candidates:
        score = scores[candidate.id]
        if score.signature is not None:
            members.setdefault(score.signature, []).append(candidate.id)

    def size(candidate: Candidate) -> int:
        signature = scores[candidate.id].signature
        return len(members[signature]) if signature is not None else 0

    def key(candidate: Candidate) -> tuple[object, ...]:
        s = scores[candidate.id]
        return (*s.tier, -size(candidate), candidate.index, candidate.id)

    ordered = sorted(candidates, key=key)
    ordered = _representatives_first(ordered, scores)
    cluster_ids: dict[Signature, int] = {}
    untested = "not run yet" if tests else "no tests"
    ranked = []
    for position, candidate in enumerate(ordered, start=1):
        score = scores[candidate.id]
        signature = score.signature
        first = signature is not None and signature not in cluster_ids
        if signature is not None and first:
            cluster_ids[signature] = len(cluster_ids) + 1
        ranked.append(
            RankedCandidate(
                rank=position,
                candidate_id=candidate.id,
                index=candidate.index,
                tested=score.tested,
                trusted_passed=score.passed,
                trusted_total=len(trusted),
                tally=score.tally,
                tally_text=(
                    _tally_text(score.tally, score.in_process_by_source)
                    if score.tested
                    else untested
                ),
                passes_all=score.tested and 0 < len(trusted) == score.passed,
                in_process_passed=score.in_process_passed,
                side_effects=score.side_effects,
                unwanted_effects=score.unwanted_effects,
                special_casing=score.special_casing,
                flags=_flags(score),
                first_failure=score.failure,
                cluster=cluster_ids[signature] if signature is not None else None,
                cluster_size=size(candidate),
                representative=first,
                explanation=_explain(score, len(trusted), size(candidate), len(members), tests),
            )
        )
    return Ranking(
        candidates=ranked,
        trusted_tests=len(trusted),
        passing=sum(r.passes_all for r in ranked),
        diversity=Diversity(
            candidates=len(candidates),
            tested=sum(s.tested for s in scores.values()),
            behaviour_clusters=len(members),
            distinct_plans=len({p for c in candidates if (p := _plan_text(c))}),
        ),
    )


@dataclass(frozen=True)
class _Score:
    """What one candidate's run says, computed once."""

    tested: bool
    passed: int = 0
    tally: dict[str, tuple[int, int]] = field(default_factory=dict)
    failure: Failure | None = None
    signature: Signature | None = None
    in_process_passed: int = 0
    in_process_by_source: dict[str, int] = field(default_factory=dict)
    side_effects: list[SideEffect] = field(default_factory=list)
    unwanted_effects: bool = False
    special_casing: list[str] = field(default_factory=list)

    @property
    def tier(self) -> tuple[object, ...]:
        """What orders candidates before their cluster size (see the module docstring)."""
        return (
            not self.tested,
            -self.passed,
            self.in_process_passed,
            self.unwanted_effects,
            bool(self.special_casing),
        )


def _score(run: CandidateRun | None, tests: Sequence[TestCase], wanted: frozenset[str]) -> _Score:
    if run is None or not tests:
        return _Score(tested=False)
    outcomes: dict[str, TestOutcome] = {o.test_id: o for o in run.outcomes}
    tally: dict[str, tuple[int, int]] = {}
    in_process: dict[str, int] = {}
    passed = 0
    failure = None
    for test in tests:
        if not test.trusted:
            continue
        outcome = outcomes.get(test.id)
        ok = outcome is not None and outcome.status is TestStatus.PASS
        done, total = tally.get(test.source, (0, 0))
        tally[test.source] = (done + ok, total + 1)
        passed += ok
        if ok and outcome is not None and outcome.judged == "in_process":
            in_process[test.source] = in_process.get(test.source, 0) + 1
        if not ok and failure is None:
            failure = Failure(
                test_id=test.id,
                source=test.source,
                status=outcome.status if outcome else TestStatus.EXECUTOR_ERROR,
                message=outcome.message if outcome else "no result for this test",
                expected=outcome.expected if outcome else None,
                actual=outcome.actual if outcome else None,
            )
    signature = tuple(
        (o.status.value, o.actual) if (o := outcomes.get(test.id)) else ("missing", None)
        for test in tests
    )
    unwanted = any(effect.kind not in wanted for effect in run.side_effects)
    return _Score(
        True,
        passed,
        tally,
        failure,
        signature,
        in_process_passed=sum(in_process.values()),
        in_process_by_source=in_process,
        side_effects=list(run.side_effects),
        unwanted_effects=unwanted,
        special_casing=list(run.special_casing),
    )


def _flags(score: _Score) -> list[str]:
    """Short warnings for a person, most serious first."""
    flags = [effect.detail for effect in score.side_effects][:3]
    if len(score.side_effects) > 3:
        flags.append(f"{len(score.side_effects) - 3} more side effects")
    if score.special_casing:
        flags.append("may special-case the tests")
    if score.in_process_passed:
        count = score.in_process_passed
        flags.append(f"{plural(count, 'verdict')} in-process")
    return flags


def _representatives_first(
    ordered: list[Candidate], scores: Mapping[str, _Score]
) -> list[Candidate]:
    """Within each run of equal trusted results, each cluster's first member goes first."""
    out: list[Candidate] = []
    start = 0
    while start < len(ordered):
        head = scores[ordered[start].id]
        end = start
        while end < len(ordered) and _same_tier(scores[ordered[end].id], head):
            end += 1
        group = ordered[start:end]
        firsts: list[Candidate] = []
        rest: list[Candidate] = []
        seen: set[object] = set()
        for candidate in group:
            signature = scores[candidate.id].signature
            if signature is None or signature not in seen:
                firsts.append(candidate)
                seen.add(signature)
            else:
                rest.append(candidate)
        out += firsts + rest
        start = end
    return out


def _same_tier(a: _Score, b: _Score) -> bool:
    return a.tier == b.tier


def _explain(
    score: _Score, trusted: int, cluster_size: int, clusters: int, tests: Sequence[TestCase]
) -> str:
    if not tests:
        return "not tested: no tests were found"
    if not score.tested:
        return "not run yet"
    if trusted == 0:
        result = "no trusted tests"
    elif score.passed == trusted:
        result = f"passes all {trusted} trusted tests" if trusted > 1 else "passes the trusted test"
    elif score.passed == 0:
        result = f"passes none of {trusted} trusted tests"
    else:
        result = f"passes {score.passed} of {trusted} trusted tests"
    others = cluster_size - 1
    if others > 0:
        result += f"; same behaviour as {plural(others, 'other')}"
    elif clusters > 1:
        result += "; behaves unlike every other candidate"
    if score.unwanted_effects or score.special_casing:
        result += f"; ranked lower: {', '.join(_flags(score)[:2])}"
    return result


def _tally_text(
    tally: Mapping[str, tuple[int, int]], in_process: Mapping[str, int] | None = None
) -> str:
    parts = []
    for source, (passed, total) in tally.items():
        label = _LABELS.get(source)
        part = f"{passed}/{total} {label}" if label else f"{passed}/{total} of {source}"
        inside = (in_process or {}).get(source, 0)
        parts.append(f"{part} ({inside} in-process)" if inside else part)
    return ", ".join(parts) if parts else "no trusted tests"


def _plan_text(candidate: Candidate) -> str:
    """The sketch the code follows, normalised (case, punctuation and spacing ignored)."""
    sketch = candidate.plan.fixed_sketch or candidate.plan.sketch or ""
    return " ".join(re.findall(r"\w+", sketch.casefold()))

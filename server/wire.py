"""Params and results of the server's own methods, as they travel (camelCase JSON)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from plansearch.ranking import RankedCandidate, Ranking
from plansearch.result import Candidate, SearchResult

from .plan_text import code_text, prose

GENERATE = "plansearch/generate"
APPLY = "plansearch/apply"
PREVIEW = "plansearch/preview"
SET_API_KEY = "plansearch/setApiKey"
RANKING_CHANGED = "plansearch/rankingChanged"
REQUEST_FAILED = -32803
"""LSP's RequestFailed: the params were fine, the request could not be carried out."""

_Params = TypeVar("_Params", bound="Wire")


class RequestFailed(JsonRpcException):
    """A request that cannot be carried out; the message says why, for a person."""

    CODE = REQUEST_FAILED


class Wire(BaseModel):
    """camelCase on the wire; unknown fields are ignored, as LSP clients expect."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def parse_params(model: type[_Params], raw: object, method: str) -> _Params:
    """`raw` as `model`, or InvalidParams naming the fields that are wrong."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'params'}: {issue['msg']}"
            for issue in error.errors()[:5]
        )
        raise JsonRpcInvalidParams(f"Invalid params for {method}: {problems}") from None


class Position(Wire):
    line: int = Field(ge=0)
    character: int = Field(ge=0)


class Range(Wire):
    start: Position
    end: Position


class DocumentId(Wire):
    uri: str = Field(min_length=1)


ProgressToken = int | str


class GenerateParams(Wire):
    """`plansearch/generate`: what to search for (a stub, or a selected statement)."""

    text_document: DocumentId
    position: Position | None = Field(None, description="The cursor, in a stub.")
    range: Range | None = Field(None, description="A selection; wins over `position`.")
    signature: str | None = Field(
        None, description="For a selected statement: the function to write, e.g. "
        "'def f(xs: list[int]) -> int'. Without one, a stdin/stdout program is written."
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Settings for this search only: strategy, budget, "
        "maxCalls, maxOutputTokens, maxCandidates, deadline."
    )
    work_done_token: ProgressToken | None = None
    partial_result_token: ProgressToken | None = None


class PlanItem(Wire):
    observations: list[str]
    sketch: str | None
    criticism: str | None
    fixed_sketch: str | None
    pseudocode: str | None


class CandidateItem(Wire):
    """One candidate as the editor shows it."""

    id: str
    rank: int | None = Field(description="1-based; None when the run was not ranked.")
    headline: str = Field(description="The first line of the plan.")
    code: str
    tested: bool
    tally: str = Field(description="e.g. '5/5 docstring examples'.")
    passed: int
    total: int
    passes_all: bool
    first_failure: str | None
    explanation: str | None
    flags: list[str] = Field(
        default_factory=list,
        description="Warnings: side effects, 'may special-case the tests', in-process verdicts.",
    )
    cluster: int | None = Field(
        None, description="Behaviour cluster (numbered by the rank of its best member); None "
        "when untested.")
    cluster_size: int = Field(0, description="Candidates that behave alike, this one included.")
    representative: bool = Field(False, description="The first of its cluster in the ranking.")
    plan: PlanItem


class Place(Wire):
    """A candidate's place in the ranking at one moment (see `PartialResult.ranking`)."""

    id: str
    rank: int
    cluster: int | None
    cluster_size: int
    representative: bool


class SearchStatsItem(Wire):
    calls: int
    input_tokens: int
    output_tokens: int
    seconds: float
    failed_calls: int = Field(0, description="Calls that still failed after retries.")
    retries: int = 0
    recovered_calls: int = Field(0, description="Calls that succeeded on a retry.")
    faults: dict[str, int] = Field(
        default_factory=dict, description="Failed attempts by kind, e.g. {'timed_out': 2}.")
    empty_replies: int = 0
    dropped_branches: int = Field(0, description="Branches abandoned after a failure.")


class GenerateResult(Wire):
    """The outcome of `plansearch/generate`: candidates in rank order."""

    search_id: str = Field(description="Names this search in `plansearch/apply`.")
    run_id: str | None = Field(description="The run in the run store (None if not saved).")
    target: str
    strategy: str
    model: str
    finish_reason: str
    message: str | None
    candidates: list[CandidateItem]
    tests: int = Field(description="Trusted tests the candidates ran against.")
    stats: SearchStatsItem
    errors: list[str]


class PartialResult(Wire):
    """A `$/progress` value on the partial-result token: candidates as they are tested."""

    search_id: str = Field(description="The search, for `plansearch/preview` meanwhile.")
    candidates: list[CandidateItem]
    ranking: list[Place] | None = Field(
        None, description="Every ranked candidate's place after this test run, so that "
        "candidates sent earlier are regrouped by behaviour as it changes.")


class PreviewParams(Wire):
    """`plansearch/preview`: the document as it would be with a candidate in place; for a
    candidate streamed in a partial result too, while the search still runs."""

    search_id: str
    candidate_id: str


class PreviewResult(Wire):
    uri: str
    version: int | None = Field(description="The document version `before` is.")
    before: str = Field(description="The document when the search started.")
    after: str = Field(description="The same with the candidate in place, as "
                       "`plansearch/apply` puts it (the stub's header and docstring kept).")
    function: str | None = Field(
        None, description="The function as it lands in the file (None for a program "
        "written from a statement).")


class ApplyParams(Wire):
    """`plansearch/apply`: put a candidate of a finished search into its document."""

    search_id: str
    candidate_id: str
    rebase: bool = Field(
        False, description="Splice into the document as it is now, not as it was when the "
        "search started (after an edit was refused because the document changed)."
    )


class ApplyResult(Wire):
    applied: bool
    reason: str | None = None
    can_rebase: bool = Field(False, description="Applying again with rebase may succeed.")


class RankingChangedParams(Wire):
    """`plansearch/rankingChanged`: a stored run was re-ranked after its tests changed."""

    run_id: str
    uri: str | None
    qualname: str | None
    test_file: str
    candidates: list[CandidateItem]


def candidate_item(candidate: Candidate, ranked: RankedCandidate | None) -> CandidateItem:
    return CandidateItem(
        id=candidate.id,
        rank=ranked.rank if ranked else None,
        headline=_headline(candidate),
        code=candidate.code,
        tested=ranked.tested if ranked else False,
        tally=ranked.tally_text if ranked else "not tested",
        passed=ranked.trusted_passed if ranked else 0,
        total=ranked.trusted_total if ranked else 0,
        passes_all=ranked.passes_all if ranked else False,
        first_failure=failure_text(ranked),
        explanation=ranked.explanation if ranked else None,
        flags=ranked.flags if ranked else [],
        cluster=ranked.cluster if ranked else None,
        cluster_size=ranked.cluster_size if ranked else 0,
        representative=ranked.representative if ranked else False,
        plan=plan_item(candidate),
    )


def plan_item(candidate: Candidate) -> PlanItem:
    """The plan as a person reads it: prose, without code blocks that are not the candidate."""
    plan = candidate.plan
    observations = [text for o in plan.observations if (text := prose(o))]
    return PlanItem(observations=observations, sketch=prose(plan.sketch),
                    criticism=prose(plan.criticism), fixed_sketch=prose(plan.fixed_sketch),
                    pseudocode=code_text(plan.pseudocode))


def _headline(candidate: Candidate) -> str:
    """The plan's own first idea, read from its prose (code blocks in a sketch are not it)."""
    plan = candidate.plan
    clean = plan.model_copy(update={"sketch": prose(plan.sketch),
                                    "fixed_sketch": prose(plan.fixed_sketch)})
    return clean.headline()


def places(ranking: Ranking) -> list[Place]:
    """Every candidate's place in `ranking`."""
    return [Place(id=r.candidate_id, rank=r.rank, cluster=r.cluster,
                  cluster_size=r.cluster_size, representative=r.representative)
            for r in ranking.candidates]


def failure_text(ranked: RankedCandidate | None) -> str | None:
    """The first failing test, compactly: its id, expected and actual, then the message."""
    failure = ranked.first_failure if ranked else None
    if failure is None:
        return None
    if failure.expected is not None and failure.actual is not None:
        return f"{failure.test_id}: expected {failure.expected}, got {failure.actual}"
    return f"{failure.test_id}: {failure.message}"


def ranked_items(result: SearchResult) -> list[CandidateItem]:
    """Every candidate of a result, in rank order."""
    by_id = {r.candidate_id: r for r in result.ranking.candidates} if result.ranking else {}
    return [candidate_item(c, by_id.get(c.id)) for c in result.ranked_candidates()]

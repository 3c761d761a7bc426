"""Ranking hand-built runs: exact orders, clusters, explanations, tallies, diversity."""

from __future__ import annotations

from plansearch.ranking import Ranking, rank
from plansearch.result import Candidate, Plan
from plansearch.types import (
    CandidateRun,
    TestCase,
    TestKind,
    TestOutcome,
    TestStatus,
)

PASS, FAIL, ERROR = TestStatus.PASS, TestStatus.FAIL, TestStatus.ERROR


def case(test_id: str, source: str, *, trusted: bool = True) -> TestCase:
    kind: TestKind = "docstring"
    if not trusted:
        kind = "generated"
    elif source.endswith(".py"):
        kind = "pytest"
    return TestCase(id=test_id, kind=kind, source=source, trusted=trusted, call=f"f({test_id!r})")


TESTS = [
    case("d1", "docstring"),
    case("d2", "docstring"),
    case("p1", "tests/test_fn.py"),
    case("g1", "generated", trusted=False),
    case("g2", "generated", trusted=False),
]


def candidate(index: int, sketch: str | None = None, fixed: str | None = None) -> Candidate:
    return Candidate(
        id=f"c{index}",
        index=index,
        strategy="plansearch",
        code=f"def f(x):\n    return {index}\n",
        plan=Plan(sketch=sketch, fixed_sketch=fixed, criticism=None, pseudocode=None),
        truncated=False,
    )


def run(
    **results: tuple[TestStatus, str | None] | tuple[TestStatus, str | None, str],
) -> CandidateRun:
    """A run with one outcome per keyword: test id = (status, actual[, message])."""
    return CandidateRun(
        outcomes=[
            TestOutcome(
                test_id=test_id,
                status=result[0],
                actual=result[1],
                message=result[2] if len(result) > 2 else "",
                duration_ms=float(n),  # durations differ and must not split clusters
            )
            for n, (test_id, result) in enumerate(results.items())
        ]
    )


def passing(g1: str, g2: str) -> CandidateRun:
    return run(d1=(PASS, "1"), d2=(PASS, "4"), p1=(PASS, None), g1=(PASS, g1), g2=(PASS, g2))


def ranked_ids(ranking: Ranking) -> list[str]:
    return [r.candidate_id for r in ranking.candidates]


def main_ranking() -> Ranking:
    candidates = [
        candidate(1, sketch="Use a heap."),
        candidate(2),
        candidate(3, sketch="Sort then scan"),
        candidate(4, sketch="use a   HEAP"),
        candidate(5, sketch="something else", fixed="Sort, then scan!"),
        candidate(6),
        candidate(7),
        candidate(8),
        candidate(9),
    ]
    runs = {
        "c1": passing("1", "2"),
        "c2": run(
            d1=(PASS, "1"),
            d2=(FAIL, "5", "expected 4, got 5"),
            p1=(PASS, None),
            g1=(PASS, "1"),
            g2=(PASS, "2"),
        ),
        "c3": passing("1", "3"),
        "c4": passing("1", "2"),
        "c5": passing("1", "2"),
        "c6": passing("1", "3"),
        "c7": passing("9", "9"),
        "c9": run(**{t.id: (ERROR, None, "ZeroDivisionError: division by zero") for t in TESTS}),
    }
    return rank(candidates, runs, TESTS)


def test_order_puts_trusted_results_first_then_cluster_size_with_representatives_first() -> None:
    ranking = main_ranking()
    # passing all: clusters {1,4,5} > {3,6} > {7}; representatives 1, 3, 7 lead that tier
    assert ranked_ids(ranking) == ["c1", "c3", "c7", "c4", "c5", "c6", "c2", "c9", "c8"]
    assert [r.rank for r in ranking.candidates] == list(range(1, 10))
    by_id = {r.candidate_id: r for r in ranking.candidates}
    assert [(by_id[c].cluster, by_id[c].cluster_size) for c in ["c1", "c4", "c5"]] == [(1, 3)] * 3
    assert [(by_id[c].cluster, by_id[c].cluster_size) for c in ["c3", "c6"]] == [(2, 2)] * 2
    assert (by_id["c7"].cluster, by_id["c2"].cluster, by_id["c9"].cluster) == (3, 4, 5)
    assert [r.candidate_id for r in ranking.candidates if r.representative] == [
        "c1",
        "c3",
        "c7",
        "c2",
        "c9",
    ]
    assert by_id["c8"].cluster is None and by_id["c8"].cluster_size == 0
    assert ranking.passing == 6
    assert ranking.trusted_tests == 3


def test_explanations_tallies_and_first_failures() -> None:
    by_id = {r.candidate_id: r for r in main_ranking().candidates}
    assert by_id["c1"].explanation == "passes all 3 trusted tests; same behaviour as 2 others"
    assert by_id["c3"].explanation == "passes all 3 trusted tests; same behaviour as 1 other"
    assert (
        by_id["c7"].explanation
        == "passes all 3 trusted tests; behaves unlike every other candidate"
    )
    assert (
        by_id["c2"].explanation
        == "passes 2 of 3 trusted tests; behaves unlike every other candidate"
    )
    assert by_id["c9"].explanation.startswith("passes none of 3 trusted tests")
    assert by_id["c8"].explanation == "not run yet"

    assert by_id["c1"].tally == {"docstring": (2, 2), "tests/test_fn.py": (1, 1)}
    assert by_id["c1"].tally_text == "2/2 docstring examples, 1/1 of tests/test_fn.py"
    assert by_id["c1"].passes_all and by_id["c1"].first_failure is None
    assert by_id["c2"].tally_text == "1/2 docstring examples, 1/1 of tests/test_fn.py"
    failure = by_id["c2"].first_failure
    assert failure is not None
    assert (failure.test_id, failure.source, failure.status, failure.message) == (
        "d2",
        "docstring",
        FAIL,
        "expected 4, got 5",
    )
    assert not by_id["c2"].passes_all
    assert by_id["c9"].first_failure is not None and by_id["c9"].first_failure.test_id == "d1"
    assert by_id["c8"].tally == {} and by_id["c8"].tally_text == "not run yet"
    assert not by_id["c8"].tested and not by_id["c8"].passes_all


def test_diversity_counts_behaviours_and_normalised_plans() -> None:
    diversity = main_ranking().diversity
    assert diversity.candidates == 9
    assert diversity.tested == 8
    assert diversity.behaviour_clusters == 5
    assert diversity.distinct_plans == 2  # "use a heap" and "sort then scan"


def test_untrusted_outputs_split_clusters_but_never_outrank_trusted_results() -> None:
    # c1 fails a trusted test but agrees with nobody; c2 and c3 pass and differ on g1 only
    runs = {
        "c1": run(d1=(FAIL, "0"), g1=(PASS, "7")),
        "c2": run(d1=(PASS, "1"), g1=(PASS, "7")),
        "c3": run(d1=(PASS, "1"), g1=(PASS, "8")),
        "c4": run(d1=(PASS, "1"), g1=(PASS, "8")),
    }
    tests = [case("d1", "docstring"), case("g1", "generated", trusted=False)]
    ranking = rank([candidate(i) for i in range(1, 5)], runs, tests)
    assert ranked_ids(ranking) == ["c3", "c2", "c4", "c1"]
    assert ranking.diversity.behaviour_clusters == 3


def test_ties_follow_candidate_index_whatever_the_input_order() -> None:
    runs = {f"c{i}": run(d1=(PASS, str(i))) for i in (1, 2, 3)}
    ranking = rank([candidate(3), candidate(1), candidate(2)], runs, [case("d1", "docstring")])
    assert ranked_ids(ranking) == ["c1", "c2", "c3"]
    assert all(r.cluster_size == 1 for r in ranking.candidates)


def test_missing_outcome_counts_as_a_failure_and_a_behaviour() -> None:
    tests = [case("d1", "docstring"), case("d2", "docstring")]
    runs = {"c1": run(d1=(PASS, "1")), "c2": run(d1=(PASS, "1"), d2=(PASS, "2"))}
    ranking = rank([candidate(1), candidate(2)], runs, tests)
    assert ranked_ids(ranking) == ["c2", "c1"]
    failure = ranking.candidates[1].first_failure
    assert failure is not None
    assert (failure.test_id, failure.status, failure.message) == (
        "d2",
        TestStatus.EXECUTOR_ERROR,
        "no result for this test",
    )


def test_only_generated_tests_rank_by_agreement() -> None:
    tests = [case("g1", "generated", trusted=False)]
    runs = {"c1": run(g1=(PASS, "1")), "c2": run(g1=(PASS, "2")), "c3": run(g1=(PASS, "2"))}
    ranking = rank([candidate(1), candidate(2), candidate(3)], runs, tests)
    assert ranked_ids(ranking) == ["c2", "c1", "c3"]
    assert ranking.candidates[0].explanation == "no trusted tests; same behaviour as 1 other"
    assert ranking.candidates[0].tally_text == "no trusted tests"
    assert ranking.passing == 0


def test_without_tests_nothing_is_tested() -> None:
    ranking = rank([candidate(2), candidate(1)], {"c1": CandidateRun(outcomes=[])}, [])
    assert ranked_ids(ranking) == ["c1", "c2"]
    assert {r.explanation for r in ranking.candidates} == {"not tested: no tests were found"}
    assert {r.tally_text for r in ranking.candidates} == {"no tests"}
    assert ranking.diversity.behaviour_clusters == 0


def test_ranking_round_trips_through_json() -> None:
    ranking = main_ranking()
    text = ranking.model_dump_json()
    assert '"tally":{"docstring":[2,2],"tests/test_fn.py":[1,1]}' in text
    assert Ranking.model_validate_json(text) == ranking

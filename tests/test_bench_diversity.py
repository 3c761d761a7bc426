"""The diversity judge: which pairs it samples, what it asks, what it counts and caches."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from plansearch.bench import livecodebench as lcb
from plansearch.bench.diversity import _pair, most_calls, sample_pairs
from plansearch.bench.runner import ProblemOutcome, RunOptions, evaluate
from tests.fixtures.bench_model import BenchModel
from tests.search_helpers import settings_for, workbench
from tests.support.fake_llm import FakeLLMServer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "livecodebench"
READ = "a, b = map(int, input().split())\n"
# Four different texts, two ideas: 4 of the 6 pairs use different ideas.
IDEAS = {"[FX-SUM]": [
    "# idea: plus\n" + READ + "print(a + b)\n",
    "# idea: plus\n" + READ + "print(b + a)\n",
    "# idea: total\n" + READ + "print(sum((a, b)))\n",
    "# idea: total\n" + READ + "print(sum([a, b]))\n",
]}


@pytest.mark.parametrize(("count", "pairs"), [(2, 5), (4, 6), (5, 3), (10, 7), (40, 40)])
def test_pairs_are_distinct_ordered_and_drawn_from_the_seed(count: int, pairs: int) -> None:
    drawn = sample_pairs(count, pairs, "0:task:plansearch")
    assert len(drawn) == min(pairs, math.comb(count, 2))
    assert len(set(drawn)) == len(drawn) and drawn == sorted(drawn)
    assert all(0 <= i < j < count for i, j in drawn)
    assert drawn == sample_pairs(count, pairs, "0:task:plansearch")


def test_every_pair_is_enumerated_once_and_few_candidates_give_all_pairs() -> None:
    assert [_pair(index, 4) for index in range(6)] == [
        (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)
    ]
    assert sample_pairs(4, 100, "s") == [_pair(index, 4) for index in range(6)]
    assert sample_pairs(1, 10, "s") == [] and sample_pairs(0, 10, "s") == []
    seeds = {tuple(sample_pairs(30, 5, f"0:task:{strategy}")) for strategy in ("a", "b", "c")}
    assert len(seeds) == 3  # each search its own draw


def test_the_most_calls_said_before_the_run() -> None:
    assert most_calls(4, 10) == 6 + 4  # every pair, every program described
    assert most_calls(40, 3) == 3 + 6
    assert most_calls(None, 5) == 5 + 10


async def judged(tmp_path: Path, pairs: int, server: FakeLLMServer) -> ProblemOutcome:
    tasks = list(lcb.load_dataset(FIXTURES / "test.jsonl", lcb.Selection()).tasks)[:1]
    settings = settings_for(server, tmp_path, budget="quick")
    async with workbench(settings) as bench:
        outcome, = await evaluate(bench, tasks, ["repeated"],
                                  options=RunOptions(samples=4, judge_pairs=pairs))
    return outcome


async def test_all_pairs_judged_counted_and_then_answered_by_the_cache(tmp_path: Path) -> None:
    model = BenchModel(IDEAS)
    with FakeLLMServer(model) as server:
        first = await judged(tmp_path, 10, server)
        asked = model.judge_calls
        again = await judged(tmp_path, 10, server)
    judge = first.judge
    assert judge is not None
    assert (judge.pairs, judge.different, judge.unclear) == (6, 4, 0)
    assert judge.fraction_different == pytest.approx(4 / 6)
    assert judge.calls == asked == 4 + 6  # a description per program, a verdict per pair
    assert judge.cached_calls == 0 and judge.output_tokens > 0 and judge.input_tokens > 0
    assert again.judge is not None
    assert again.judge.cached_calls == again.judge.calls == 10
    assert model.judge_calls == asked  # nothing asked twice
    assert again.judge.different == 4


async def test_sampled_pairs_and_identical_programs_cost_no_verdict(tmp_path: Path) -> None:
    same_text = {"[FX-SUM]": [IDEAS["[FX-SUM]"][0]] * 2 + [IDEAS["[FX-SUM]"][2]] * 2}
    model = BenchModel(same_text)
    with FakeLLMServer(model) as server:
        outcome = await judged(tmp_path, 10, server)
    judge = outcome.judge
    assert judge is not None
    # (0, 1) and (2, 3) are the same text: the same idea, no call; 4 pairs asked
    assert (judge.pairs, judge.different) == (6, 4)
    assert judge.calls == 4 + 4
    with FakeLLMServer(BenchModel(IDEAS)) as server:
        few = await judged(tmp_path / "few", 3, server)
    assert few.judge is not None and few.judge.pairs == 3
    assert few.judge.calls <= most_calls(4, 3)

"""The HumanEval bench offline: the fake server plays a model whose replies are, per problem,
the dataset's canonical solution or known-wrong code in a fixed mix, so every pass@k figure
is known in advance. Candidates really run under the executor against the real tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from plansearch.bench.diversity import JudgeOutcome
from plansearch.bench.humaneval import Task, hidden_test, load_tasks, module_source, task_problem
from plansearch.bench.report import BenchReport, StrategySummary, summarize, summary_table
from plansearch.bench.runner import CandidateOutcome, ProblemOutcome, RunOptions, evaluate
from plansearch.bench.tasks import BenchError, select_tasks
from plansearch.config import Settings
from plansearch.execution.executor import Executor
from plansearch.splice import candidate_program
from plansearch.testsources import examples
from tests.search_helpers import settings_for, workbench
from tests.support.fake_llm import FakeCall, FakeLLMServer
from tests.support.plansearch_script import PlanSearchScript

TASKS = load_tasks()
HE = "HumanEval"
ROOT = Path(__file__).resolve().parent.parent

# Wrong programs that still pass every docstring example (public) but fail `check` (hidden).
PUBLIC_ONLY = {
    "HumanEval/0": (  # compares neighbours only, not every pair
        "def has_close_elements(numbers, threshold):\n"
        "    return any(abs(a - b) < threshold for a, b in zip(numbers, numbers[1:]))\n"
    ),
    "HumanEval/2": "def truncate_number(number):\n    return 0.5\n",
    "HumanEval/4": "def mean_absolute_deviation(numbers):\n    return 1.0\n",
}


def canonical(task_id: str) -> str:
    task = _task(task_id)
    return task.prompt + task.canonical_solution


def none_returning(task_id: str) -> str:
    """Wrong code that fails the public tests too."""
    return f"def {_task(task_id).entry_point}(*args):\n    return None\n"


def _task(task_id: str) -> Task:
    return next(task for task in TASKS if task.task_id == task_id)


def mix(task_id: str, right: int, public_only: int, failing: int) -> list[str]:
    """Replies for one problem: `right` canonical, then wrong ones of both kinds."""
    return ([canonical(task_id)] * right + [PUBLIC_ONLY[task_id]] * public_only
            + [none_returning(task_id)] * failing)


# Per problem, 4 samples: (n, c_hidden, n_public_pass, c_public_and_hidden) follow.
DIRECT = {
    "HumanEval/0": mix("HumanEval/0", 1, 1, 2),  # 4, 1, 2, 1
    "HumanEval/1": [canonical("HumanEval/1")] * 3 + [none_returning("HumanEval/1")],  # 4, 3, 3, 3
    "HumanEval/2": mix("HumanEval/2", 0, 2, 2),  # 4, 0, 2, 0
    "HumanEval/3": [none_returning("HumanEval/3")] * 4,  # 4, 0, 0, 0: n' = 0 scores 0
    "HumanEval/4": mix("HumanEval/4", 1, 3, 0),  # 4, 1, 4, 1
    "HumanEval/5": [canonical("HumanEval/5")] * 4,  # 4, 4, 4, 4
}
DIRECT_COUNTS = {
    "HumanEval/0": (4, 1, 2, 1),
    "HumanEval/1": (4, 3, 3, 3),
    "HumanEval/2": (4, 0, 2, 0),
    "HumanEval/3": (4, 0, 0, 0),
    "HumanEval/4": (4, 1, 4, 1),
    "HumanEval/5": (4, 4, 4, 4),
}
# pass@1 = mean c/n = (1/4 + 3/4 + 0 + 0 + 1/4 + 1) / 6
# pass@2 = mean 1 - C(n-c,2)/C(4,2) = (1/2 + 1 + 0 + 0 + 1/2 + 1) / 6
# filtered pass@1 = mean c'/n' = (1/2 + 1 + 0 + 0 + 1/4 + 1) / 6
# filtered pass@2 = (1 + 1 + 0 + 0 + 1/2 + 1) / 6   (n' - c' < 2 gives 1)
DIRECT_PASS = {1: 0.375, 2: 0.5}
DIRECT_FILTERED = {1: 11 / 24, 2: 7 / 12}

# Code written from a plan (IdeaSearch, PlanSearch) gets its own mix.
FROM_PLAN = {
    "HumanEval/0": [canonical("HumanEval/0")] * 4,  # c = 4
    "HumanEval/1": [canonical("HumanEval/1")] + [none_returning("HumanEval/1")] * 3,  # c = 1
    "HumanEval/2": mix("HumanEval/2", 1, 2, 1),  # c = 1, n' = 3, c' = 1
}

_TARGET = re.compile(r"Implement this function:\n```python\n(?:@.*\n)*(?:async )?def (\w+)\(")


class BenchModel(PlanSearchScript):
    """Plays every stage; a code reply is the next of its problem's scripted programs."""

    def __init__(self, direct: dict[str, list[str]], from_plan: dict[str, list[str]]) -> None:
        super().__init__(entry_point="unused", first=2, derived=1, code_for=self.code)
        self._scripts = {
            (task_id, kind): replies
            for kind, table in (("direct", direct), ("plan", from_plan))
            for task_id, replies in table.items()
        }
        self._by_entry = {task.entry_point: task.task_id for task in TASKS}
        self._served: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self.replies: list[str] = []

    def code(self, call: FakeCall) -> str:
        match = _TARGET.search(call.system)
        assert match, "the system prompt names the function to write"
        kind = "plan" if "Here is a solution to the problem" in call.messages[-1][1] else "direct"
        key = (self._by_entry[match.group(1)], kind)
        with self._lock:
            script = self._scripts[key]
            served = self._served[key]
            self._served[key] += 1
        assert served < len(script), f"more code requests than scripted for {key}"
        reply = f"```python\n{script[served]}```\n"
        with self._lock:
            self.replies.append(reply)
        return reply


async def evaluated(
    settings: Settings, *args: Any, samples: int, **kwargs: Any
) -> list[ProblemOutcome]:
    """`evaluate` on a workbench of its own (as one `plansearch bench` run has)."""
    async with workbench(settings) as bench:
        return await evaluate(bench, *args, options=RunOptions(samples=samples), **kwargs)


def _counts(outcome: ProblemOutcome) -> tuple[int, int, int, int]:
    return (outcome.n, outcome.c_hidden, outcome.n_public_pass, outcome.c_public_and_hidden)


async def test_pass_at_k_is_exactly_what_the_scripted_replies_imply(tmp_path: Path) -> None:
    model = BenchModel(DIRECT, {})
    tasks = select_tasks(TASKS, "0:6", HE)
    with FakeLLMServer(model) as server:
        settings = settings_for(server, tmp_path)
        outcomes = await evaluated(settings, tasks, ["repeated"], samples=4)

    assert [o.task_id for o in outcomes] == [f"HumanEval/{i}" for i in range(6)]
    assert {o.task_id: _counts(o) for o in outcomes} == DIRECT_COUNTS
    assert {o.task_id: o.public_tests for o in outcomes}["HumanEval/0"] == 2
    summary, = summarize(outcomes, [1, 2])
    assert summary.strategy == "repeated"
    assert summary.pass_at == pytest.approx(DIRECT_PASS)
    assert summary.filtered_pass_at == pytest.approx(DIRECT_FILTERED)
    assert summary.candidates == 24
    assert summary.fewer_than_k == {1: 0, 2: 0}
    # The fake server counts a reply's words as its output tokens.
    words = sum(len(reply.split()) for reply in model.replies)
    assert summary.output_tokens_per_candidate == pytest.approx(words / 24)
    # canonical, neighbours-only and None-returning behave three different ways
    first = outcomes[0]
    assert (first.behaviour_clusters, first.distinct_plans) == (3, 0)
    assert outcomes[5].behaviour_clusters == 1
    hidden_failures = [c.failure for c in first.candidates if c.passes_public
                       and not c.passes_hidden]
    assert len(hidden_failures) == 1
    assert hidden_failures[0] is not None and hidden_failures[0].startswith("hidden: fail")


async def test_a_second_run_is_answered_from_the_cache_alone(tmp_path: Path) -> None:
    tasks = select_tasks(TASKS, "0,1", HE)
    with FakeLLMServer(BenchModel(DIRECT, FROM_PLAN)) as server:
        settings = settings_for(server, tmp_path, budget="quick")
        first = await evaluated(settings, tasks, ["repeated", "ideasearch"], samples=4)
        asked = server.request_count
        again = await evaluated(settings, tasks, ["repeated", "ideasearch"], samples=4)
        assert server.request_count == asked > 0
    assert [_counts(o) for o in again] == [_counts(o) for o in first]
    assert all(o.cached_calls == o.calls > 0 for o in again)
    assert all(o.cached_calls == 0 for o in first)
    assert [o.output_tokens for o in again] == [o.output_tokens for o in first]


async def test_strategies_are_compared_side_by_side(tmp_path: Path) -> None:
    tasks = select_tasks(TASKS, "HumanEval/0,HumanEval/1", HE)
    # IdeaSearch makes 4 code calls per problem; PlanSearch's tree here up to 6, of which
    # the first 4 to finish are kept: each problem's replies are all alike so that the
    # figures do not depend on which.
    alike = {"HumanEval/0": [canonical("HumanEval/0")] * 10,
             "HumanEval/1": [none_returning("HumanEval/1")] * 10}
    with FakeLLMServer(BenchModel({}, alike)) as server:
        settings = settings_for(server, tmp_path, budget="quick")
        outcomes = await evaluated(settings, tasks, ["ideasearch", "plansearch"], samples=4)
    assert [(o.strategy, o.task_id) for o in outcomes] == [
        ("ideasearch", "HumanEval/0"), ("ideasearch", "HumanEval/1"),
        ("plansearch", "HumanEval/0"), ("plansearch", "HumanEval/1"),
    ]
    ideas, plans = summarize(outcomes, [1])
    assert [o.n for o in outcomes] == [4, 4, 4, 4]
    assert [o.c_hidden for o in outcomes] == [4, 0, 4, 0]
    assert ideas.pass_at[1] == plans.pass_at[1] == 0.5
    by_strategy = {o.strategy: o for o in outcomes if o.task_id == "HumanEval/0"}
    # The fake answers the same sketch request with the same text: one plan for IdeaSearch;
    # PlanSearch sketches differ per observation node.
    assert by_strategy["ideasearch"].distinct_plans == 1
    assert by_strategy["plansearch"].distinct_plans >= 2
    assert all(o.behaviour_clusters == 1 for o in outcomes)
    table = summary_table([ideas, plans], [1], "bench")
    assert table.headers[:5] == [
        "strategy", "problems", "cand.", "pass@1", "filtered@1"
    ]


async def test_every_canonical_solution_passes_the_bench_hidden_test() -> None:
    """The dataset side: all 164 problems build, their canonical solutions pass `check`."""

    async def one(task: Task) -> tuple[str, tuple[bool, bool]]:
        problem = task_problem(task)
        public = examples.tests_from_examples(problem)
        program = candidate_program(problem, canonical(task.task_id), module_source(task))
        run = await executor.run(program, [*public, hidden_test(task)])
        statuses = [o.status == "pass" for o in run.outcomes]
        return task.task_id, (all(statuses[:-1]), statuses[-1])

    async with Executor(workers=2) as executor:
        results = dict(await asyncio.gather(*(one(task) for task in TASKS)))
    assert len(results) == 164
    assert all(hidden for _, hidden in results.values())
    # Docstring examples that the canonical solution itself does not satisfy: wrong examples
    # in the dataset (47, 116), definitions read as examples (130), a tuple written as
    # ("Venus") (148). The public filter drops correct programs there, as it would in the paper.
    assert sorted(t for t, (public, _) in results.items() if not public) == [
        "HumanEval/116", "HumanEval/130", "HumanEval/148", "HumanEval/47",
    ]


def test_imports_before_the_docstring_move_to_module_level() -> None:
    task = _task("HumanEval/115")
    source = module_source(task)
    assert source.index("import math") < source.index("def max_fill")
    problem = task_problem(task)
    assert problem.docstring is not None and "grid of wells" in problem.docstring
    assert problem.imports == ("import math",)
    assert module_source(_task("HumanEval/0")) == _task("HumanEval/0").prompt


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("0:3", ["HumanEval/0", "HumanEval/1", "HumanEval/2"]),
        ("162:", ["HumanEval/162", "HumanEval/163"]),
        ("5, HumanEval/9,5,-1", ["HumanEval/5", "HumanEval/9", "HumanEval/163"]),
        ("10:12,HumanEval/11,", ["HumanEval/10", "HumanEval/11"]),
    ],
)
def test_problem_selection(spec: str, expected: list[str]) -> None:
    assert [task.task_id for task in select_tasks(TASKS, spec, "HumanEval")] == expected


@pytest.mark.parametrize("spec", ["HumanEval/164", "200", "a:b", "zero", "5:5", " , "])
def test_bad_problem_selection_says_why(spec: str) -> None:
    with pytest.raises(BenchError):
        select_tasks(TASKS, spec, "HumanEval")


@pytest.mark.parametrize(
    "model", [BenchReport, StrategySummary, ProblemOutcome, CandidateOutcome, JudgeOutcome]
)
def test_the_docs_name_every_field_of_the_report(model: type[BaseModel]) -> None:
    text = (ROOT / "docs" / "bench.md").read_text(encoding="utf-8")
    section = text.split("## The JSON report", 1)[1].split("\n## ", 1)[0]
    for name in model.model_fields:
        assert f"`{name}`" in section, f"{model.__name__}.{name}"


# ------------------------------------------------------------------ the CLI, end to end


@pytest.fixture
def cli_server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(BenchModel(DIRECT, FROM_PLAN)) as server:
        yield server


def bench_cli(server: FakeLLMServer, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env["ANTHROPIC_API_KEY"] = "sk-bench-test"
    env["ANTHROPIC_BASE_URL"] = server.base_url_anthropic
    env["PYTHONPATH"] = str(ROOT)
    env["COLUMNS"] = "200"  # room for the whole table in a pipe
    return subprocess.run(
        [sys.executable, "-m", "plansearch", "bench", "humaneval", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_cli_compares_strategies_writes_json_and_resumes_for_free(
    tmp_path: Path, cli_server: FakeLLMServer
) -> None:
    args = ("--problems", "0:3", "--strategy", "repeated", "--strategy", "ideasearch",
            "--samples", "4", "--budget", "quick", "--k", "2,1", "--out", "out/results.json")
    run = bench_cli(cli_server, tmp_path, *args)
    assert run.returncode == 0, run.stderr
    assert "sk-bench-test" not in run.stdout + run.stderr
    assert "3 problems x 2 strategies" in run.stderr
    assert "HumanEval/2 [ideasearch] 4 candidates: 1 correct, 3 pass public" in run.stderr
    assert "pass@1" in run.stdout and "filtered@2" in run.stdout
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    assert report["ks"] == [1, 2]
    assert report["problems"] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    summary = {s["strategy"]: s for s in report["summary"]}
    # repeated: problems 0-2 of DIRECT; ideasearch: FROM_PLAN (c = 4, 1, 1 of 4)
    assert summary["repeated"]["pass_at"]["1"] == pytest.approx((1 / 4 + 3 / 4 + 0) / 3)
    assert summary["repeated"]["pass_at"]["2"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert summary["repeated"]["filtered_pass_at"]["1"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert summary["ideasearch"]["pass_at"]["1"] == pytest.approx((1 + 1 / 4 + 1 / 4) / 3)
    assert summary["ideasearch"]["filtered_pass_at"]["1"] == pytest.approx((1 + 1 + 1 / 3) / 3)
    details = {(r["strategy"], r["task_id"]): r for r in report["results"]}
    assert len(details) == 6
    assert len(details["repeated", "HumanEval/0"]["candidates"]) == 4
    asked = cli_server.request_count

    again = bench_cli(cli_server, tmp_path, *args)
    assert again.returncode == 0, again.stderr
    assert cli_server.request_count == asked
    resumed = json.loads((tmp_path / "out" / "results.json").read_text())
    assert resumed["summary"][0]["pass_at"] == report["summary"][0]["pass_at"]
    assert resumed["summary"][0]["cached_calls"] == resumed["summary"][0]["calls"] > 0


def test_cli_rejects_a_bad_k_and_a_bad_slice(tmp_path: Path, cli_server: FakeLLMServer) -> None:
    bad_k = bench_cli(cli_server, tmp_path, "--k", "0,5", "--problems", "0")
    assert bad_k.returncode == 2
    assert "--k" in bad_k.stderr and "Traceback" not in bad_k.stderr
    bad_slice = bench_cli(cli_server, tmp_path, "--problems", "HumanEval/999")
    assert bad_slice.returncode == 2
    assert "HumanEval/999" in bad_slice.stderr
    assert cli_server.request_count == 0


@pytest.mark.slow
def test_cli_says_when_every_search_failed(tmp_path: Path) -> None:
    with FakeLLMServer(BenchModel(DIRECT, {}), api_key="sk-the-right-key") as server:
        run = bench_cli(server, tmp_path, "--problems", "0:2", "--strategy", "repeated",
                        "--samples", "2", "--out", "r.json")
    assert run.returncode == 1, run.stderr
    assert "Every search failed" in run.stderr
    assert "sk-bench-test" not in run.stdout + run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"][0]["failed_searches"] == 2
    assert report["summary"][0]["pass_at"]["1"] == 0.0

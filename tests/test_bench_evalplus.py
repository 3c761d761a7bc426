"""HumanEval+ and MBPP+ offline, through evalplus's own loaders and their override paths,
with fixtures in evalplus's format: expected outputs from the canonical solutions run in the
executor, evalplus's float tolerance, time limits and set oracle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plansearch.bench import evalplus_data
from plansearch.bench.evalplus_data import EvalPlusTask, Grader
from plansearch.bench.runner import ProblemOutcome, RunOptions, evaluate
from tests.fixtures.bench_model import BenchModel
from tests.search_helpers import settings_for, workbench
from tests.support.fake_llm import FakeLLMServer

pytest.importorskip("evalplus.data", reason="the evalplus extra is not installed")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "evalplus"
HUMANEVAL_SCRIPTS = {
    "[FX-ADD]": [
        "def add_pair(a, b):\n    return a + b\n",
        "def add_pair(a, b):\n    return a + b if a < 1000 else 0\n",  # base only
        "def add_pair(a, b):\n    return a * b\n",
    ],
    "[FX-MEAN]": [
        "def mean(xs):\n    return sum(xs) / len(xs)\n",
        "def mean(xs):\n    return sum(xs) / len(xs) + 1e-9\n",  # within evalplus's 1e-6
        "def mean(xs):\n    return sum(xs) / len(xs) + 1e-3\n",
        "def mean(xs):\n    while len(xs) > 4:\n        pass\n    return sum(xs) / len(xs)\n",
    ],
}
MBPP_SCRIPTS = {
    "[FX-SHARED]": [  # another order and type: the problem compares as sets
        "def similar_elements(a, b):\n    return sorted(set(a) & set(b), reverse=True)\n",
        "def similar_elements(a, b):\n    return tuple(a)\n",
    ],
    "[FX-SQUARE]": [
        "def square(n):\n    return n * n\n",
        "def square(n):\n    return n * abs(n)\n",  # right on the base inputs only
    ],
}


def counts(outcome: ProblemOutcome) -> tuple[int, int, int, int]:
    return (outcome.n, outcome.c_hidden, outcome.n_public_pass, outcome.c_public_and_hidden)


async def run(name: str, scripts: dict[str, list[str]], samples: int,
              tmp_path: Path) -> dict[str, ProblemOutcome]:
    file = "HumanEvalPlus.jsonl" if name == "humaneval+" else "MbppPlus.jsonl"
    dataset = evalplus_data.load_dataset(name, FIXTURES / file)
    with FakeLLMServer(BenchModel(scripts)) as server:
        settings = settings_for(server, tmp_path, budget="quick")
        async with workbench(settings) as bench:
            outcomes = await evaluate(bench, dataset.tasks, ["repeated"],
                                      options=RunOptions(samples=samples))
    return {o.task_id: o for o in outcomes}


def test_the_loader_reads_the_override_and_says_which_file() -> None:
    dataset = evalplus_data.load_dataset("mbpp+", FIXTURES / "MbppPlus.jsonl")
    assert dataset.name == "mbpp+"
    assert dataset.version.startswith("MbppPlus.jsonl (md5 ")
    assert dataset.source == str(FIXTURES / "MbppPlus.jsonl")
    task = dataset.tasks[0]
    assert isinstance(task, EvalPlusTask)
    assert (task.task_id, len(task.base_input), len(task.plus_input)) == ("Mbpp/900", 2, 1)
    problem = task.problem()
    assert problem.signature == "def similar_elements(test_tup1, test_tup2):"
    assert "[FX-SHARED]" in problem.prompt_text()
    import evalplus.data.mbpp as mbpp

    assert mbpp.MBPP_OVERRIDE_PATH is None  # put back after loading


async def test_humaneval_plus_inputs_tolerance_and_a_timeout(tmp_path: Path) -> None:
    outcomes = await run("humaneval+", HUMANEVAL_SCRIPTS, 4, tmp_path)
    add, mean = outcomes["HumanEval/900"], outcomes["HumanEval/901"]
    # add_pair: right; base only (fails the plus input 1000000 + 1); wrong; right again
    assert counts(add) == (4, 2, 3, 2)
    assert (add.public_tests, add.hidden_tests) == (1, 5)
    base_only = next(c for c in add.candidates if c.passes_public and not c.passes_hidden)
    assert base_only.hidden_passed == 4 and (base_only.failure or "").startswith("plus-1:")
    # mean: right, off by 1e-9 (passes), off by 1e-3 (fails, the docstring example too),
    # loops on the 5-element input
    assert counts(mean) == (4, 2, 3, 2)
    timed_out = next(c for c in mean.candidates if "timeout" in (c.failure or ""))
    assert (timed_out.failure or "").startswith("plus-2: timeout")
    assert timed_out.hidden_passed == 3  # the inputs before and after it ran


async def test_mbpp_plus_set_oracle_and_plus_inputs(tmp_path: Path) -> None:
    outcomes = await run("mbpp+", MBPP_SCRIPTS, 2, tmp_path)
    # the prompt's assert is the public test
    assert counts(outcomes["Mbpp/900"]) == (2, 1, 1, 1)
    assert counts(outcomes["Mbpp/901"]) == (2, 1, 2, 1)
    assert outcomes["Mbpp/901"].public_tests == 1


def test_grading_follows_evalplus() -> None:
    grader = Grader("humaneval", "f", 0.0, {}, {}, {})
    assert grader.matches([1, 2], [1, 2], ())
    assert not grader.matches((1, 2), [1, 2], ())  # types differ
    assert grader.matches(0.1 + 0.2, 0.3, ())  # floats: 1e-6 when the problem has no atol
    assert not grader.matches(0.3001, 0.3, ())
    assert not grader.matches(1, 1.0000001, ())  # an int is not a float
    loose = Grader("humaneval", "f", 0.01, {}, {}, {})
    assert loose.matches([1.0, 2.005], [1.0, 2.0], ()) and not loose.matches([1.0], [1.0, 2.0], ())
    root = Grader("humaneval", "find_zero", 1e-4, {}, {}, {})
    assert root.matches(-0.5, 123.0, ([1, 2],))  # 1 + 2x = 0: any true root passes
    assert not root.matches(0.5, -0.5, ([1, 2],))
    sets = Grader("mbpp", "similar_elements", 0.0, {}, {}, {})
    assert sets.matches([5, 4], (4, 5), ())


def test_cli_honours_evalplus_override_variable(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env |= {"ANTHROPIC_API_KEY": "sk-bench-test", "PYTHONPATH": str(ROOT),
            "HUMANEVAL_OVERRIDE_PATH": str(FIXTURES / "HumanEvalPlus.jsonl")}
    with FakeLLMServer(BenchModel(HUMANEVAL_SCRIPTS)) as server:
        env["ANTHROPIC_BASE_URL"] = server.base_url_anthropic
        run = subprocess.run(
            [sys.executable, "-m", "plansearch", "bench", "humaneval+", "--problems",
             "HumanEval/900", "--strategy", "repeated", "--samples", "3", "--budget", "quick",
             "--k", "1", "--out", "r.json"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL,
        )
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["dataset"] == "humaneval+" and report["problems"] == ["HumanEval/900"]
    assert report["data_source"] == str(FIXTURES / "HumanEvalPlus.jsonl")
    assert report["summary"][0]["pass_at"]["1"] == pytest.approx(1 / 3)

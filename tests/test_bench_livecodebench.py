"""LiveCodeBench offline: the fixture release files (written in the dataset's exact format,
both encodings of the private tests), graded by LiveCodeBench's rules, with a loopback model
whose scripted programs are right on some problems and wrong on others."""

from __future__ import annotations

import base64
import datetime
import json
import os
import pickle
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from plansearch.bench import livecodebench as lcb
from plansearch.bench.lcb_grading import grade_functional, result_matches, stdout_matches
from plansearch.bench.runner import ProblemOutcome, RunOptions, evaluate
from plansearch.bench.tasks import BenchError
from plansearch.types import TestCase, TestOutcome, TestStatus
from tests.fixtures.bench_model import BenchModel
from tests.search_helpers import settings_for, workbench
from tests.support.fake_llm import FakeLLMServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "livecodebench"
READ = "a, b = map(int, input().split())\n"
SORT = "n = int(input())\nxs = list(map(int, input().split()))\n"
# Per problem, in order of request; three samples each: (n, correct, pass public, both).
SCRIPTS = {
    "[FX-SUM]": [READ + "print(a + b)\n", READ + "print(a + b)\n", READ + "print(a - b)\n"],
    "[FX-PAIR]": [  # the method alone, `List` from LiveCodeBench's preamble
        "def pairIndices(self, nums: List[int], target: int) -> List[int]:\n"
        "    seen = {}\n    for j, x in enumerate(nums):\n        if target - x in seen:\n"
        "            return [seen[target - x], j]\n        seen[x] = j\n",
        "def pairIndices(self, nums: List[int], target: int) -> List[int]:\n"
        "    return [0, 1]\n",  # right on the public test only
    ],
    "[FX-SORT]": [
        SORT + "print(' '.join(map(str, sorted(xs))))\n"
        "print('Yes' if xs == sorted(xs) else 'No')\n",
        # extra whitespace everywhere: LiveCodeBench strips lines and reads numbers
        SORT + "print('  ' + '   '.join(map(str, sorted(xs))) + '  ')\n"
        "print(('Yes' if xs == sorted(xs) else 'No') + '   ')\nprint()\nprint()\n",
        # upper case: the executor's tolerant comparison passes it, LiveCodeBench does not
        SORT + "print(' '.join(map(str, sorted(xs))))\n"
        "print('YES' if xs == sorted(xs) else 'NO')\n",
    ],
    "[FX-DIV]": [
        READ + "print(a / b)\n",  # prints 1.0 for 1: equal as decimals
        READ + "print(a / b + 1e-9)\n",  # within the executor's tolerance, not LiveCodeBench's
        READ + "while a == 7:\n    pass\nprint(a / b)\n",  # times out on one private test
    ],
    "[FX-RANGE]": [
        "def minMax(self, nums):\n    return (min(nums), max(nums))\n",  # a tuple for a list
        "def minMax(self, nums):\n    return [max(nums), min(nums)]\n",
    ],
}
COUNTS = {
    "abc900_a": (3, 2, 2, 2),
    "9001": (3, 2, 3, 2),
    "2090_A": (3, 2, 2, 2),
    "abc990_b": (3, 1, 2, 1),
    "9100": (3, 2, 2, 2),
}


def counts(outcome: ProblemOutcome) -> tuple[int, int, int, int]:
    return (outcome.n, outcome.c_hidden, outcome.n_public_pass, outcome.c_public_and_hidden)


def load(**selection: object) -> list[lcb.LcbTask]:
    dataset = lcb.load_dataset(FIXTURES, lcb.Selection(**selection))  # type: ignore[arg-type]
    return list(dataset.tasks)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the data


def test_both_encodings_of_the_private_tests_decode() -> None:
    tasks = {task.task_id: task for task in load()}
    assert [t.task_id for t in load()] == ["abc900_a", "9001", "2090_A", "abc990_b", "9100"]
    # plain JSON (abc900_a, abc990_b) and base64 of zlib of a pickle (9001, 2090_A, 9100)
    assert tasks["abc900_a"].private[0] == lcb.LcbTest("10 20\n", "30\n", "stdin")
    assert tasks["9001"].private[1] == lcb.LcbTest("[1, 5, 1, 5]\n10", "[1, 3]", "functional")
    assert tasks["2090_A"].private[0].output == "1 2 3 4\nYes\n"
    assert tasks["9001"].func_name == "pairIndices" and tasks["abc900_a"].func_name is None
    assert tasks["9100"].contest_date == datetime.date(2025, 4, 1)


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(datetime.date(2024, 1, 1)),  # an object: needs a class
        pickle.dumps(os.getcwd),  # a function: what an attack would reference
        pickle.dumps([{"input": "1", "output": "1", "testtype": "stdin"}]),  # not text
    ],
)
def test_the_unpickler_takes_a_string_and_nothing_else(payload: bytes) -> None:
    encoded = base64.b64encode(zlib.compress(payload)).decode()
    with pytest.raises(ValueError, match=r"pickle|unpickle"):
        lcb.decode_tests(encoded)


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ({"release": "v6"}, ["2090_A", "abc990_b", "9100"]),
        ({"release": "release_v1"}, ["abc900_a", "9001"]),
        ({"since": datetime.date(2025, 3, 1)}, ["abc990_b", "9100"]),
        ({"until": datetime.date(2025, 2, 1)}, ["abc900_a", "9001", "2090_A"]),
        ({"since": datetime.date(2023, 7, 1), "until": datetime.date(2025, 3, 15)},
         ["9001", "2090_A", "abc990_b"]),
        ({"platforms": ("leetcode",)}, ["9001", "9100"]),
        ({"difficulties": ("easy", "hard")}, ["abc900_a", "2090_A", "9100"]),
    ],
)
def test_selection_by_release_date_window_platform_and_difficulty(
    selection: dict[str, object], expected: list[str]
) -> None:
    assert [task.task_id for task in load(**selection)] == expected


def test_a_release_needs_its_files_and_a_file_must_belong_to_it() -> None:
    with pytest.raises(BenchError, match=r"test2\.jsonl"):
        lcb.load_dataset(FIXTURES, lcb.Selection(release="release_v6"))
    with pytest.raises(BenchError, match="not in release v6"):
        lcb.load_dataset(FIXTURES / "test.jsonl", lcb.Selection(release="v6"))
    with pytest.raises(BenchError, match="unknown release"):
        lcb.load_dataset(FIXTURES, lcb.Selection(release="v9"))
    one = lcb.load_dataset(FIXTURES / "test6.jsonl", lcb.Selection())
    assert one.version == "test6.jsonl" and len(one.tasks) == 3


def test_the_search_sees_the_statement_and_starter_code_not_the_private_tests() -> None:
    tasks = {task.task_id: task for task in load()}
    method = tasks["9001"].problem()
    assert method.qualname == "Solution.pairIndices"
    text = method.prompt_text()
    assert "[FX-PAIR]" in text and "def pairIndices(self, nums: List[int]" in text
    assert "[1, 5, 1, 5]" not in text  # a private input
    program = tasks["2090_A"].problem()
    assert program.entry_point is None and "9 -1" not in program.prompt_text()


# ------------------------------------------------------------------ the grading rules


@pytest.mark.parametrize(
    ("actual", "expected", "passes"),
    [
        ("1 2 3\nNo\n", "1 2 3\nNo\n", True),
        ("\n  1   2 3  \nNo   \n\n\n", "1 2 3\nNo\n", True),  # whitespace around and between
        ("1 2 3\nNO\n", "1 2 3\nNo\n", False),  # no case folding
        ("1 2 3\n\nNo\n", "1 2 3\nNo\n", False),  # a blank line inside is a line
        ("1.0\n", "1\n", True),  # numbers compare as decimals
        ("0.50 1e3\n", "0.5 1000\n", True),
        ("0.500000001\n", "0.5\n", False),  # no tolerance
        ("a  b\n", "a b\n", False),  # words are not numbers
    ],
)
def test_stdout_compares_as_livecodebench_does(actual: str, expected: str, passes: bool) -> None:
    assert stdout_matches(actual, expected) is passes


def test_a_call_result_compares_as_livecodebench_does() -> None:
    assert result_matches((1, 3), [1, 3])  # a tuple counts as a list
    assert not result_matches([(1, 3)], [[1, 3]])  # only at the top
    assert result_matches(2.0, 2) and not result_matches(0.30000001, 0.3)
    case = TestCase(id="private-1", kind="docstring", source="s", call="Solution().f(1)",
                    expected="0.3")
    close = TestOutcome(test_id="private-1", status=TestStatus.PASS, actual="0.30000001")
    assert not grade_functional(case, close).passed  # the executor's 1e-4 does not apply


# ------------------------------------------------------------------ end to end


@pytest.mark.slow  # one candidate runs into LiveCodeBench's 6 s limit
async def test_stdin_and_functional_problems_graded_by_livecodebench_rules(tmp_path: Path) -> None:
    with FakeLLMServer(BenchModel(SCRIPTS)) as server:
        settings = settings_for(server, tmp_path, budget="quick")
        async with workbench(settings) as bench:
            outcomes = await evaluate(bench, load(), ["repeated"], options=RunOptions(samples=3))
    by_id = {o.task_id: o for o in outcomes}
    assert {task_id: counts(o) for task_id, o in by_id.items()} == COUNTS
    assert {o.hidden_tests for o in outcomes} == {2, 3}
    assert all(c.tolerant_verdicts == 0 for o in outcomes for c in o.candidates)
    failures = {task_id: sorted(c.failure or "" for c in o.candidates if not c.passes_hidden)
                for task_id, o in by_id.items()}
    timed_out = next(c for c in by_id["abc990_b"].candidates if "timeout" in (c.failure or ""))
    assert (timed_out.failure or "").startswith("private-2: timeout")
    assert (timed_out.public_passed, timed_out.hidden_passed) == (1, 2)  # the others ran
    assert "compared as LiveCodeBench does" in failures["2090_A"][0]  # "NO" for "No"
    assert failures["9001"][0].startswith("private-1: Solution().pairIndices([3, 2, 4], 6)")


def test_cli_offline_without_data_names_from(tmp_path: Path) -> None:
    env = _cli_env(tmp_path, "http://127.0.0.1:9")
    env |= {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    run = subprocess.run(
        [sys.executable, "-m", "plansearch", "bench", "livecodebench", "--release", "v6"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 2, run.stderr
    assert "--from" in run.stderr and "Traceback" not in run.stderr


def test_cli_runs_a_date_window_piped_and_keeps_the_report_in_the_project(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with FakeLLMServer(BenchModel(SCRIPTS)) as server:
        run = subprocess.run(
            [sys.executable, "-m", "plansearch", "bench", "livecodebench", "--from",
             str(FIXTURES), "--since", "2025-01-01", "--platform", "leetcode,atcoder",
             "--strategy", "repeated", "--samples", "2", "--budget", "quick", "--k", "1,2"],
            cwd=tmp_path, env=_cli_env(tmp_path, server.base_url_anthropic),
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )
    assert run.returncode == 0, run.stderr
    # piped: plain columns, never cut, whatever the width
    header = next(line for line in run.stdout.splitlines() if line.startswith("strategy"))
    assert header.split() == ["strategy", "problems", "cand.", "pass@1", "pass@2",
                              "filtered@1", "filtered@2", "tokens/cand.", "clusters", "plans",
                              "calls", "(cached)"]
    assert "…" not in run.stdout
    reports = list((tmp_path / ".plansearch" / "bench").glob("livecodebench-*.json"))
    assert len(reports) == 1 and not list(tmp_path.glob("*.json"))
    report = json.loads(reports[0].read_text())
    assert report["dataset"] == "livecodebench"
    assert report["dataset_version"] == "test.jsonl+test6.jsonl"
    assert report["data_source"] == str(FIXTURES)
    assert report["selection"] == {"since": "2025-01-01", "platform": "leetcode,atcoder"}
    assert report["problems"] == ["abc990_b", "9100"]
    # abc990_b: exact and +1e-9 (fails); 9100: a tuple (passes) and reversed
    assert report["summary"][0]["pass_at"]["1"] == pytest.approx(0.5)


def _cli_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env |= {"ANTHROPIC_API_KEY": "sk-bench-test", "ANTHROPIC_BASE_URL": base_url,
            "PYTHONPATH": str(ROOT), "COLUMNS": "60", "TERM": "dumb"}
    return env


@pytest.mark.parametrize(
    "value",
    [[1, [2.5, "x"]], (1, 2), {"a": (None, True)}, {3, 4}, frozenset(), float("inf"),
     [float("-inf")], 1 - 2j, "quote ' and \" both"],
)
def test_values_go_to_the_sandbox_as_source_and_come_back_as_data(value: object) -> None:
    from plansearch.bench.literals import parse_value, python_literal
    from plansearch.execution.values import canonical

    assert eval(python_literal(value), {}) == value  # what the sandbox evaluates
    assert parse_value(canonical(value)) == value  # what the executor records, read back
    with pytest.raises(ValueError):
        parse_value("__import__('os').getcwd()")

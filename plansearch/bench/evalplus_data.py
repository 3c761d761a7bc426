"""HumanEval+ and MBPP+ through evalplus's own data loaders, graded as evalplus grades.

evalplus (``pip install 'plansearch[evalplus]'``) downloads its data files at first use into
its cache, or reads the file named by ``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH``
(which ``--from FILE`` sets). Each problem's base inputs (the original tests' inputs) and plus
inputs (evalplus's) are hidden tests; their expected outputs come from running the canonical
solution in our executor, never in this process. As evalplus grades:

- an output equals the expected one by ``==``; failing that, when the problem has a float
  tolerance ``atol`` (1e-6 when it has none and the expected output is floats), it is of the
  same type (and length) and close: ``|out - exp| <= atol + 1e-7 |exp|`` element-wise;
- each input may take max(1 s, 4 x the canonical solution's time on it);
- the special oracles of a few problems (HumanEval/32 checks the root it returns, some MBPP+
  problems compare as sets or only check for None).

The public tests are the prompt's examples: the docstring examples of HumanEval+, the
``assert`` lines of an MBPP+ prompt. A candidate is correct when it passes every base and
plus input.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from plansearch.bench.humaneval import Task as HumanEvalTask
from plansearch.bench.humaneval import module_source, task_problem
from plansearch.bench.literals import parse_value, python_literal
from plansearch.bench.tasks import BenchError, Dataset, TaskTests, Verdict, by_status
from plansearch.extract import problem_from_statement
from plansearch.problem import Problem, ProblemError
from plansearch.splice import candidate_program
from plansearch.testsources.examples import tests_from_examples
from plansearch.types import Program, TestCase, TestOutcome, TestStatus

if TYPE_CHECKING:
    from types import ModuleType

    from plansearch.execution.executor import Executor

Kind = Literal["humaneval", "mbpp"]
MIN_TIME_LIMIT = 1.0
TIME_LIMIT_FACTOR = 4.0
TASK_TIMEOUT = 60.0
"""evalplus's most seconds for all base (or all plus) inputs of one candidate."""
_CANONICAL_LIMITS = {"test_timeout": 60.0, "candidate_timeout": 600.0}
_SET_EQUAL = frozenset({
    "similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
    "larg_nnum", "intersection_array", "find_dissimilar", "Diff",
})
_NOT_NONE = frozenset({"check_str", "text_match_three", "text_starta_endb"})
_NAMES = {"humaneval+": "humaneval", "mbpp+": "mbpp"}
_OVERRIDES = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}


@dataclass(frozen=True)
class EvalPlusTask:
    """One HumanEval+ or MBPP+ problem."""

    task_id: str
    dataset: Kind
    prompt: str
    entry_point: str
    canonical_solution: str
    base_input: list[Any] = field(hash=False)
    plus_input: list[Any] = field(hash=False)
    atol: float = 0.0

    def problem(self) -> Problem:
        if self.dataset == "humaneval":
            return task_problem(self._as_humaneval())
        return problem_from_statement(_docstring(self.prompt), self._signature())

    def program(self, problem: Problem, code: str) -> Program:
        module = module_source(self._as_humaneval()) if self.dataset == "humaneval" else None
        return candidate_program(problem, code, module)

    async def tests(self, problem: Problem, executor: Executor) -> TaskTests:
        inputs = {f"base-{n}": args for n, args in enumerate(self.base_input, 1)}
        inputs |= {f"plus-{n}": args for n, args in enumerate(self.plus_input, 1)}
        hidden = [self._call(test_id, args) for test_id, args in inputs.items()]
        canonical_code = (self.prompt if self.dataset == "humaneval" else "") + \
            self.canonical_solution
        limits = executor.limits.model_copy(update=_CANONICAL_LIMITS)
        run = await executor.run(self.program(problem, canonical_code), hidden, limits)
        expected: dict[str, Any] = {}
        time_limits: dict[str, float] = {}
        for case, outcome in zip(hidden, run.outcomes, strict=True):
            if outcome.status is not TestStatus.PASS:
                raise BenchError(f"{self.task_id}: the canonical solution fails {case.id} "
                                 f"({outcome.status}: {outcome.message[:200]})")
            try:
                value = parse_value(outcome.actual or "")
            except ValueError:
                raise BenchError(f"{self.task_id}: the canonical solution's output on {case.id} "
                                 f"is not plain data: {(outcome.actual or '')[:200]}") from None
            expected[case.id] = value is not None if self.entry_point in _NOT_NONE else value
            seconds = outcome.duration_ms / 1000
            time_limits[case.id] = max(MIN_TIME_LIMIT, TIME_LIMIT_FACTOR * seconds)
        grader = Grader(self.dataset, self.entry_point, self.atol, inputs, expected, time_limits)
        base = sum(time_limits[k] for k in time_limits if k.startswith("base"))
        plus = sum(time_limits.values()) - base
        return TaskTests(
            public=self._public(problem), hidden=hidden, grade=grader,
            test_timeout=max(time_limits.values(), default=MIN_TIME_LIMIT),
            candidate_timeout=min(TASK_TIMEOUT, base) + min(TASK_TIMEOUT, plus) + 2,
        )

    def _call(self, test_id: str, args: Any) -> TestCase:
        call = f"{self.entry_point}({', '.join(python_literal(arg) for arg in args)})"
        kind = "base" if test_id.startswith("base") else "plus"
        return TestCase(id=test_id, kind="docstring", source=f"evalplus {kind} input", call=call)

    def _public(self, problem: Problem) -> list[TestCase]:
        if self.dataset == "humaneval":
            return tests_from_examples(problem)
        lines = [line.strip() for line in problem.statement.splitlines()]
        return [TestCase(id=f"prompt#{n}", kind="assert", source="prompt", code=line)
                for n, line in enumerate((x for x in lines if x.startswith("assert ")), 1)]

    def _as_humaneval(self) -> HumanEvalTask:
        return HumanEvalTask(self.task_id, self.prompt, self.entry_point,
                             self.canonical_solution, test="")

    def _signature(self) -> str:
        """The entry point's ``def`` line, from the canonical solution (names only)."""
        try:
            tree = ast.parse(self.canonical_solution)
        except SyntaxError as error:
            raise ProblemError(f"{self.task_id}: the canonical solution does not parse") \
                from error
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == self.entry_point:
                return f"def {node.name}({ast.unparse(node.args)}):"
        raise ProblemError(f"{self.task_id}: the canonical solution has no {self.entry_point}")


@dataclass(frozen=True)
class Grader:
    """evalplus's verdict on a recorded output; public tests keep the executor's verdict."""

    dataset: Kind
    entry_point: str
    atol: float
    inputs: dict[str, Any]
    expected: dict[str, Any]
    time_limits: dict[str, float]

    def __call__(self, case: TestCase, outcome: TestOutcome) -> Verdict:
        if case.id not in self.expected:
            return by_status(case, outcome)
        if outcome.status is not TestStatus.PASS:
            return Verdict(False, f"{outcome.status}: {outcome.message}")
        seconds, limit = outcome.duration_ms / 1000, self.time_limits[case.id]
        if seconds > limit:
            return Verdict(False, f"took {seconds:.2f} s, over evalplus's limit of {limit:.2f} s")
        try:
            value = parse_value(outcome.actual or "")
        except ValueError:
            return Verdict(False, f"returned a value that is not plain data: {outcome.actual}")
        wanted = self.expected[case.id]
        if self.matches(value, wanted, self.inputs[case.id]):
            return Verdict(True)
        shown = python_literal(wanted)
        return Verdict(False, f"{(case.call or '')[:150]}: expected {shown[:150]}, "
                              f"got {(outcome.actual or '')[:150]}")

    def matches(self, out: Any, exp: Any, args: Any) -> bool:
        """evalplus's comparison of an output with the canonical one on input `args`."""
        try:
            return self._matches(out, exp, args)
        except Exception:  # an output of the wrong type fails, as an assertion would
            return False

    def _matches(self, out: Any, exp: Any, args: Any) -> bool:
        if self.dataset == "humaneval" and self.entry_point == "find_zero":
            return abs(_poly(args[0], out)) <= self.atol
        exact = bool(out == exp)
        if self.dataset == "mbpp":
            exact = self._mbpp_oracle(exact, out, exp, args)
        atol = self.atol
        if atol == 0 and _is_floats(exp):
            atol = 1e-6
        if exact or atol == 0:
            return exact
        if type(out) is not type(exp):
            return False
        if isinstance(exp, list | tuple) and len(out) != len(exp):
            return False
        return _allclose(out, exp, atol)

    def _mbpp_oracle(self, exact: bool, out: Any, exp: Any, args: Any) -> bool:
        name = self.entry_point
        if name == "are_equivalent":
            return True
        if name == "sum_div":
            return exact or out == 0
        if name == "surface_Area":
            return exact or abs(out - _surface_area(*args)) <= self.atol
        if name == "digit_distance_nums":
            return exact or out == _digit_distance(*args)
        if name in _SET_EQUAL:
            return set(out) == set(exp)
        if name in _NOT_NONE:
            return bool(out == exp) if isinstance(out, bool) else exp == (out is not None)
        return exact


def load_dataset(name: str, source: Path | None) -> Dataset:
    """HumanEval+ or MBPP+ (`name`), from evalplus's release or the file `source`."""
    kind: Kind = "humaneval" if _NAMES[name] == "humaneval" else "mbpp"
    module = _data_module(kind)
    if source is not None and not source.is_file():
        raise BenchError(f"--from {source}: no such file")
    override = _OVERRIDES[kind]
    saved = getattr(module, override)
    if source is not None:
        setattr(module, override, str(source.resolve()))
    try:
        with contextlib.redirect_stdout(sys.stderr):  # evalplus prints as it downloads
            loader, digest = ((module.get_human_eval_plus, module.get_human_eval_plus_hash)
                              if kind == "humaneval"
                              else (module.get_mbpp_plus, module.get_mbpp_plus_hash))
            problems = loader()
            md5 = digest()
        used = getattr(module, override)
    except Exception as error:  # a download or a file evalplus cannot read
        raise BenchError(
            f"evalplus could not load {name} ({type(error).__name__}: {str(error)[:200]}). "
            f"Without network, pass --from FILE (or set {override}) with the dataset's jsonl"
        ) from None
    finally:
        setattr(module, override, saved)
    release = "HumanEvalPlus " + module.HUMANEVAL_PLUS_VERSION if kind == "humaneval" \
        else "MbppPlus " + module.MBPP_PLUS_VERSION
    version = f"{Path(used).name if used else release} (md5 {md5})"
    tasks = [_task(kind, item) for item in problems.values()]
    return Dataset(name=name, version=version, source=used or f"evalplus {release} release",
                   tasks=tasks)


def _data_module(kind: Kind) -> ModuleType:
    try:
        return importlib.import_module(f"evalplus.data.{kind}")
    except ImportError:
        raise BenchError(
            "HumanEval+ and MBPP+ need the evalplus package: pip install 'plansearch[evalplus]'"
        ) from None


def _task(kind: Kind, item: dict[str, Any]) -> EvalPlusTask:
    return EvalPlusTask(
        task_id=str(item["task_id"]), dataset=kind, prompt=str(item["prompt"]),
        entry_point=str(item["entry_point"]),
        canonical_solution=str(item["canonical_solution"]),
        base_input=list(item["base_input"]), plus_input=list(item["plus_input"]),
        atol=float(item.get("atol") or 0.0),
    )


def _docstring(prompt: str) -> str:
    """An MBPP+ prompt (a module that is one docstring) as plain text."""
    try:
        text = ast.get_docstring(ast.parse(prompt), clean=True)
    except SyntaxError:
        text = None
    return text if text is not None else prompt.strip()


def _is_floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    return isinstance(value, list | tuple) and bool(value) and all(
        isinstance(item, float) for item in value
    )


def _allclose(out: Any, exp: Any, atol: float) -> bool:
    """numpy's ``allclose(out, exp, rtol=1e-7, atol=atol)`` for numbers and nested sequences."""
    if isinstance(out, list | tuple) and isinstance(exp, list | tuple):
        return len(out) == len(exp) and all(
            _allclose(a, b, atol) for a, b in zip(out, exp, strict=True)
        )
    if isinstance(out, int | float | complex) and isinstance(exp, int | float | complex):
        return bool(abs(out - exp) <= atol + 1e-7 * abs(exp))
    return False


def _poly(xs: list[float], x: float) -> float:
    return sum(coefficient * math.pow(x, power) for power, coefficient in enumerate(xs))


def _surface_area(base_edge: float, height: float) -> float:
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 2 * base_edge * slant)


def _digit_distance(first: int, second: int) -> int:
    left, right = str(first), str(second)
    width = max(len(left), len(right))
    return sum(abs(int(a) - int(b)) for a, b in zip(left.zfill(width), right.zfill(width),
                                                     strict=True))

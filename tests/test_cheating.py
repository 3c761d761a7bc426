"""Candidates that cheat, at every isolation level this machine supports.

Each cheater is wrong (it doubles badly) and tries to get reported passing anyway: by forging
reports, patching the harness or its comparison helpers, returning objects that equal
anything, copying expected values out of the caller's code, exiting early, or breaking the
harness. None of them may pass a test judged outside its process, and each must rank below
the honest candidate. Side effects and special-casing are flagged and ranked below equals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
import pytest_asyncio

from plansearch.candidate_testing import with_code_findings
from plansearch.execution.executor import Executor
from plansearch.execution.hiding import hidden_paths
from plansearch.execution.limits import Limits
from plansearch.execution.sandbox import LEVELS
from plansearch.problem import Example, Problem
from plansearch.ranking import rank
from plansearch.result import Candidate
from plansearch.types import CandidateRun, Program, TestCase, TestStatus
from tests.support.isolation import require_level

pytestmark = pytest.mark.asyncio(loop_scope="module")

LIMITS = Limits(test_timeout=2.0, candidate_timeout=10.0, memory_mb=256)
MODULE = "doubling"
HONEST = "def double(x):\n    return 2 * x\n"
WRONG = "def double(x):\n    return x + 1\n"

PROBLEM = Problem(
    statement="Double a number.\n\n>>> double(21)\n42\n",
    entry_point="double",
    signature="def double(x):",
    examples=(Example(call="double(21)", expected="42", kind="doctest", line=4),),
)
WORKSPACE_TESTS = (
    f"from {MODULE} import double\n"
    "\n"
    "def test_small():\n"
    "    assert double(5) == 10\n"
    "    assert double(-7) == -14\n"
    "\n"
    "def test_loop():\n"
    "    for n in range(3):\n"
    "        assert double(n) == 2 * n\n"
)
TESTS = [
    TestCase(id="value", kind="docstring", source="docstring", call="double(21)", expected="42"),
    TestCase(id="printed", kind="docstring", source="docstring", call="double(4)",
             expected="8", doctest_output=True),
    TestCase(id="split", kind="pytest", source="tests/test_doubling.py", code=WORKSPACE_TESTS,
             function="test_small"),
    TestCase(id="loop", kind="pytest", source="tests/test_doubling.py", code=WORKSPACE_TESTS,
             function="test_loop"),
]
OUTSIDE = ("value", "printed", "split")

# How a cheater finds the harness from inside its own process.
FIND_HARNESS = """
import sys as _sys, os as _os, json as _json
def _harness():
    return _sys.modules['plansearch.execution.harness']
def _runner():
    frame = _sys._getframe(1)
    while frame is not None:
        runner = frame.f_locals.get('self')
        if type(runner).__name__ == '_Runner':
            return runner
        frame = frame.f_back
    return None
def _frame(body):
    data = _json.dumps(body).encode()
    return len(data).to_bytes(4, 'big') + data
"""

CHEATERS = {
    "forged-result-frames": FIND_HARNESS + """
def double(x):
    runner = _runner()
    fd = runner._reporter._fd
    for index in range(len(runner._tests)):
        kind = {'call': 'value', 'probe': 'done', 'code': 'done'}[runner._tests[index]['mode']]
        result = {'k': kind, 'v': True, 'y': True, 'p': [], 'o': ''}
        _os.write(fd, _frame({'t': 'begin', 'i': index, 's': 0.0}))
        _os.write(fd, _frame({'t': 'result', 'i': index, 'r': result}))
    _os._exit(0)
""",
    "import-time-forgery": FIND_HARNESS + """
def _forge():
    fd = 3
    for candidate in range(3, 64):
        try:
            _os.fstat(candidate)
            fd = candidate
        except OSError:
            pass
    for index in range(4):
        _os.write(fd, _frame({'t': 'begin', 'i': index, 's': 0.0}))
        _os.write(fd, _frame({'t': 'result', 'i': index, 'r': {'k': 'done', 'p': []}}))
    _os._exit(0)
_forge()
def double(x):
    return x + 1
""",
    "patched-comparators": """
import sys
def double(x):
    for name in ('plansearch.execution.compare', 'plansearch.execution.asserts'):
        module = sys.modules.get(name)
        for attribute in ('values_equal', 'doctest_matches', 'stdout_matches', 'check_compare'):
            if module is not None and hasattr(module, attribute):
                setattr(module, attribute, lambda *args, **kwargs: True)
    return x + 1
""",
    "patched-runner": FIND_HARNESS + """
def double(x):
    harness = _harness()
    harness._Runner._raised = lambda self, exc: {'k': 'done', 'p': []}
    harness._Probes.probe = lambda self, index, value: None
    harness._Runner._run_call = lambda self, test: {'k': 'value', 'v': True, 'y': True}
    return x + 1
""",
    "default-argument-patching": FIND_HARNESS + """
def _helper(_=setattr(_harness()._Probes, 'probe', lambda self, index, value: None),
            __=setattr(_harness()._Runner, '_run_code',
                       lambda self, test, namespace: {'k': 'done', 'p': []})):
    return None
def double(x):
    return x + 1
""",
    "builtins-repr": """
import builtins
_original = builtins.repr
builtins.repr = lambda value: 'True' if type(value) is int else _original(value)
def double(x):
    return x + 1
""",
    "always-equal": """
class Anything:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
def double(x):
    return Anything()
""",
    "always-equal-int": """
class Anything(int):
    def __eq__(self, other):
        return True
    __hash__ = int.__hash__
def double(x):
    return Anything(x + 1)
""",
    "copies-caller-constants": """
import sys, types
def _constants(code):
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _constants(constant)
        elif type(constant) is int:
            yield constant
def double(x):
    frame = sys._getframe(1)
    while frame is not None:
        for constant in _constants(frame.f_code):
            if constant not in (x, 0, 1) and abs(constant) > abs(x):
                return constant
        frame = frame.f_back
    return x + 1
""",
    "patches-everything-named-compare": """
import sys
def double(x):
    words = ('compare', 'check', 'match', 'equal', 'judge', 'verdict')
    for module in list(sys.modules.values()):
        for name in list(getattr(module, '__dict__', {})):
            if any(word in name.lower() for word in words):
                try:
                    if callable(getattr(module, name)):
                        setattr(module, name, lambda *args, **kwargs: True)
                except Exception:
                    pass
    return x + 1
""",
    "frames-to-every-descriptor": """
import os, json
def double(x):
    bodies = [
        {'t': 'outcome', 'i': 0, 'o': {'status': 'pass'}},
        {'t': 'result', 'i': 0, 'r': {'k': 'done', 'p': []}},
        {'t': 'result', 'i': 0, 'r': {'k': 'value', 'v': True}},
    ]
    for fd in range(3, 256):
        for body in bodies:
            data = json.dumps(body).encode()
            for framed in (len(data).to_bytes(4, 'big') + data, data + b'\\n'):
                try:
                    os.write(fd, framed)
                except OSError:
                    pass
    return x + 1
""",
    "exits-with-zero": "import os\ndef double(x):\n    os._exit(0)\n",
    "system-exit": "def double(x):\n    raise SystemExit(0)\n",
    "keyboard-interrupt": "def double(x):\n    raise KeyboardInterrupt\n",
    "breaks-the-harness": FIND_HARNESS + """
def double(x):
    _harness()._Reporter.send = None
    return x + 1
""",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=LEVELS)
async def executor(request: pytest.FixtureRequest) -> AsyncIterator[Executor]:
    require_level(request.param)
    async with Executor(workers=2, limits=LIMITS, isolation=request.param) as started:
        yield started


async def runs_of(
    executor: Executor, sources: dict[str, str], tests: Sequence[TestCase] = TESTS
) -> tuple[list[Candidate], dict[str, CandidateRun]]:
    candidates, runs = [], {}
    for index, (name, source) in enumerate(sources.items(), start=1):
        program = Program(source=source, entry_point="double", module_name=MODULE)
        run = await executor.run(program, list(tests))
        runs[name] = with_code_findings(run, source, PROBLEM, tests)
        candidates.append(Candidate(id=name, index=index, strategy="test", code=source))
    return candidates, runs


def passed(run: CandidateRun) -> set[str]:
    return {o.test_id for o in run.outcomes if o.status is TestStatus.PASS}


async def test_the_honest_candidate_passes_everything(executor: Executor) -> None:
    _, runs = await runs_of(executor, {"honest": HONEST})
    outcomes = {o.test_id: o for o in runs["honest"].outcomes}
    assert passed(runs["honest"]) == {"value", "printed", "split", "loop"}
    assert {o.test_id: o.judged for o in outcomes.values()} == {
        "value": "outside", "printed": "outside", "split": "outside", "loop": "in_process",
    }  # fmt: skip
    assert runs["honest"].side_effects == [] and runs["honest"].special_casing == []


@pytest.mark.parametrize("cheat", sorted(CHEATERS))
async def test_a_cheater_is_not_reported_passing_and_ranks_below_the_honest(
    executor: Executor, cheat: str
) -> None:
    # the cheater runs first: nothing it does may reach the honest run after it
    candidates, runs = await runs_of(executor, {cheat: CHEATERS[cheat], "honest": HONEST})
    cheater = runs[cheat]
    assert not passed(cheater) & set(OUTSIDE), [o.message for o in cheater.outcomes]
    assert all(o.status is not TestStatus.EXECUTOR_ERROR for o in cheater.outcomes), [
        o.message for o in cheater.outcomes
    ]
    assert passed(runs["honest"]) == {"value", "printed", "split", "loop"}
    ranking = rank(candidates, runs, TESTS)
    assert [r.candidate_id for r in ranking.candidates] == ["honest", cheat]
    assert not ranking.candidates[1].passes_all


async def test_cheaters_that_cheat_alike_still_rank_below_the_honest(executor: Executor) -> None:
    same = CHEATERS["patched-comparators"]
    sources = {"cheat-1": same, "cheat-2": same, "cheat-3": same, "honest": HONEST}
    candidates, runs = await runs_of(executor, sources)
    ranking = rank(candidates, runs, TESTS)
    assert ranking.candidates[0].candidate_id == "honest"


async def test_a_broken_harness_is_the_candidates_error(executor: Executor) -> None:
    _, runs = await runs_of(executor, {"breaker": CHEATERS["breaks-the-harness"]})
    statuses = {o.status for o in runs["breaker"].outcomes}
    assert TestStatus.EXECUTOR_ERROR not in statuses
    assert any("broke the test harness" in o.message for o in runs["breaker"].outcomes)


async def test_early_exits_are_errors_that_say_so(executor: Executor) -> None:
    _, runs = await runs_of(executor, {"exit": CHEATERS["exits-with-zero"]}, TESTS[:1])
    [outcome] = runs["exit"].outcomes
    assert outcome.status is TestStatus.ERROR
    assert "before reporting" in outcome.message


SIDE_EFFECTS = {
    "writes-home": (
        "import os\ndef double(x):\n"
        "    with open(os.path.expanduser('~/leak.txt'), 'w') as out:\n"
        "        out.write(repr(dict(os.environ)))\n"
        "    return 2 * x\n",
        {("file", "writes ~/leak.txt", "outside")},
    ),
    "writes-tmp": (
        "def double(x):\n    open('/tmp/left-behind', 'w').write('1')\n    return 2 * x\n",
        {("file", "writes /tmp/left-behind", "reported")},
    ),
    "socket": (
        "import socket\ndef double(x):\n"
        "    try:\n        socket.create_connection(('127.0.0.1', 9), timeout=0.2)\n"
        "    except OSError:\n        pass\n"
        "    return 2 * x\n",
        {("network", "connects to 127.0.0.1:9", "reported")},
    ),
    "process": (
        "import subprocess\ndef double(x):\n"
        "    subprocess.run(['true'])\n    return 2 * x\n",
        {("process", "starts a process: true", "reported")},
    ),
    "secret": (
        "def double(x):\n"
        "    try:\n        open('/proc/1/environ').read()\n"
        "    except OSError:\n        pass\n"
        "    return 2 * x\n",
        {("secret", "reads /proc/1/environ", "reported")},
    ),
    "signal": (
        "import os, signal\ndef double(x):\n"
        "    try:\n        os.kill(1, signal.SIGCONT)\n"
        "    except OSError:\n        pass\n"
        "    return 2 * x\n",
        {("signal", "sends signal 18 to process 1", "reported")},
    ),
}


@pytest.mark.parametrize("effect", sorted(SIDE_EFFECTS))
async def test_side_effects_are_reported_and_rank_below_an_equal_candidate(
    executor: Executor, effect: str
) -> None:
    source, wanted = SIDE_EFFECTS[effect]
    try:
        candidates, runs = await runs_of(executor, {effect: source, "honest": HONEST})
    finally:  # without a sandbox, /tmp is the machine's own
        Path("/tmp/left-behind").unlink(missing_ok=True)
    seen = {(e.kind, e.detail, e.seen) for e in runs[effect].side_effects}
    for kind, detail, _ in wanted:
        assert any((kind, detail) == (k, d) for k, d, _ in seen), seen
    assert passed(runs[effect]) == passed(runs["honest"])
    ranking = rank(candidates, runs, TESTS)
    assert [r.candidate_id for r in ranking.candidates] == ["honest", effect]
    flagged = ranking.candidates[1]
    assert flagged.unwanted_effects and flagged.flags
    # a problem that asks for what it does does not rank it lower (it was written first)
    asked = frozenset(kind for kind, _, _ in seen)
    lenient = rank(candidates, runs, TESTS, wanted_effects=asked)
    assert [r.candidate_id for r in lenient.candidates] == [effect, "honest"]


async def test_what_only_the_sandbox_sees_is_observed_from_outside(executor: Executor) -> None:
    if not executor.isolation.processes:
        pytest.skip(f"level {executor.isolation.level}: no sandbox to observe from")
    hidden = (
        "import os, socket, ctypes\n"
        "def double(x):\n"
        # written without the audited calls a candidate's own process reports
        "    fd = os.open('/tmp/quiet', os.O_WRONLY | os.O_CREAT)\n"
        "    os.close(fd)\n"
        "    if os.fork() == 0:\n"
        "        os._exit(0)\n"
        "    os.wait()\n"
        "    s = socket.socket()\n"
        "    try:\n        s.connect(('10.1.2.3', 80))\n"
        "    except OSError:\n        pass\n"
        "    return 2 * x\n"
    )
    _, runs = await runs_of(executor, {"quiet": hidden}, TESTS[:1])  # one call
    outside = {(e.kind, e.detail) for e in runs["quiet"].side_effects if e.seen == "outside"}
    assert outside == {
        ("file", "writes /tmp/quiet"),
        ("process", "starts 1 process"),
        ("network", "tries to reach the network (1 attempt)"),
    }


async def test_special_casing_is_flagged_and_ranks_below_an_equal_candidate(
    executor: Executor,
) -> None:
    special = "def double(x):\n    if x == 21:\n        return 42\n    return 2 * x\n"
    candidates, runs = await runs_of(executor, {"special": special, "honest": HONEST})
    assert runs["special"].special_casing == ["returns 42 for the example double(21)"]
    ranking = rank(candidates, runs, TESTS)
    assert [r.candidate_id for r in ranking.candidates] == ["honest", "special"]
    assert "may special-case the tests" in ranking.candidates[1].flags


async def test_test_files_and_examples_cannot_be_read_from_inside(
    executor: Executor, tmp_path: Path
) -> None:
    if not executor.isolation.filesystem:
        pytest.skip(f"level {executor.isolation.level}: files are not protected")
    (tmp_path / "tests").mkdir()
    test_file = tmp_path / "tests" / "test_doubling.py"
    test_file.write_text(WORKSPACE_TESTS)
    module = tmp_path / f"{MODULE}.py"
    module.write_text('def double(x):\n    """>>> double(21)\n    42\n    """\n')
    reader = (
        "import os\n"
        "def double(x):\n"
        "    seen = []\n"
        f"    for path in ({str(test_file)!r}, {str(module)!r}):\n"
        "        try:\n"
        "            seen.append(open(path).read())\n"
        "        except OSError:\n"
        "            seen.append('')\n"
        "    return (seen, double.__doc__)\n"
    )
    reader = '"""Module doc: double(21) == 42"""\n' + reader.replace(
        "def double(x):\n", 'def double(x):\n    """>>> double(21)\n    42\n    """\n'
    )
    hidden = hidden_paths(tmp_path, extra=[module])
    async with Executor(
        workers=1, limits=LIMITS, isolation=executor.isolation.level, paths=[tmp_path],
        hidden=hidden,
    ) as sandboxed:  # fmt: skip
        program = Program(source=reader, entry_point="double", module_name=MODULE)
        call = TestCase(id="seen", kind="docstring", source="docstring", call="double(1)")
        run = await sandboxed.run(program, [call])
    [outcome] = run.outcomes
    assert outcome.status is TestStatus.PASS, outcome.message
    assert "42" not in (outcome.actual or ""), outcome.actual

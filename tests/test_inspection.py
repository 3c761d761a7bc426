"""Static hints read from a candidate's source: special-casing the tests, environment reads."""

from __future__ import annotations

import textwrap

import pytest

from plansearch.inspection import environment_reads, special_casing
from plansearch.types import TestCase


def example(call: str, expected: str, **kwargs: object) -> TestCase:
    return TestCase(
        id=call, kind="docstring", source="docstring", call=call, expected=expected, **kwargs
    )


def sample(stdin: str, stdout: str) -> TestCase:
    return TestCase(id=stdin, kind="stdio", source="statement", stdin=stdin, expected_stdout=stdout)


def code(text: str) -> str:
    return textwrap.dedent(text)


# ----------------------------------------------------------------------------- hard-coded examples

MERGE_EXAMPLES = [example("merge_intervals([(1, 3), (2, 4)])", "[(1, 4)]")]

HONEST_MERGE = code(
    '''
    def merge_intervals(intervals):
        """Merge overlapping intervals.

        >>> merge_intervals([(1, 3), (2, 4)])
        [(1, 4)]
        """
        merged = []
        for start, end in sorted(intervals):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged


    if __name__ == "__main__":
        assert merge_intervals([(1, 3), (2, 4)]) == [(1, 4)]
        print(merge_intervals([(1, 3), (2, 4)]) == [(1, 4)])
    '''
)


def test_honest_merge_intervals_is_not_flagged() -> None:
    assert special_casing(HONEST_MERGE, MERGE_EXAMPLES, "merge_intervals") == []


def test_merge_intervals_returning_the_example_output_is_flagged() -> None:
    cheat = HONEST_MERGE.replace(
        "    merged = []\n",
        "    if intervals == [(1, 3), (2, 4)]:\n        return [(1, 4)]\n    merged = []\n",
    )
    assert special_casing(cheat, MERGE_EXAMPLES, "merge_intervals") == [
        "returns [(1, 4)] for the example merge_intervals([(1, 3), (2, 4)])"
    ]


def test_the_main_guard_counts_for_a_program() -> None:
    """For a stdin/stdout program (no entry point) the main guard is the program itself."""
    program = code(
        """
        import sys
        if __name__ == "__main__":
            data = sys.stdin.read().strip()
            if data == "2\\n10 20":
                print("30")
        """
    )
    assert special_casing(program, [sample("2\n10 20\n", "30\n")], None) == [
        "prints the sample output for sample input 1"
    ]


FACTORIAL_EXAMPLES = [
    example("factorial(0)", "1"),
    example("factorial(1)", "1"),
    example("factorial(5)", "120"),
]


def test_factorial_returning_120_for_5_is_flagged() -> None:
    cheat = code(
        """
        def factorial(n):
            if n == 5:
                return 120
            return n * factorial(n - 1) if n > 1 else 1
        """
    )
    assert special_casing(cheat, FACTORIAL_EXAMPLES, "factorial") == [
        "returns 120 for the example factorial(5)"
    ]


def test_trivial_base_cases_are_not_flagged() -> None:
    honest = code(
        """
        def factorial(n):
            if n in (0, 1):
                return 1
            return n * factorial(n - 1)
        """
    )
    assert special_casing(honest, FACTORIAL_EXAMPLES, "factorial") == []


def test_values_match_only_with_their_type() -> None:
    examples = [example("triple(10)", "30")]
    as_float = "def triple(x):\n    return 30.0 if x == 10 else x * 3\n"
    as_int = "def triple(x):\n    return 30 if x == 10 else x * 3\n"
    assert special_casing(as_float, examples, "triple") == []
    assert special_casing(as_int, examples, "triple") == ["returns 30 for the example triple(10)"]


def test_expected_value_without_the_input_is_not_flagged() -> None:
    examples = [example("total([5, 7, 8])", "20")]
    limit = "def total(xs):\n    return min(sum(xs), 20)\n"
    assert special_casing(limit, examples, "total") == []


def test_lookup_table_keyed_on_the_example_inputs_is_flagged() -> None:
    examples = [example("add(7, 8)", "15"), example("add(100, 250)", "350")]
    table = code(
        """
        def add(a, b):
            answers = {(7, 8): 15, (100, 250): 350}
            return answers.get((a, b), 0)
        """
    )
    assert special_casing(table, examples, "add") == [
        "returns 15 for the example add(7, 8)",
        "returns 350 for the example add(100, 250)",
    ]


def test_dict_keyed_on_the_input_is_flagged_even_for_a_trivial_output() -> None:
    examples = [example('is_palindrome("racecar")', "True")]
    table = 'def is_palindrome(s):\n    return {"racecar": True, "hello": False}.get(s, False)\n'
    mentions = (
        'def is_palindrome(s):\n    if s == "racecar":\n        print("!")\n    return True\n'
    )
    assert special_casing(table, examples, "is_palindrome") == [
        'returns True for the example is_palindrome("racecar")'
    ]
    assert special_casing(mentions, examples, "is_palindrome") == []


def test_doctest_printed_text_is_compared_as_text() -> None:
    examples = [example("count_up(3)", "1 2 3", doctest_output=True)]
    cheat = code(
        """
        def count_up(n):
            if n == 3:
                print("1 2 3")
                return
            print(*range(1, n + 1))
        """
    )
    honest = "def count_up(n):\n    print(*range(1, n + 1))\n"
    assert special_casing(cheat, examples, "count_up") == [
        "returns '1 2 3' for the example count_up(3)"
    ]
    assert special_casing(honest, examples, "count_up") == []


def test_doctest_repr_output_is_compared_as_a_value() -> None:
    examples = [example('greet("bob")', "'hello bob'", doctest_output=True)]
    cheat = 'def greet(name):\n    return "hello bob" if name == "bob" else "hello " + name\n'
    assert special_casing(cheat, examples, "greet") == [
        "returns 'hello bob' for the example greet(\"bob\")"
    ]


def test_only_trusted_docstring_and_stdio_tests_calling_the_entry_point_count() -> None:
    cheat = "def factorial(n):\n    return 120 if n == 5 else 1\n"
    ignored = [
        example("factorial(5)", "120", trusted=False),
        TestCase(id="a", kind="assert", source="tests", code="assert factorial(5) == 120"),
        example("other(5)", "120"),
        example("factorial(*[5])", "120"),
    ]
    assert special_casing(cheat, ignored, "factorial") == []
    assert special_casing(cheat, [example("factorial(5)", "120")], "factorial") != []


def test_method_examples_are_compared_by_their_arguments() -> None:
    cheat = "def solve(self, n):\n    return 120 if n == 5 else 1\n"
    examples = [example("Solution().solve(5)", "120")]
    assert special_casing(cheat, examples, "solve") == [
        "returns 120 for the example Solution().solve(5)"
    ]


def test_many_hard_coded_examples_are_summarised() -> None:
    examples = [example(f"square({n})", str(n * n)) for n in range(10, 15)]
    cheat = "def square(n):\n    return {10: 100, 11: 121, 12: 144, 13: 169, 14: 196}[n]\n"
    assert special_casing(cheat, examples, "square") == [
        "returns 100 for the example square(10)",
        "returns 121 for the example square(11)",
        "returns 144 for the example square(12)",
        "... and 2 more examples",
    ]


def test_long_values_are_clipped_in_the_message() -> None:
    expected = repr(list(range(100, 130)))
    examples = [example("spread(12345)", expected)]
    cheat = f"def spread(n):\n    if n == 12345:\n        return {expected}\n    return []\n"
    [reason] = special_casing(cheat, examples, "spread")
    assert reason.startswith("returns [100, 101, ")
    assert reason.endswith("... for the example spread(12345)")
    assert len(reason.split(" for the example ")[0]) == len("returns ") + 40


def test_stdio_sample_printed_for_its_input_is_flagged() -> None:
    cheat = code(
        """
        import sys
        data = sys.stdin.read()
        if data.strip() == "3\\n1 2 3":
            print("6")
        elif data.strip() == "2\\n10 20":
            print("30")
        else:
            print(sum(map(int, data.split()[1:])))
        """
    )
    samples = [sample("3\n1 2 3\n", "6\n"), sample("2\n10 20\n", "30\n")]
    # The first sample's output is a single small digit: too common to count.
    assert special_casing(cheat, samples, None) == ["prints the sample output for sample input 2"]


def test_stdio_program_that_computes_its_output_is_not_flagged() -> None:
    honest = code(
        """
        import sys
        data = sys.stdin.read().split()
        print(sum(map(int, data[1:])))
        """
    )
    prints_only = 'print("30")\n'  # the output alone, not keyed on the input
    samples = [sample("2\n10 20\n", "30\n")]
    assert special_casing(honest, samples, None) == []
    assert special_casing(prints_only, samples, None) == []


# ----------------------------------------------------------------------------- reading itself


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "def f(x):\n    return f.__doc__.split()[x]\n",
            "reads its own docstring (__doc__)",
        ),
        (
            "def f(x):\n    return __doc__\n",
            "reads its own docstring (__doc__)",
        ),
        (
            "import inspect\ndef f(x):\n    return inspect.stack()[1].frame\n",
            "reads its source or the caller's frames (inspect.stack)",
        ),
        (
            "from inspect import getsource\ndef f(x):\n    return getsource(f)\n",
            "reads its source or the caller's frames (inspect.getsource)",
        ),
        (
            "import sys\ndef f(x):\n    return sys._getframe(1)\n",
            "reads the caller's frames (sys._getframe)",
        ),
        (
            "import sys as s\ndef f(x):\n    return s._getframe(1)\n",
            "reads the caller's frames (sys._getframe)",
        ),
        (
            "from sys import _getframe as frame\ndef f(x):\n    return frame(1)\n",
            "reads the caller's frames (sys._getframe)",
        ),
        (
            "def f(x):\n    return getattr(__import__('sys'), '_getframe')(1)\n",
            "reads the caller's frames (sys._getframe)",
        ),
        (
            "def f(frame):\n    return frame.f_back\n",
            "reads the caller's frames (f_back)",
        ),
        (
            "import sys\ndef f(x):\n    return sys.exc_info()[2].tb_frame\n",
            "reads the caller's frames (tb_frame)",
        ),
        (
            "import traceback\ndef f(x):\n    return traceback.extract_stack()\n",
            "reads the caller's frames (traceback.extract_stack)",
        ),
        (
            "import gc\ndef f(x):\n    return gc.get_referrers(f)\n",
            "walks live objects (gc.get_referrers)",
        ),
        (
            "def f(x):\n    return open(__file__).read()\n",
            "reads its own source file (__file__)",
        ),
        (
            "from pathlib import Path\ndef f(x):\n    return Path(__file__).read_text()\n",
            "reads its own source file (__file__)",
        ),
        (
            "import linecache\ndef f(x):\n    return linecache.getline('x.py', 1)\n",
            "reads its own source (linecache)",
        ),
        (
            "def f(x):\n    return open('tests/test_solution.py').read()\n",
            "opens test files (tests/test_solution.py)",
        ),
        (
            "import glob\ndef f(x):\n    return glob.glob('**/test_*.py')\n",
            "opens test files (**/test_*.py)",
        ),
        (
            "import sys\ndef f(x):\n    return sys.modules['test_solution'].CASES\n",
            "looks through loaded modules (sys.modules)",
        ),
        (
            "import sys\ndef f(x):\n    return [m for m in list(sys.modules.values())]\n",
            "looks through loaded modules (sys.modules)",
        ),
        (
            "import builtins\nbuiltins.print = lambda *a: None\ndef f(x):\n    return x\n",
            "replaces builtins (builtins.print)",
        ),
        (
            "def f(x):\n    setattr(__builtins__, 'sorted', list)\n    return x\n",
            "replaces builtins (builtins.sorted)",
        ),
        (
            "import builtins as b\ndef f(x):\n    b.__dict__['len'] = id\n    return x\n",
            "replaces builtins (builtins.len)",
        ),
    ],
)
def test_reading_itself_or_its_callers_is_flagged(source: str, reason: str) -> None:
    assert special_casing(source, [], "f") == [reason]


def test_innocent_uses_of_the_same_modules_are_not_flagged() -> None:
    innocent = code(
        '''
        """Module docstring mentioning tests/test_x.py and __doc__."""
        import gc
        import inspect
        import os
        import sys
        import builtins

        def f(x, stack=()):
            """Uses f_back-like names only as plain variables: __doc__ here is prose."""
            gc.collect()
            frame = {"f_back": 1}
            here = os.path.dirname(__file__)
            me = sys.modules[__name__]
            print = builtins.print
            return inspect.isclass(x), frame, here, me, stack, "latest.py", "contest.py"
        '''
    )
    assert special_casing(innocent, [], "f") == []


def test_each_reason_is_given_once() -> None:
    twice = code(
        """
        import sys
        def f(x):
            a = sys._getframe(1).f_back
            b = sys._getframe(2).f_back
            return f.__doc__, f.__doc__, a, b
        """
    )
    assert special_casing(twice, [], "f") == [
        "reads the caller's frames (sys._getframe)",
        "reads the caller's frames (f_back)",
        "reads its own docstring (__doc__)",
    ]


def test_example_reasons_come_before_reading_reasons() -> None:
    both = "def factorial(n):\n    print(factorial.__doc__)\n    return 120 if n == 5 else 1\n"
    assert special_casing(both, [example("factorial(5)", "120")], "factorial") == [
        "returns 120 for the example factorial(5)",
        "reads its own docstring (__doc__)",
    ]


# ----------------------------------------------------------------------------- environment


def test_environment_reads_are_reported_in_source_order() -> None:
    reads = code(
        """
        import os
        from os import getenv
        from pathlib import Path

        def f(x):
            token = os.environ.get("TOKEN")
            other = getenv("OTHER")
            key = open(os.path.expanduser("~/.ssh")).read()
            leaked = open("/proc/1/environ").read()
            home = Path.home()
            return token, other, key, leaked, home
        """
    )
    assert environment_reads(reads) == [
        "reads the environment (os.environ)",
        "reads the environment (os.getenv)",
        "reads the home directory",
        "reads ~/.ssh",
        "reads /proc/1/environ",
    ]


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("from os import environ\nx = environ['HOME']\n", "reads the environment (os.environ)"),
        ("import posix\nx = posix.environ\n", "reads the environment (posix.environ)"),
        ("import os\nx = getattr(os, 'environ')\n", "reads the environment (os.environ)"),
        ("x = open(f'/proc/{pid}/environ').read()\n", "reads /proc/*/environ"),
        ("x = open('/proc/self/cmdline').read()\n", "reads /proc/self/cmdline"),
        (
            "import os\nx = os.path.join('/proc', str(pid), 'environ')\n",
            "reads /proc/<pid>/environ",
        ),
        ("x = open('/home/u/.aws/credentials').read()\n", "reads /home/u/.aws/credentials"),
        ("x = open('.env').read()\n", "reads .env"),
        ("x = 'cat /etc/shadow'\n", "reads /etc/shadow"),
        ("import os\nx = os.path.join(home, '.ssh', 'id_rsa')\n", "reads .ssh"),
    ],
)
def test_environment_read(source: str, reason: str) -> None:
    assert reason in environment_reads(source)


def test_code_that_does_not_read_the_environment_has_no_hints() -> None:
    innocent = code(
        '''
        """Reads nothing from os.environ or ~/.ssh: this docstring is prose."""
        import os

        def f(environ, path):
            cpu = open("/proc/cpuinfo").read()
            name = os.path.join(path, "my.env", ".envrc", "id_rsa_like")
            return environ["HOME"], cpu, name, os.getcwd(), "environment"
        '''
    )
    assert environment_reads(innocent) == []


# ----------------------------------------------------------------------------- robustness


def test_syntax_errors_give_no_reasons() -> None:
    broken = "def factorial(n):\n    if n == 5 return 120\n    import os; os.environ\n"
    assert special_casing(broken, FACTORIAL_EXAMPLES, "factorial") == []
    assert environment_reads(broken) == []
    assert special_casing("x = 1\0", [], "f") == []


def test_malformed_examples_are_skipped() -> None:
    cheat = "def f(n):\n    return 120 if n == 5 else 1\n"
    malformed = [
        example("f(5", "120"),
        example("f(5)", "120 +"),
        example("f(x)", "120"),
        example("f(5)[0]", "120"),
        TestCase(id="s", kind="stdio", source="statement"),
    ]
    assert special_casing(cheat, malformed, "f") == []


@pytest.mark.parametrize(
    "source",
    [
        "x = [" + ", ".join(str(i) for i in range(50_000)) + "]\n",
        "x = " + "(" * 1_000 + "1" + ")" * 1_000 + "\n",
        "x = " + "[" * 150 + "]" * 150 + "\n",
        "x = " + "-" * 100_000 + "1\n",
        "x = " + " + ".join(["1"] * 100_000) + "\n",
        "x = a" + ".b" * 50_000 + "\n",
        "x = f" + "()" * 50_000 + "\n",
        "x = a" + ".b" * 500 + "\nimport os\ny = " + "getattr(" * 100 + "os" + ", 'b')" * 100,
        "x = sys" + "()" * 500 + " + " + " + ".join(["1"] * 500) + "\n",
        "x = '" + "a" * 2_000_000 + "'\n",
    ],
)
def test_pathological_sources_do_not_raise(source: str) -> None:
    examples = [example("f([1, 2])", "[" + ", ".join(["1"] * 10_000) + "]"), sample("1 2", "3")]
    assert special_casing(source, examples, "f") == []
    assert environment_reads(source) == []


def test_a_large_hard_coded_table_is_still_found_by_its_entries() -> None:
    rows = ", ".join(f"{n}: {n * 7}" for n in range(10, 5_000))
    cheat = f"TABLE = {{{rows}}}\ndef seven(n):\n    return TABLE[n]\n"
    assert special_casing(cheat, [example("seven(123)", "861")], "seven") == [
        "returns 861 for the example seven(123)"
    ]

"""Tolerant parsing of messy model replies: observation lists and code."""

from __future__ import annotations

import ast

import pytest

from plansearch.parsing import extract_code, extract_text_block, parse_observation_list

# ----------------------------------------------------------------------------- observation lists

LIST_CASES: list[tuple[str, str, list[str] | None]] = [
    ("fenced python list", '```python\n["Sort first.", "Use a heap."]\n```', [
        "Sort first.", "Use a heap."]),
    (
        "prose around a fenced list",
        "Sure! Here are the observations I kept:\n\n```python\n[\n    \"The answer is monotone "
        "in k.\",\n    'Binary search on k works.',\n]\n```\n\nLet me know if you need more.",
        ["The answer is monotone in k.", "Binary search on k works."],
    ),
    (
        "assignment inside the fence",
        "```python\nobservations = [\"a\", \"b\"]  # kept\n```",
        ["a", "b"],
    ),
    ("fence without language", "```\n['x', 'y']\n```", ["x", "y"]),
    ("json fence with true/null", '```json\n["uses true", "and null", true, null]\n```', [
        "uses true", "and null", "True", "None"]),
    ("json object wrapper", '```json\n{"observations": ["p", "q"]}\n```', ["p", "q"]),
    (
        "list split over two fences",
        '```python\n["first", "second",\n```\nand continuing:\n```python\n "third"]\n```',
        ["first", "second", "third"],
    ),
    (
        "two fenced lists are merged",
        '```python\n["one"]\n```\nAlso:\n```python\n["two", "one"]\n```',
        ["one", "two"],
    ),
    (
        "nested unescaped quotes",
        '```python\n[\n  "A "balanced" string has equal counts",\n'
        "  'It's enough to scan once',\n]\n```",
        ['A "balanced" string has equal counts', "It's enough to scan once"],
    ),
    (
        "curly quotes",
        "```python\n[“Prefix sums give range sums”, “Two pointers suffice”]\n```",
        ["Prefix sums give range sums", "Two pointers suffice"],
    ),
    (
        "missing commas between lines",
        '```python\n[\n    "first idea"\n    "second idea"\n]\n```',
        ["first idea", "second idea"],
    ),
    (
        "truncated fenced list drops the cut item",
        '```python\n["complete one", "complete two", "cut off mid',
        ["complete one", "complete two"],
    ),
    (
        "multi-line strings in a list",
        '```python\n[\n    """Spans\n    two lines""",\n    "one line",\n]\n```',
        ["Spans\n    two lines", "one line"],
    ),
    ("non-strings become str", "```python\n[1, 2.5, (3, 4)]\n```", ["1", "2.5", "(3, 4)"]),
    ("explicit empty list", "None of them are useful.\n```python\n[]\n```", []),
    ("unfenced list on its own line", 'Here you go:\n["alpha", "beta"]\nThanks.', [
        "alpha", "beta"]),
    ("unfenced labelled list", 'Final observations: ["alpha", "beta"]', ["alpha", "beta"]),
    (
        "inline numbers in prose are not a list",
        "The array [1, 2, 3] is sorted, so nothing to add.",
        None,
    ),
    (
        "numbered list with prose around",
        "Here are the observations:\n\n1. The graph is a tree.\n2. Leaves can be removed "
        "greedily.\n3. The answer fits in 64 bits.\n\nThese should help.",
        ["The graph is a tree.", "Leaves can be removed greedily.", "The answer fits in 64 bits."],
    ),
    ("parenthesised numbers", "1) first\n2) second", ["first", "second"]),
    ("numbers in parentheses", "(1) first\n(2) second", ["first", "second"]),
    ("dash bullets", "- first\n- second", ["first", "second"]),
    ("star bullets", "* first\n* second", ["first", "second"]),
    ("unicode bullets", "• first\n• second", ["first", "second"]),
    (
        "multi-line items and sub-bullets",
        "1. Sorting helps:\n   after sorting, equal values are adjacent.\n"
        "   - so duplicates are easy to count\n2. A hash map also works.",
        [
            "Sorting helps: after sorting, equal values are adjacent. - so duplicates are easy "
            "to count",
            "A hash map also works.",
        ],
    ),
    (
        "blank lines between items",
        "1. first\n\n2. second\n\n3. third",
        ["first", "second", "third"],
    ),
    (
        "bold titles",
        "1. **Monotonicity:** the cost only grows with k.\n2. **Greedy** works left to right.",
        ["Monotonicity: the cost only grows with k.", "Greedy works left to right."],
    ),
    (
        "bold observation headings",
        "**Observation 1:** The sum is even.\n\n**Observation 2:** Parity is kept\nby every "
        "move.\n\nOverall, these give an O(n) solution.",
        ["The sum is even.", "Parity is kept by every move."],
    ),
    (
        "markdown observation headings with paragraphs",
        "### Observation 1\nOnly the last digit matters.\n\n### Observation 2:\nCycles have "
        "length at most 4.\n\nIn conclusion, simulate.",
        ["Only the last digit matters.", "Cycles have length at most 4."],
    ),
    (
        "plain observation lines",
        "Observation 1: a\nObservation 2: b",
        ["a", "b"],
    ),
    (
        "observation labels inside numbered items",
        "1. Observation 1: a\n2. Observation 2: b",
        ["a", "b"],
    ),
    (
        "the last list wins",
        "Constraints:\n- n <= 10^5\n\nAll observations:\n1. a\n2. b\n3. c\n\nMost useful:\n"
        "1. a\n2. c",
        ["a", "c"],
    ),
    ("quoted numbered items", '1. "quoted one",\n2. "quoted two"', ["quoted one", "quoted two"]),
    ("dedupe ignores case and spacing", "- Same  idea\n- same idea\n- other", [
        "Same  idea", "other"]),
    ("windows newlines", "1. first\r\n2. second\r\n", ["first", "second"]),
    ("nothing list-like", "I could not find any useful observations.", None),
    ("empty reply", "", None),
]


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for _, t, e in LIST_CASES], ids=[n for n, _, _ in LIST_CASES]
)
def test_parse_observation_list(text: str, expected: list[str] | None) -> None:
    assert parse_observation_list(text) == expected


def test_fenced_list_beats_markdown_list() -> None:
    text = "1. draft one\n2. draft two\n\n```python\n['final one']\n```"
    assert parse_observation_list(text) == ["final one"]


def test_list_parsing_never_evaluates() -> None:
    text = '```python\n[__import__("os").getcwd(), "safe"]\n```'
    assert parse_observation_list(text) == ['__import__("os").getcwd()', "safe"]


# ----------------------------------------------------------------------------- extract_code


def defines(code: str | None, name: str) -> bool:
    assert code is not None
    tree = ast.parse(code)
    return any(isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name
               for s in tree.body)


CODE_CASES: list[tuple[str, str, str | None, str | None]] = [
    (
        "prose before and after",
        "Here is my solution:\n\n```python\ndef f(x):\n    return x + 1\n```\n\n"
        "It runs in O(1).",
        "f",
        "def f(x):\n    return x + 1",
    ),
    ("py fence", "```py\ndef f():\n    return 1\n```", "f", "def f():\n    return 1"),
    ("python3 fence", "```python3\ndef f():\n    return 1\n```", "f", "def f():\n    return 1"),
    ("bare fence", "```\ndef f():\n    return 1\n```", "f", "def f():\n    return 1"),
    ("tilde fence", "~~~python\ndef f():\n    return 1\n~~~", "f", "def f():\n    return 1"),
    ("no fences at all", "def f():\n    return 1\n", "f", "def f():\n    return 1"),
    (
        "no fences, prose around",
        "Sure, here's the code.\n\nimport math\n\ndef f(x):\n    return math.floor(x)\n\n"
        "This rounds down.",
        "f",
        "import math\n\ndef f(x):\n    return math.floor(x)",
    ),
    (
        "the block that defines the function wins",
        "First, the idea:\n```python\n# pseudo\nx = sorted(values)\n```\nNow the code:\n"
        "```python\ndef f(values):\n    return sorted(values)\n```\nTest:\n```python\n"
        "print(f([2, 1]))\n```",
        "f",
        "def f(values):\n    return sorted(values)",
    ),
    (
        "the last definition wins",
        "```python\ndef f():\n    return 'slow'\n```\nOptimised:\n```python\ndef f():\n"
        "    return 'fast'\n```",
        "f",
        "def f():\n    return 'fast'",
    ),
    (
        "demo code removed, helpers and constants kept",
        "```python\nimport sys\nMOD = 10**9 + 7\n\ndef helper(a):\n    return a % MOD\n\n"
        "def f(a):\n    return helper(a)\n\n# Example usage:\nresult = f(10)\nprint(result)\n"
        "assert f(1) == 1\nfor case in [1, 2]:\n    f(case)\n\nif __name__ == '__main__':\n"
        "    print(f(int(sys.argv[1])))\n```",
        "f",
        "import sys\nMOD = 10**9 + 7\n\ndef helper(a):\n    return a % MOD\n\n"
        "def f(a):\n    return helper(a)",
    ),
    (
        "async def",
        "```bash\npip install aiohttp\n```\n```python\nasync def f():\n    return 3\n```",
        "f",
        "async def f():\n    return 3",
    ),
    (
        "decorated definition",
        "```python\nfrom functools import cache\n\n@cache\ndef f(n):\n    return n\n```",
        "f",
        "from functools import cache\n\n@cache\ndef f(n):\n    return n",
    ),
    (
        "fence inside a list item is dedented",
        "1. The code:\n   ```python\n   def f():\n       return 5\n   ```",
        "f",
        "def f():\n    return 5",
    ),
    ("windows newlines", "```python\r\ndef f():\r\n    return 5\r\n```\r\n", "f",
     "def f():\n    return 5"),
    (
        "unterminated fence: complete function kept, cut tail dropped",
        "```python\nimport sys\n\ndef f(x):\n    return 1\n\ndef g(y):\n    return y +",
        "f",
        "import sys\n\ndef f(x):\n    return 1",
    ),
    (
        "imports from another block are brought along",
        "```python\nfrom collections import Counter\n```\nThen:\n```python\ndef f(s):\n"
        "    return Counter(s).most_common(1)\n```",
        "f",
        "from collections import Counter\n\n\ndef f(s):\n    return Counter(s).most_common(1)",
    ),
    ("nested function of that name does not count",
     "```python\ndef outer():\n    def f():\n        return 1\n    return f\n```", "f", None),
    ("no block defines the function", "```python\ndef g():\n    return 1\n```", "f", None),
    ("a method of a top-level class counts (the splice takes a class-wrapped method)",
     "```python\nclass A:\n    def f(self):\n        return 1\n```", "f",
     "class A:\n    def f(self):\n        return 1"),
    ("only prose", "I'm sorry, I can't help with that.", "f", None),
    ("one word", "Done", None, None),
    (
        "invalid block used when nothing else parses",
        "```python\ndef f(x) return x\n```",
        "f",
        "def f(x) return x",
    ),
    (
        "invalid block skipped when a valid one defines the function",
        "```python\ndef f(x) return x\n```\nFixed:\n```python\ndef f(x):\n    return x\n```",
        "f",
        "def f(x):\n    return x",
    ),
    (
        "program: largest valid block, main guard kept",
        "```python\nprint(1)\n```\nFull program:\n```python\nimport sys\n\ndef main():\n"
        "    n = int(sys.stdin.readline())\n    print(n * 2)\n\nif __name__ == '__main__':\n"
        "    main()\n```",
        None,
        "import sys\n\ndef main():\n    n = int(sys.stdin.readline())\n    print(n * 2)\n\n"
        "if __name__ == '__main__':\n    main()",
    ),
    (
        "program with no fences",
        "n = int(input())\nprint(n * n)\n",
        None,
        "n = int(input())\nprint(n * n)",
    ),
    (
        "non-python blocks are ignored",
        "```text\ndef f(): return 1\n```\n```python\ndef f():\n    return 2\n```",
        "f",
        "def f():\n    return 2",
    ),
    (
        "non-breaking spaces",
        "```python\ndef f():\n\u00a0\u00a0\u00a0\u00a0return 1\n```",
        "f",
        "def f():\n    return 1",
    ),
]


@pytest.mark.parametrize(
    ("text", "entry_point", "expected"),
    [(t, ep, e) for _, t, ep, e in CODE_CASES],
    ids=[n for n, _, _, _ in CODE_CASES],
)
def test_extract_code(text: str, entry_point: str | None, expected: str | None) -> None:
    assert extract_code(text, entry_point) == expected


def test_truncated_inside_the_function_gives_back_the_raw_block() -> None:
    code = extract_code("```python\ndef f(x):\n    total = 0\n    for i in ran", "f")
    assert code == "def f(x):\n    total = 0\n    for i in ran"  # fails loudly when run


def test_transitive_helpers_from_other_blocks() -> None:
    text = (
        "```python\nimport heapq\n\ndef smallest(xs):\n    return heapq.nsmallest(1, xs)[0]\n```"
        "\n```python\ndef f(xs):\n    return smallest(xs)\n```"
    )
    code = extract_code(text, "f")
    assert defines(code, "f") and defines(code, "smallest")
    assert code is not None and code.startswith("import heapq")


def test_demo_code_before_the_definition_that_uses_io_is_dropped() -> None:
    text = "```python\nimport sys\nsys.setrecursionlimit(10000)\ndata = input()\n\ndef f():\n" \
           "    return 1\n```"
    assert extract_code(text, "f") == "import sys\nsys.setrecursionlimit(10000)\n\ndef f():\n" \
                                      "    return 1"


# ----------------------------------------------------------------------------- extract_text_block


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```\nfor each x:\n  add x\n```", "for each x:\n  add x"),
        ("Pseudocode:\n```text\nloop\n```\nDone.", "loop"),
        ("```\nunterminated pseudocode", "unterminated pseudocode"),
        ("  plain text  \n", "plain text"),
        ("```a\n1\n```\n```b\n2\n```", "```a\n1\n```\n```b\n2\n```"),
    ],
)
def test_extract_text_block(text: str, expected: str) -> None:
    assert extract_text_block(text) == expected

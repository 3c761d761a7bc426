"""Splicing candidates into real-looking modules: exact text, and code that still runs."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import ModuleType

import pytest

from plansearch.problem import Problem
from plansearch.source import definition_start
from plansearch.splice import SpliceError, candidate_program, module_name_for, splice_candidate


def stub_problem(source: str, entry: str, qualname: str | None = None) -> Problem:
    """The problem for the stub named `entry` in `source`, as extraction would build it."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry:
            return Problem(
                statement=ast.get_docstring(node) or "",
                entry_point=entry,
                qualname=qualname or entry,
                is_async=isinstance(node, ast.AsyncFunctionDef),
                source_path="mymod.py",
                stub_start_line=definition_start(node),
                stub_end_line=node.end_lineno,
            )
    raise AssertionError(f"no {entry} in source")


def load(source: str) -> ModuleType:
    """Execute a spliced module (our own test text) and return it."""
    module = ModuleType("spliced")
    sys.modules["spliced"] = module  # dataclasses look their module up while decorating
    try:
        exec(compile(source, "spliced.py", "exec"), module.__dict__)
    finally:
        del sys.modules["spliced"]
    return module


MODULE = '''"""Utilities for prices."""

from __future__ import annotations

import math


def vat(amount: float) -> float:
    return amount * 0.2


def total(prices: list[float]) -> float:
    """Sum the prices and add VAT, rounded up to whole cents.

    >>> total([1.0, 2.0])
    3.6
    """
    raise NotImplementedError


def unrelated() -> int:
    return 1
'''


def test_function_stub_gets_body_helper_and_import_keeping_docstring() -> None:
    candidate = """from decimal import Decimal
import math

def _cents(x):
    return math.ceil(Decimal(str(x)) * 100) / 100

def total(prices):
    s = sum(prices)
    return _cents(s + vat(s))

print(total([1.0]))
"""
    result = splice_candidate(MODULE, stub_problem(MODULE, "total"), candidate)
    assert (
        result
        == '''"""Utilities for prices."""

from __future__ import annotations

import math
from decimal import Decimal


def vat(amount: float) -> float:
    return amount * 0.2


def _cents(x):
    return math.ceil(Decimal(str(x)) * 100) / 100


def total(prices: list[float]) -> float:
    """Sum the prices and add VAT, rounded up to whole cents.

    >>> total([1.0, 2.0])
    3.6
    """
    s = sum(prices)
    return _cents(s + vat(s))


def unrelated() -> int:
    return 1
'''
    )
    assert load(result).total([1.0, 2.0]) == 3.6


def test_candidate_docstring_wins_and_comments_above_are_kept() -> None:
    candidate = '''# Straight sum, then VAT.
def total(prices):
    """Add VAT to the sum."""
    return sum(prices) * 1.2
'''
    result = splice_candidate(MODULE, stub_problem(MODULE, "total"), candidate)
    lines = result.splitlines()
    start = lines.index("# Straight sum, then VAT.")
    assert lines[start : start + 4] == [
        "# Straight sum, then VAT.",
        "def total(prices: list[float]) -> float:",
        '    """Add VAT to the sum."""',
        "    return sum(prices) * 1.2",
    ]
    assert "Sum the prices" not in result


SHOP = '''import functools
from dataclasses import dataclass

# Shop model.
@dataclass
class Shop:
    """A shop with a price list."""

    prices: dict[str, int]

    @staticmethod
    def discount(price: int, percent: int) -> int:
        """Price after a percentage discount, rounded down."""
        ...

    def cost(self, item: str) -> int:
        return self.prices[item]
'''


def test_method_keeps_decorators_and_indent_helpers_go_before_the_class() -> None:
    candidate = """from functools import lru_cache


def _apply(price, percent):
    return price * (100 - percent) // 100


@lru_cache(maxsize=None)
def discount(price: int, percent: int) -> int:
    return _apply(price, percent)
"""
    problem = stub_problem(SHOP, "discount", "Shop.discount")
    result = splice_candidate(SHOP, problem, candidate)
    assert (
        result
        == '''import functools
from dataclasses import dataclass
from functools import lru_cache


def _apply(price, percent):
    return price * (100 - percent) // 100


# Shop model.
@dataclass
class Shop:
    """A shop with a price list."""

    prices: dict[str, int]

    @staticmethod
    @lru_cache(maxsize=None)
    def discount(price: int, percent: int) -> int:
        """Price after a percentage discount, rounded down."""
        return _apply(price, percent)

    def cost(self, item: str) -> int:
        return self.prices[item]
'''
    )
    shop = load(result).Shop({"pen": 250})
    assert shop.discount(250, 10) == 225


def test_class_style_candidate_brings_sibling_methods_into_the_class() -> None:
    candidate = """class Shop:
    def cost(self, item: str) -> int:
        return self.prices[item]

    def _rate(self, percent):
        return (100 - percent) / 100

    def discount(self, price, percent):
        return int(price * self._rate(percent))
"""
    source = SHOP.replace("    @staticmethod\n", "").replace(
        "def discount(price: int", "def discount(self, price: int"
    )
    result = splice_candidate(source, stub_problem(source, "discount", "Shop.discount"), candidate)
    body = result.split("prices: dict[str, int]\n\n")[1]
    assert (
        body
        == '''    def _rate(self, percent):
        return (100 - percent) / 100

    def discount(self, price: int, percent: int) -> int:
        """Price after a percentage discount, rounded down."""
        return int(price * self._rate(percent))

    def cost(self, item: str) -> int:
        return self.prices[item]
'''
    )
    assert load(result).Shop({}).discount(200, 25) == 150


def test_class_style_candidate_that_changes_another_method_is_refused() -> None:
    candidate = """class Shop:
    def cost(self, item):
        return 0

    def discount(self, price, percent):
        return price
"""
    with pytest.raises(SpliceError, match=r"changes Shop\.cost"):
        splice_candidate(SHOP, stub_problem(SHOP, "discount", "Shop.discount"), candidate)


def test_function_written_only_as_a_method_is_refused() -> None:
    candidate = "class Solution:\n    def total(self, prices):\n        return 0\n"
    with pytest.raises(SpliceError, match="only as a method of class Solution"):
        splice_candidate(MODULE, stub_problem(MODULE, "total"), candidate)


def test_async_stub_nested_in_class_with_tabs_and_multiline_strings() -> None:
    source = (
        "class Client:\n"
        "\tasync def fetch(self, key: str) -> str:\n"
        '\t\t"""Return the report for key."""\n'
        "\t\tpass\n"
        "\n"
        "\tdef close(self) -> None:\n"
        "\t\tpass\n"
    )
    candidate = (
        "import asyncio\n"
        "\n"
        "async def fetch(self, key):\n"
        "    await asyncio.sleep(0)\n"
        "    if key:\n"
        '        text = """Report:\n'
        "    indented line\n"
        'end"""\n'
        "        return text + key\n"
        '    return ""\n'
    )
    result = splice_candidate(source, stub_problem(source, "fetch", "Client.fetch"), candidate)
    assert result == (
        "import asyncio\n"
        "\n"
        "\n"
        "class Client:\n"
        "\tasync def fetch(self, key: str) -> str:\n"
        '\t\t"""Return the report for key."""\n'
        "\t\tawait asyncio.sleep(0)\n"
        "\t\tif key:\n"
        '\t\t\ttext = """Report:\n'
        "    indented line\n"
        'end"""\n'
        "\t\t\treturn text + key\n"
        '\t\treturn ""\n'
        "\n"
        "\tdef close(self) -> None:\n"
        "\t\tpass\n"
    )
    import asyncio

    client = load(result).Client()
    assert asyncio.run(client.fetch("k")) == "Report:\n    indented line\nendk"


def test_crlf_module_keeps_every_other_line_byte_for_byte() -> None:
    source = MODULE.replace("\n", "\r\n")
    candidate = "import heapq\ndef total(prices):\n    return round(sum(prices) * 1.2, 2)\n"
    result = splice_candidate(source, stub_problem(source, "total"), candidate)
    assert "\n" not in result.replace("\r\n", "")
    original = source.splitlines(keepends=True)
    spliced = result.splitlines(keepends=True)
    assert spliced[:5] == original[:5]
    assert spliced[5] == "import heapq\r\n"
    start = spliced.index("def total(prices: list[float]) -> float:\r\n")
    assert spliced[6:start] == original[5:11]
    assert spliced[-4:] == original[-4:]
    assert load(result).total([1.0, 2.0]) == 3.6


def test_echoed_helper_is_dropped_and_a_conflicting_one_is_nested() -> None:
    echo = "def vat(amount: float) -> float:\n    return amount * 0.2\n\n" + (
        "def total(prices):\n    return sum(prices) + vat(sum(prices))\n"
    )
    result = splice_candidate(MODULE, stub_problem(MODULE, "total"), echo)
    assert result.count("def vat") == 1

    conflicting = (
        "RATE = 0.25\n\n"
        "def vat(amount):\n    return amount * RATE\n\n"
        "def total(prices):\n    return sum(prices) + vat(sum(prices))\n"
    )
    result = splice_candidate(MODULE, stub_problem(MODULE, "total"), conflicting)
    assert result.count("def vat") == 2
    assert (
        '''    3.6
    """
    RATE = 0.25

    def vat(amount):
        return amount * RATE

    return sum(prices) + vat(sum(prices))
'''
        in result
    )
    module = load(result)
    assert module.total([4.0]) == 5.0
    assert module.vat(10.0) == 2.0


def test_imports_are_added_once_and_only_what_is_missing() -> None:
    source = "from typing import List\nimport os\n\n\ndef f(xs: List[int]) -> int:\n    ...\n"
    candidate = (
        "from typing import List, Dict\n"
        "import os, re as regex\n"
        "from collections import Counter\n"
        "from collections import Counter\n"
        "from __future__ import annotations\n"
        "def f(xs):\n    d: Dict[int, int] = Counter(xs)\n    return len(d)\n"
    )
    result = splice_candidate(source, stub_problem(source, "f"), candidate)
    assert result.startswith(
        "from typing import List\nimport os\nfrom typing import Dict\nimport re as regex\n"
        "from collections import Counter\n\n\ndef f(xs: List[int]) -> int:\n"
    )
    assert "__future__" not in result
    assert load(result).f([1, 1, 2]) == 2


def test_imports_after_shebang_and_docstring_only_modules() -> None:
    shebang = "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\ndef f(x):\n    pass\n"
    result = splice_candidate(
        shebang, stub_problem(shebang, "f"), "import math\ndef f(x):\n    return math.floor(x)\n"
    )
    assert result == (
        "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\nimport math\n\n\n"
        "def f(x):\n    return math.floor(x)\n"
    )
    with_bom = "\ufeff" + shebang[shebang.index("def") :]
    result = splice_candidate(
        with_bom, stub_problem(with_bom[1:], "f"), "import math\ndef f(x):\n    return 1\n"
    )
    assert result == "\ufeffimport math\n\n\ndef f(x):\n    return 1\n"
    documented = '"""Doc."""\n\ndef f(x):\n    pass\n'
    result = splice_candidate(
        documented, stub_problem(documented, "f"), "import math\ndef f(x):\n    return x\n"
    )
    assert result == '"""Doc."""\n\nimport math\n\n\ndef f(x):\n    return x\n'


def test_one_line_candidate_is_expanded_to_take_the_stub_docstring() -> None:
    source = 'def double(x):\n    """Twice x."""\n    ...'  # no final newline
    result = splice_candidate(source, stub_problem(source, "double"), "def double(x): return 2 * x")
    assert result == 'def double(x):\n    """Twice x."""\n    return 2 * x'


def test_demo_code_and_multiline_signature_and_two_space_modules() -> None:
    source = "def pick(\n  items,\n  n=1,\n):\n  '''First n items.'''\n  pass\n"
    candidate = (
        "def pick(items,\n"
        "         n=1):\n"
        "    return list(items)[:n]\n"
        "\n"
        'if __name__ == "__main__":\n'
        "    print(pick([1, 2]))\n"
        "assert pick([1]) == [1]\n"
    )
    result = splice_candidate(source, stub_problem(source, "pick"), candidate)
    assert result == (
        "def pick(\n  items,\n  n=1,\n):\n  '''First n items.'''\n  return list(items)[:n]\n"
    )


def test_stale_or_broken_inputs_are_refused_with_a_reason() -> None:
    problem = stub_problem(MODULE, "total")
    with pytest.raises(SpliceError, match="changed since"):
        splice_candidate("\n\n" + MODULE, problem, "def total(p):\n    return 0\n")
    with pytest.raises(SpliceError, match="does not define total"):
        splice_candidate(MODULE, problem, "def totals(p):\n    return 0\n")
    with pytest.raises(SpliceError, match="candidate is not valid Python"):
        splice_candidate(MODULE, problem, "def total(p):\nreturn 0\n")
    with pytest.raises(SpliceError, match="no stub"):
        splice_candidate(MODULE, Problem(statement="x"), "def total(p):\n    return 0\n")


def test_candidate_program_for_files_packages_statements_and_bare_problems(
    tmp_path: Path,
) -> None:
    package = tmp_path / "shop" / "pricing"
    package.mkdir(parents=True)
    (tmp_path / "shop" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    path = package / "vat.py"
    path.write_text(MODULE)
    problem = stub_problem(MODULE, "total").model_copy(update={"source_path": str(path)})
    program = candidate_program(problem, "def total(p):\n    return 1.0\n", MODULE)
    assert program.module_name == "shop.pricing.vat"
    assert program.entry_point == "total"
    assert "def unrelated() -> int:" in program.source
    assert module_name_for(package / "__init__.py") == "shop.pricing"
    assert module_name_for(tmp_path / "script.py") == "script"

    statement = Problem(statement="Read n, print n squared.")
    program = candidate_program(statement, "print(int(input()) ** 2)\n", None)
    assert program.source == "print(int(input()) ** 2)\n"
    assert program.entry_point is None

    bare = Problem(
        statement="Add.",
        entry_point="add",
        signature="def add(a: List[int]) -> int:",
        imports=("from typing import List",),
        helpers=("def one() -> int:\n    return 1",),
    )
    program = candidate_program(bare, "def add(a):\n    return sum(a) + one()\n", None)
    assert program.module_name == "candidate"
    assert load(program.source).add([1, 2]) == 4


def test_method_helpers_and_imports_meet_above_a_class_right_after_the_imports() -> None:
    source = "import os\nclass A:\n    def m(self):\n        pass\n"
    candidate = "import sys\ndef _h():\n    return sys.maxsize\ndef m(self):\n    return _h()\n"
    result = splice_candidate(source, stub_problem(source, "m", "A.m"), candidate)
    assert result == (
        "import os\nimport sys\n\n\ndef _h():\n    return sys.maxsize\n\n\n"
        "class A:\n    def m(self):\n        return _h()\n"
    )


def test_the_stubs_signature_is_kept_unless_the_candidate_changes_the_parameters() -> None:
    """Annotations and layout of the user's `def` line survive; a new parameter list wins."""
    same = "def total(prices):\n    return sum(prices)\n"
    result = splice_candidate(MODULE, stub_problem(MODULE, "total"), same)
    assert "def total(prices: list[float]) -> float:\n" in result
    renamed = "def total(items, rate=0.2):\n    return sum(items) * (1 + rate)\n"
    result = splice_candidate(MODULE, stub_problem(MODULE, "total"), renamed)
    assert "def total(items, rate=0.2):\n" in result
    one_line = "def f(x: int) -> int: ...\n"
    result = splice_candidate(one_line, stub_problem(one_line, "f"), "def f(x):\n    return x\n")
    assert result == "def f(x):\n    return x\n"


def test_the_stubs_header_is_kept_across_a_multi_line_string_and_a_lambda_annotation() -> None:
    source = 'def fmt(x, sep="""\n:)""") -> "str":  # the header\n    """Join."""\n    ...\n'
    same_parameters = 'def fmt(x, sep=""):\n    return sep\n'
    result = splice_candidate(source, stub_problem(source, "fmt"), same_parameters)
    assert result == (
        'def fmt(x, sep="""\n:)""") -> "str":  # the header\n    """Join."""\n    return sep\n'
    )
    new_parameters = "def fmt(x, sep, end) -> lambda: 1: return x\n"
    result = splice_candidate(source, stub_problem(source, "fmt"), new_parameters)
    assert result == 'def fmt(x, sep, end) -> lambda: 1:\n    """Join."""\n    return x\n'

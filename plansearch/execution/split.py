"""Splitting test code into what the candidate's process runs and what plansearch checks.

A test that is "a call and an expected result" is judged outside the candidate's process:
each recognised check (``assert f(x) == 3``, ``self.assertIn(f(x), (1, 2))``,
``with pytest.raises(ValueError):``) becomes a *probe* in the code the child runs
(``__probe__(k, (f(x)))``), which sends back the value as plain data, and an `Expectation`
that plansearch checks that value against. The expected side never reaches the child, so a
candidate can neither read it nor patch how it is compared.

The child's code keeps every line of the original at its line number: the expected sides are
cut out of the text in place, other tests of a pytest file are blanked out. A test is split
only when every check the test runs is recognised, and none is repeated by a loop or guarded
by a ``try`` (a probe never raises, so either would change what the test does); otherwise
`split_test` gives None and the test runs in the candidate's process as before.

Trusted side only; standard library only.
"""

from __future__ import annotations

import ast
import cmath
import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from functools import partial
from typing import Any, Literal

from plansearch.execution.compare import clip, describe_mismatch, short_repr, values_equal
from plansearch.execution.values import Opaque
from plansearch.source import LINE_BREAK, definition_start, dotted_name, is_main_guard

PROBE = "__probe__"
"""The name the child binds to its probe function: ``__probe__(k, value)``."""
RAISES = "__raises__"
"""The name the child binds to its context manager factory: ``with __raises__(k):``."""

ExpectationKind = Literal[
    "equal", "not_equal", "truthy", "falsy", "is_none", "is_not_none", "is_true", "is_false",
    "less", "less_equal", "greater", "greater_equal", "in", "not_in", "close", "isinstance",
    "raises",
]  # fmt: skip

_SOURCE_LIMIT = 200
_MATCH_CHARS = 10_000  # most of an exception message a `match=` pattern is searched in


@dataclass(frozen=True)
class Expectation:
    """What the trusted side checks of one probed value."""

    kind: ExpectationKind
    expected: Any
    """A plain value; for isinstance a tuple of builtin type names; for raises a tuple of
    exception class names (their last dotted component)."""
    source: str
    """The check as the user wrote it, on one line (its message left out)."""
    line: int
    rel: float | None = None
    abs: float | None = None
    match: str | None = None
    note: str | None = None
    """The check's own message when it is a plain string (shown first on failure)."""

    def check(self, value: Any, truth: bool | None) -> str | None:
        """None when `value` (a decoded plain value, possibly an `Opaque`) meets the
        expectation; otherwise the failure message a person reads: the check's source, then
        what was expected and what came. `truth` is ``bool(value)`` as the child computed it,
        used only for an Opaque value under truthy/falsy. For kind "raises", `value` is
        ``{"raised": bool, "types": [qualified names of the exception's MRO], "message": str}``.
        """
        try:
            problem = _CHECKS[self.kind](self, value, truth)
        except Exception as exc:  # a value shaped as no check foresaw
            problem = f"the value could not be checked ({type(exc).__name__}): {short_repr(value)}"
        if problem is None:
            return None
        return "\n".join(part for part in (self.note, self.source, problem) if part)


@dataclass(frozen=True)
class SplitTest:
    """A test split into the code the child runs and the expectations checked outside."""

    code: str
    """Python source the child runs: the expected sides removed, probes in their place."""
    display_source: str
    """The original text for tracebacks, line for line, expected sides shown as "..."."""
    expectations: tuple[Expectation, ...]
    """Probe k is checked against expectations[k]."""
    required: tuple[int, ...] = ()
    """Probes that fire whenever the test runs to its end without an exception (those at the
    top level of the test's own body): a run that ends normally without recording them has
    been interfered with."""


def split_test(code: str, function: str | None) -> SplitTest | None:
    """`code` split for judging outside the candidate's process.

    `function` is the pytest test's qualified name (``"test_a"`` or ``"TestX.test_a"``) for
    kind pytest, or None for assert/file code, whose test is its last top-level statement (an
    assert, or a call of a function of the code, as HumanEval's ``check(candidate)``). None
    when the test cannot be fully judged outside: it then runs in the candidate's process.
    """
    if PROBE in code or RAISES in code:
        return None
    try:
        return _Splitter(code, function).split()
    except Exception:  # _Unsplittable, a syntax error, code too deep: it runs unsplit
        return None


# Checking a value ---------------------------------------------------------------------------


def _check_equal(e: Expectation, value: Any, truth: bool | None) -> str | None:
    if isinstance(value, Opaque):
        return _opaque(value, f"expected {short_repr(e.expected)}")
    return None if values_equal(value, e.expected) else describe_mismatch(value, e.expected)


def _check_not_equal(e: Expectation, value: Any, truth: bool | None) -> str | None:
    wanted = f"expected a value other than {short_repr(e.expected)}"
    if isinstance(value, Opaque):
        return _opaque(value, wanted)
    return f"{wanted}, got {short_repr(value)}" if values_equal(value, e.expected) else None


def _check_truth(e: Expectation, value: Any, truth: bool | None) -> str | None:
    wanted = e.kind == "truthy"
    if isinstance(value, Opaque):
        if truth is None:
            return f"got {_a(value)} object whose truth value could not be determined"
        actual = truth
    else:
        actual = bool(value)
    if actual == wanted:
        return None
    return f"expected a {'true' if wanted else 'false'} value, got {short_repr(value)}"


def _check_identity(e: Expectation, value: Any, truth: bool | None) -> str | None:
    plain = not isinstance(value, Opaque)
    if e.kind == "is_not_none":
        return None if value is not None else "expected a value other than None, got None"
    target = {"is_none": None, "is_true": True, "is_false": False}[e.kind]
    if plain and value is target:
        return None
    return f"expected {target!r}, got {short_repr(value)}"


_ORDERINGS: dict[str, tuple[str, Callable[[Any, Any], Any]]] = {
    "less": ("<", operator.lt),
    "less_equal": ("<=", operator.le),
    "greater": (">", operator.gt),
    "greater_equal": (">=", operator.ge),
}


def _check_order(e: Expectation, value: Any, truth: bool | None) -> str | None:
    symbol, compare = _ORDERINGS[e.kind]
    wanted = f"expected a value {symbol} {short_repr(e.expected)}"
    if isinstance(value, Opaque):
        return _opaque(value, wanted)
    cannot = f"cannot compare {_a(value)} with {_a(e.expected)}"
    if not _orderable(value, e.expected):
        return f"{cannot}: got {short_repr(value)}"
    try:
        ok = bool(compare(value, e.expected))
    except TypeError:
        return f"{cannot}: got {short_repr(value)}"
    return None if ok else f"{wanted}, got {short_repr(value)}"


def _orderable(value: Any, expected: Any) -> bool:
    if _is_number(value) and _is_number(expected):
        return True
    if isinstance(value, str) and isinstance(expected, str):
        return True
    if isinstance(value, bytes | bytearray) and isinstance(expected, bytes):
        return True
    if isinstance(value, set | frozenset) and isinstance(expected, set | frozenset):
        return True
    return isinstance(value, list | tuple) and type(value) is type(expected)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Fraction | Decimal) and not isinstance(value, bool)


def _check_member(e: Expectation, value: Any, truth: bool | None) -> str | None:
    inside = e.kind == "in"
    wanted = f"expected a value {'in' if inside else 'not in'} {short_repr(e.expected)}"
    if isinstance(value, Opaque):
        return _opaque(value, wanted)
    found = _found_in(e.expected, value)
    if found is None:
        return f"cannot look for {_a(value)} in {_a(e.expected)}"
    return None if found == inside else f"{wanted}, got {short_repr(value)}"


def _found_in(container: Any, value: Any) -> bool | None:
    """Whether `value` is in `container` (None when Python would raise TypeError)."""
    if isinstance(container, str):
        return value in container if isinstance(value, str) else None
    if isinstance(container, bytes):
        return bytes(value) in container if isinstance(value, bytes | bytearray) else None
    items = container.keys() if isinstance(container, dict) else container
    return any(values_equal(value, item) for item in items)


def _check_close(e: Expectation, value: Any, truth: bool | None) -> str | None:
    rel, absolute = e.rel or 0.0, e.abs or 0.0
    tolerance = f"(rel {rel:g}, abs {absolute:g})" if rel else f"± {absolute:g}"
    wanted = f"expected {short_repr(e.expected)} {tolerance}"
    if isinstance(value, Opaque):
        return _opaque(value, wanted)
    expected = e.expected
    if isinstance(expected, list | tuple):
        ok = (
            isinstance(value, list | tuple)
            and len(value) == len(expected)
            and all(_close(v, x, rel, absolute) for v, x in zip(value, expected, strict=True))
        )
    else:
        ok = _close(value, expected, rel, absolute)
    return None if ok else f"{wanted}, got {short_repr(value)}"


def _close(value: Any, expected: Any, rel: float, absolute: float) -> bool:
    if not isinstance(value, int | float | complex | Fraction | Decimal):
        return False
    if isinstance(value, complex) or isinstance(expected, complex):
        return cmath.isclose(complex(value), complex(expected), rel_tol=rel, abs_tol=absolute)
    return math.isclose(float(value), float(expected), rel_tol=rel, abs_tol=absolute)


_TYPES: dict[str, type] = {
    kind.__name__: kind
    for kind in (
        int, float, str, bool, list, tuple, dict, set, frozenset, bytes, bytearray, complex,
        range, object,
    )
}  # fmt: skip


def _check_isinstance(e: Expectation, value: Any, truth: bool | None) -> str | None:
    if isinstance(value, Opaque):
        ok = "object" in e.expected
    else:
        ok = isinstance(value, tuple(_TYPES[name] for name in e.expected))
    if ok:
        return None
    names = " or ".join(e.expected)
    return f"expected an instance of {names}, got {_type_name(value)}: {short_repr(value)}"


def _check_raises(e: Expectation, value: Any, truth: bool | None) -> str | None:
    names = " or ".join(e.expected)
    if not isinstance(value, dict):
        return f"expected {names} to be raised; the test reported no outcome of it"
    if not value.get("raised"):
        return f"expected {names} to be raised, but nothing was raised"
    types = [name for name in value.get("types") or [] if isinstance(name, str)]
    message = value.get("message")
    message = message if isinstance(message, str) else ""
    if not {name.rsplit(".", 1)[-1] for name in types} & set(e.expected):
        raised = types[0] if types else "an exception"
        return f"expected {names}, got {raised}: {clip(message, 500)}"
    if e.match is not None:
        try:
            found = re.search(e.match, message[:_MATCH_CHARS])
        except re.error:
            return f"the match pattern {e.match!r} is not a valid regular expression"
        if found is None:
            return f"expected the message to match {e.match!r}, got {short_repr(message)}"
    return None


def _opaque(value: Opaque, wanted: str) -> str:
    if value.too_large:
        return f"the value is too large to check ({_a(value)})"
    return (
        f"{wanted}, got {_a(value)} object, {clip(value.repr_text, 300)}, "
        "that cannot be compared outside the sandbox"
    )


def _type_name(value: object) -> str:
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def _a(value: object) -> str:
    """The type of `value` with its article: "a str", "an int"."""
    name = _type_name(value)
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


_CHECKS: dict[str, Callable[[Expectation, Any, bool | None], str | None]] = {
    "equal": _check_equal,
    "not_equal": _check_not_equal,
    "truthy": _check_truth,
    "falsy": _check_truth,
    "is_none": _check_identity,
    "is_not_none": _check_identity,
    "is_true": _check_identity,
    "is_false": _check_identity,
    "less": _check_order,
    "less_equal": _check_order,
    "greater": _check_order,
    "greater_equal": _check_order,
    "in": _check_member,
    "not_in": _check_member,
    "close": _check_close,
    "isinstance": _check_isinstance,
    "raises": _check_raises,
}


# Recognising checks -------------------------------------------------------------------------


class _Unsplittable(Exception):
    """The test cannot be judged outside the candidate's process."""


class _Missing:
    """Not a literal."""


_NO = _Missing()
_Function = ast.FunctionDef | ast.AsyncFunctionDef

_COMPARE_KINDS: dict[type[ast.cmpop], ExpectationKind] = {
    ast.Eq: "equal",
    ast.NotEq: "not_equal",
    ast.Lt: "less",
    ast.LtE: "less_equal",
    ast.Gt: "greater",
    ast.GtE: "greater_equal",
    ast.In: "in",
    ast.NotIn: "not_in",
}
_MIRRORED: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.Eq, ast.NotEq: ast.NotEq, ast.Lt: ast.Gt, ast.LtE: ast.GtE, ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
}  # fmt: skip
_INVERSE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}  # fmt: skip
_IDENTITY: dict[tuple[bool, object], ExpectationKind] = {
    (True, None): "is_none",
    (False, None): "is_not_none",
    (True, True): "is_true",
    (True, False): "is_false",
}
_CONTAINERS = (list, tuple, set, frozenset, dict, str, bytes)

# unittest methods: the compare each one stands for
_UNITTEST_COMPARE: dict[str, type[ast.cmpop]] = {
    **dict.fromkeys(
        ("assertEqual", "assertEquals", "assertListEqual", "assertTupleEqual",
         "assertDictEqual", "assertSetEqual", "assertMultiLineEqual"),
        ast.Eq,
    ),
    "assertNotEqual": ast.NotEq, "assertNotEquals": ast.NotEq,
    "assertLess": ast.Lt, "assertLessEqual": ast.LtE,
    "assertGreater": ast.Gt, "assertGreaterEqual": ast.GtE,
    "assertIn": ast.In, "assertNotIn": ast.NotIn,
    "assertIs": ast.Is, "assertIsNot": ast.IsNot,
}  # fmt: skip
_UNITTEST_UNARY = frozenset({"assertTrue", "assertFalse", "assertIsNone", "assertIsNotNone"})
_UNITTEST_ALMOST = frozenset({"assertAlmostEqual", "assertAlmostEquals"})
_UNITTEST_RAISES = frozenset({"assertRaises", "assertRaisesRegex", "assertRaisesRegexp"})
# calls that check something inside the child: never split a test that makes one elsewhere
_CHECK_CALLS = frozenset({"fail", "xfail"})
# predicates whose result, asserted as such, would be decided inside the child
_PREDICATES = frozenset(
    {
        "isinstance", "issubclass", "hasattr", "callable", "isclose", "approx", "all", "any",
        "startswith", "endswith", "issubset", "issuperset", "isdisjoint", "__eq__", "__ne__",
        "__lt__", "__le__", "__gt__", "__ge__", "__contains__", "equals", "array_equal",
        "array_equiv", "allclose", "fullmatch", "match", "search",
    }
)  # fmt: skip
# context managers that may swallow an exception raised in their body
_SUPPRESSING = frozenset(
    {
        "raises", "suppress", "warns", "deprecated_call", "ExitStack", "assertWarns",
        "assertWarnsRegex", "assertLogs", "assertNoLogs", "subTest", *_UNITTEST_RAISES,
    }
)  # fmt: skip


@dataclass
class _Scope:
    """A function (or the module, `node` None) as the analysis sees it."""

    node: _Function | None
    owner: ast.ClassDef | None = None
    """The class whose method this is."""
    generator: bool = False
    first_return: int | None = None
    names: set[str] = field(default_factory=set)
    attrs: set[str] = field(default_factory=set)
    constants: dict[str, tuple[ast.stmt, ast.expr, Any]] | None = None
    """Names bound at the top of the body to a literal: statement, value node, value."""

    @property
    def name(self) -> str:
        return self.node.name if self.node is not None else ""

    @property
    def method(self) -> bool:
        return self.owner is not None


@dataclass(frozen=True)
class _Context:
    scopes: tuple[_Scope, ...]
    bad: str | None = None
    """Why a probe may not be here (in a loop, a try statement...)."""
    top: bool = False
    """Whether statements here are directly in the body of the test itself."""

    @property
    def scope(self) -> _Scope:
        return self.scopes[-1]


def _plain_text(node: ast.AST | None) -> str | None:
    """A check's message when it is a plain string literal (an f-string may show values)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value[:500]
    return None


@dataclass
class _Form:
    """A recognised check, before it has a place."""

    kind: ExpectationKind
    probe: ast.expr
    expected: Any = None
    hidden: list[ast.AST] = field(default_factory=list)
    uses: list[tuple[ast.Name, _Scope]] = field(default_factory=list)
    rel: float | None = None
    abs: float | None = None
    match: str | None = None
    note: str | None = None


@dataclass
class _Site:
    """A probed check: its expectation and how the child's text replaces it."""

    form: _Form
    replaced: ast.AST
    """The node whose text the child's replacement stands for."""
    kept: list[ast.AST]
    """Nodes inside `replaced` whose text the child keeps."""
    source: str
    line: int
    top: bool
    build: Callable[[int], str]


@dataclass(frozen=True)
class _Reference:
    name: str
    attribute: bool
    bad: str | None
    call: bool


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str


class _Text:
    """The source with offsets: AST positions (lines, UTF-8 columns) to string indexes."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.starts = [0, *(match.end() for match in LINE_BREAK.finditer(code))]
        self.ascii = code.isascii()

    def offset(self, line: int, column: int) -> int:
        start = self.starts[line - 1]
        if self.ascii:
            return start + column
        end = self.starts[line] if line < len(self.starts) else len(self.code)
        return start + len(self.code[start:end].encode()[:column].decode(errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        line, column = int(getattr(node, "lineno", 1)), int(getattr(node, "col_offset", 0))
        end_column = getattr(node, "end_col_offset", None)
        end = self.offset(_end_line(node), end_column if isinstance(end_column, int) else 0)
        return self.offset(line, column), end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.code[start:end]

    def line_bounds(self, first: int, last: int) -> tuple[int, int]:
        """From the start of line `first` to the end of line `last`, its line break excluded."""
        start = self.starts[first - 1]
        if last < len(self.starts):
            end = self.starts[last]
            match = LINE_BREAK.search(self.code, self.starts[last - 1], end)
            return start, match.start() if match else end
        return start, len(self.code)

    def indentation(self, line: int) -> str:
        start = self.starts[line - 1]
        text = self.code[start : start + 200]
        return text[: len(text) - len(text.lstrip(" \t\f"))]


def _breaks(text: str) -> str:
    return "".join(LINE_BREAK.findall(text))


def _end_line(node: ast.AST) -> int:
    end = getattr(node, "end_lineno", None)
    return end if isinstance(end, int) else int(getattr(node, "lineno", 0))


def _shown(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= _SOURCE_LIMIT else one_line[: _SOURCE_LIMIT - 3] + "..."


def _callee(node: ast.expr) -> str | None:
    """The name a call's callee ends with: ``f`` for ``f(...)`` and ``a.b.f(...)``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_test_class(node: ast.ClassDef) -> bool:
    """As discovery decides: a ``Test*`` class without ``__init__`` or a TestCase subclass."""
    if any(dotted_name(base).split(".")[-1].endswith("TestCase") for base in node.bases):
        return True
    has_init = any(isinstance(m, ast.FunctionDef) and m.name == "__init__" for m in node.body)
    return node.name.startswith("Test") and not has_init


def _float_text(node: ast.expr) -> float | None:
    """``float("inf")`` and the like, as a float."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "float"
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        try:
            return float(node.args[0].value)
        except ValueError:
            return None
    return None


class _Splitter:
    """One split: analysis of the test's code, then the texts."""

    def __init__(self, code: str, function: str | None) -> None:
        self.code = code
        self.function = function
        self.text = _Text(code)
        self.tree = ast.parse(code)
        self.module = _Scope(None)
        self.scopes: list[_Scope] = [self.module]
        self.sites: list[_Site] = []
        self.references: list[_Reference] = []
        self.bound: dict[str, set[str]] = {}
        self.relied: list[tuple[str, frozenset[str]]] = []
        self.site_scopes: dict[int, _Scope] = {}
        self.entry: _Function | None = None
        self.top_functions: dict[str, list[_Function]] = {}
        self.top_classes: dict[str, list[ast.ClassDef]] = {}
        self.pending_tests: dict[str, list[tuple[_Function, ast.ClassDef]]] = {}
        """Test methods of reached classes, not reached themselves (yet)."""
        self.attributes: set[str] = set()
        self.reached: set[int] = set()
        self.headers: set[int] = set()
        self.touched: set[int] = set()
        self.work: list[Callable[[], None]] = []
        self.dropped: list[ast.stmt] = []

    # the whole split ---------------------------------------------------------------------

    def split(self) -> SplitTest | None:
        self._start()
        while self.work:
            self.work.pop()()
        self._drop_unreached()
        self._check_probing()
        self._check_relied()
        if not self.sites:
            return None
        self.sites.sort(key=lambda site: self.text.span(site.replaced)[0])
        child, display = self._edits()
        code = self._apply(child)
        display_source = self._apply(display)
        if code.count(f"{PROBE}(") + code.count(f"{RAISES}(") != len(self.sites):
            raise _Unsplittable("a probe was lost")
        # (the executor compiles `code`: a syntax error there runs the test whole instead)
        expectations = tuple(
            Expectation(
                kind=site.form.kind,
                expected=site.form.expected,
                source=site.source,
                line=site.line,
                rel=site.form.rel,
                abs=site.form.abs,
                match=site.form.match,
                note=site.form.note,
            )
            for site in self.sites
        )
        return SplitTest(code, display_source, expectations, self._required())

    def _start(self) -> None:
        body = self.tree.body
        pytest_kind = self.function is not None
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self._bind(node.name, "other")
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.top_functions.setdefault(node.name, []).append(node)
            elif isinstance(node, ast.ClassDef):
                self.top_classes.setdefault(node.name, []).append(node)
        owner = self._find_entry()
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if not (pytest_kind and node.name.startswith("test")):
                    self._header(node)
            elif isinstance(node, ast.ClassDef):
                if not (pytest_kind and _is_test_class(node)):
                    self._touch(node)
            elif pytest_kind and is_main_guard(node):
                self.dropped.append(node)
            else:
                self.work.append(partial(self._statement, node, self._module_context()))
        if owner is not None:
            self._reach_class(owner)
        elif self.function is not None and self.entry is not None:
            self._reach_function(self.entry, None)

    def _find_entry(self) -> ast.ClassDef | None:
        """The test's own function (`entry`), and the class it is a method of."""
        if self.function is None:
            self._find_code_entry()
            return None
        return self._find_pytest_entry(self.function)

    def _find_code_entry(self) -> None:
        """Assert/file code: the test is the last statement, an assert or a call of a
        function of the code."""
        if not self.tree.body:
            raise _Unsplittable("no code")
        last = self.tree.body[-1]
        if isinstance(last, ast.Assert):
            return
        if (
            isinstance(last, ast.Expr)
            and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name)
            and last.value.func.id in self.top_functions
        ):
            self.entry = self.top_functions[last.value.func.id][-1]
            return
        raise _Unsplittable("the last statement is no check")

    def _find_pytest_entry(self, function: str) -> ast.ClassDef | None:
        parts = function.replace("::", ".").split(".")
        owner: ast.ClassDef | None = None
        if len(parts) == 1:
            candidates = self.top_functions.get(parts[0], [])
            if not candidates:
                raise _Unsplittable("no such test")
            self.entry = candidates[-1]
        elif len(parts) == 2:
            classes = self.top_classes.get(parts[0], [])
            if not classes:
                raise _Unsplittable("no such class")
            owner = classes[-1]
            methods = [
                m
                for m in owner.body
                if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef) and m.name == parts[1]
            ]
            if not methods:
                raise _Unsplittable("no such method")
            self.entry = methods[-1]
        else:
            raise _Unsplittable("a nested test class")
        if isinstance(self.entry, ast.AsyncFunctionDef):
            raise _Unsplittable("an async test")
        return owner

    def _module_context(self) -> _Context:
        return _Context((self.module,), top=self.function is None)

    # reaching the code the test runs ---------------------------------------------------

    def _header(self, node: _Function) -> None:
        """What runs when a function is defined: decorators and default values."""
        if id(node) in self.headers:
            return
        self.headers.add(id(node))
        context = _Context((self.module,))
        for part in _definition(node):
            self._expr(part, context)

    def _reach_function(self, node: _Function, owner: ast.ClassDef | None) -> None:
        if id(node) in self.reached:
            return
        self.reached.add(id(node))
        self._header(node)
        scope = self._new_scope(node, owner)
        self.work.append(lambda: self._body(node, scope, _Context((self.module,))))

    def _touch(self, node: ast.ClassDef) -> None:
        """What runs when a class is defined: its header and the statements of its body."""
        if id(node) in self.touched:
            return
        self.touched.add(id(node))
        context = _Context((self.module,))
        for part in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self._expr(part, context)
        for member in node.body:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                if not member.name.startswith("test") or not _is_test_class(node):
                    self._header(member)
            else:
                self._statement(member, context)

    def _reach_class(self, node: ast.ClassDef) -> None:
        if id(node) in self.reached:
            return
        self.reached.add(id(node))
        self._touch(node)
        test_class = _is_test_class(node)
        for member in node.body:
            if not isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            waits = member.name not in self.attributes and member is not self.entry
            if test_class and member.name.startswith("test") and waits:
                self.pending_tests.setdefault(member.name, []).append((member, node))
            else:
                self._reach_function(member, node)

    def _new_scope(self, node: _Function, owner: ast.ClassDef | None) -> _Scope:
        scope = _Scope(node, owner)
        self.scopes.append(scope)
        return scope

    def _refer(self, name: str, context: _Context, *, attribute: bool, call: bool) -> None:
        self.references.append(_Reference(name, attribute, context.bad, call))
        scope = context.scope
        if attribute:
            scope.attrs.add(name)
            self.attributes.add(name)
            for method, owner in self.pending_tests.pop(name, []):
                self._reach_function(method, owner)
            return
        scope.names.add(name)
        for function in self.top_functions.get(name, []):
            self._reach_function(function, None)
        for owner in self.top_classes.get(name, []):
            self._reach_class(owner)

    def _bind(self, name: str, origin: str) -> None:
        self.bound.setdefault(name, set()).add(origin)

    def _rely(self, name: str, *origins: str) -> None:
        """The check's meaning needs `name` to be the builtin (or imported) one."""
        self.relied.append((name, frozenset(origins)))

    def _imported(self, func: ast.expr, module: str, name: str) -> bool:
        """Whether `func` is ``module.name`` or a bare ``name``; if so, the check relies on
        ``import module`` or ``from module import name`` having bound it."""
        if dotted_name(func) == f"{module}.{name}":
            self._rely(module, f"import {module}")
        elif isinstance(func, ast.Name) and func.id == name:
            self._rely(name, f"from {module}.{name}")
        else:
            return False
        return True

    # walking code ------------------------------------------------------------------------

    def _body(self, node: _Function, scope: _Scope, outer: _Context) -> None:
        for argument in _arguments(node.args):
            self._bind(argument.arg, "other")
        if isinstance(node, ast.AsyncFunctionDef):
            scope.generator = True
        context = _Context((*outer.scopes, scope), outer.bad, top=node is self.entry)
        self._statements(node.body, context)

    def _statements(self, body: list[ast.stmt], context: _Context) -> None:
        for statement in body:
            self._statement(statement, context)

    def _statement(self, node: ast.stmt, context: _Context) -> None:
        inner = replace(context, top=False) if context.top else context
        if isinstance(node, ast.Assert):
            self._assert(node, context)
        elif isinstance(node, ast.Expr) and self._check_call(node, context):
            return
        elif isinstance(node, ast.With | ast.AsyncWith):
            self._with(node, context)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
            if isinstance(node, ast.While):
                looped = replace(inner, bad="a loop")
                self._expr(node.test, looped)
            else:
                self._expr(node.iter, inner)
                looped = replace(inner, bad="a loop")
                self._expr(node.target, looped)
            self._statements(node.body, looped)
            self._statements(node.orelse, looped)
        elif isinstance(node, ast.Try | ast.TryStar):
            self._children(node, replace(inner, bad="a try statement"))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self._bind(node.name, "other")
            for part in _definition(node):
                self._expr(part, inner)
            scope = self._new_scope(node, None)
            self._body(node, scope, inner)
        elif isinstance(node, ast.ClassDef):
            self._class(node, inner)
        elif isinstance(node, ast.Raise):
            if node.exc is not None:
                raise _Unsplittable("the test raises an exception of its own")
        elif isinstance(node, ast.Return):
            scope = context.scope
            if scope.first_return is None or node.lineno < scope.first_return:
                scope.first_return = node.lineno
            if node.value is not None:
                self._expr(node.value, inner)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            self._import(node)
        else:
            self._children(node, inner)

    def _class(self, node: ast.ClassDef, context: _Context) -> None:
        self._bind(node.name, "other")
        for part in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self._expr(part, context)
        for member in node.body:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                for part in _definition(member):
                    self._expr(part, context)
                scope = self._new_scope(member, node)
                self._body(member, scope, context)
            else:
                self._statement(member, context)

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if isinstance(node, ast.Import):
                bound = alias.asname or alias.name.split(".")[0]
                origin = f"import {alias.name}" if alias.asname is None else "other"
            else:
                bound = alias.asname or alias.name
                origin = f"from {node.module}.{alias.name}" if not node.level else "other"
            self._bind(bound, origin)

    def _children(self, node: ast.AST, context: _Context) -> None:
        for child in ast.iter_child_nodes(node):
            self._node(child, context)

    def _node(self, node: ast.AST, context: _Context) -> None:
        if isinstance(node, ast.stmt):
            self._statement(node, context)
        elif isinstance(node, ast.expr):
            self._expr(node, context)
        else:
            if isinstance(node, ast.arg):
                self._bind(node.arg, "other")
            elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
                self._bind(node.name, "other")
            self._children(node, context)

    def _expr(self, node: ast.expr, context: _Context) -> None:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                self._refer(node.id, context, attribute=False, call=False)
            else:
                self._bind(node.id, "other")
        elif isinstance(node, ast.Call):
            self._call(node, context)
        elif isinstance(node, ast.Attribute):
            self._refer(node.attr, context, attribute=True, call=False)
            self._expr(node.value, context)
        elif isinstance(node, ast.Lambda):
            for part in _defaults(node.args):
                self._expr(part, context)
            self._expr(node.body, replace(context, bad="a lambda"))
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            self._children(node, replace(context, bad="a comprehension"))
        else:
            if isinstance(node, ast.Yield | ast.YieldFrom | ast.Await):
                context.scope.generator = True
            self._children(node, context)

    def _call(self, node: ast.Call, context: _Context) -> None:
        func = node.func
        name = _callee(func)
        checking = name is not None and (name.startswith("assert") or name in _CHECK_CALLS)
        if checking and not (isinstance(func, ast.Name) and name in self.top_functions):
            raise _Unsplittable(f"a check the child would decide: {name}")
        if isinstance(func, ast.Name):
            self._refer(func.id, context, attribute=False, call=True)
        elif isinstance(func, ast.Attribute):
            self._refer(func.attr, context, attribute=True, call=True)
            self._expr(func.value, context)
        else:
            self._expr(func, context)
        for argument in node.args:
            self._expr(argument, context)
        for keyword in node.keywords:
            self._expr(keyword.value, context)

    # recognising checks ------------------------------------------------------------------

    def _assert(self, node: ast.Assert, context: _Context) -> None:
        if context.bad is not None:
            raise _Unsplittable(f"an assert inside {context.bad}")
        form = self._form(node.test, context)
        if node.msg is not None:
            form.hidden.append(node.msg)
            form.note = _plain_text(node.msg)
        source = "assert " + _shown(self.text.segment(node.test))
        self._site(form, node, source, context)

    def _site(self, form: _Form, statement: ast.stmt, source: str, context: _Context) -> None:
        """A check replaced, whole statement, by ``__probe__(k, (E))``."""
        start, end = self.text.span(statement)
        probe_start, probe_end = self.text.span(form.probe)
        code = self.code
        before = _breaks(code[start:probe_start])
        value = code[probe_start:probe_end]
        after = _breaks(code[probe_end:end])

        def build(k: int) -> str:
            return f"{PROBE}({k}, ({before}{value}){after})"

        site = _Site(form, statement, [form.probe], source, statement.lineno, context.top, build)
        self._add(site, context)
        self._expr(form.probe, context)

    def _add(self, site: _Site, context: _Context) -> None:
        self.sites.append(site)
        self.site_scopes[id(site)] = context.scope

    def _form(self, test: ast.expr, context: _Context) -> _Form:
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            return self._compare(test.left, test.ops[0], test.comparators[0], context)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return self._negated(test.operand, context)
        if isinstance(test, ast.Call):
            recognised = self._call_form(test, context)
            if recognised is not None:
                return recognised
        self._plain_truth(test)
        return _Form("truthy", test)

    def _negated(self, operand: ast.expr, context: _Context) -> _Form:
        if isinstance(operand, ast.Compare) and len(operand.ops) == 1:
            inverse = _INVERSE.get(type(operand.ops[0]))
            if inverse is None:
                raise _Unsplittable("a negated ordering")
            return self._compare(operand.left, inverse(), operand.comparators[0], context)
        self._plain_truth(operand)
        return _Form("falsy", operand)

    def _plain_truth(self, node: ast.expr) -> None:
        """An asserted truth must not be a comparison made in the child."""
        for part in ast.walk(node):
            if isinstance(part, ast.Compare) or (
                isinstance(part, ast.Call) and _callee(part.func) in _PREDICATES
            ):
                raise _Unsplittable("a comparison the child would decide")

    def _compare(self, left: ast.expr, op: ast.cmpop, right: ast.expr, context: _Context) -> _Form:
        for value, other in ((left, right), (right, left)):
            approx = self._approx(other, context)
            if approx is not None:
                if not isinstance(op, ast.Eq):
                    raise _Unsplittable("approx compared otherwise than by ==")
                approx.probe = value
                return approx
        close = self._abs_form(left, op, right, context)
        if close is not None:
            return close
        if isinstance(op, ast.Is | ast.IsNot):
            return self._identity(left, op, right)
        kind = _COMPARE_KINDS.get(type(op))
        if kind is None:
            raise _Unsplittable("an unknown comparison")
        expected, uses = self._literal(right, context)
        if not isinstance(expected, _Missing):
            probe, literal = left, right
        else:
            expected, uses = self._literal(left, context)
            if isinstance(expected, _Missing) or isinstance(op, ast.In | ast.NotIn):
                raise _Unsplittable("no literal side")
            kind = _COMPARE_KINDS[_MIRRORED[type(op)]]
            probe, literal = right, left
        if kind in ("in", "not_in") and not isinstance(expected, _CONTAINERS):
            raise _Unsplittable("membership in something not a container")
        return _Form(kind, probe, expected, [literal], uses)

    def _identity(self, left: ast.expr, op: ast.cmpop, right: ast.expr) -> _Form:
        for probe, target in ((left, right), (right, left)):
            constant = target.value if isinstance(target, ast.Constant) else 0
            if constant is None or constant is True or constant is False:
                kind = _IDENTITY.get((isinstance(op, ast.Is), constant))
                if kind is None:
                    raise _Unsplittable("an identity test not recognised")
                if kind in ("is_true", "is_false"):
                    self._plain_truth(probe)
                return _Form(kind, probe, constant, [target])
        raise _Unsplittable("an identity test not recognised")

    def _abs_form(
        self, left: ast.expr, op: ast.cmpop, right: ast.expr, context: _Context
    ) -> _Form | None:
        """``abs(E - L1) < L2`` and its mirror: E within L2 of L1."""
        if isinstance(op, ast.Lt | ast.LtE):
            difference, bound = left, right
        elif isinstance(op, ast.Gt | ast.GtE):
            difference, bound = right, left
        else:
            return None
        if not (
            isinstance(difference, ast.Call)
            and len(difference.args) == 1
            and not difference.keywords
            and isinstance(difference.args[0], ast.BinOp)
            and isinstance(difference.args[0].op, ast.Sub)
        ):
            return None
        func = difference.func
        if isinstance(func, ast.Name) and func.id in ("abs", "fabs"):
            relied = (func.id, *(("from math.fabs",) if func.id == "fabs" else ()))
        elif dotted_name(func) == "math.fabs":
            relied = ("math", "import math")
        else:
            return None
        tolerance, tolerance_uses = self._literal(bound, context)
        if not _is_real(tolerance):
            return None
        sub = difference.args[0]
        assert isinstance(sub, ast.BinOp)
        expected, uses = self._literal(sub.right, context)
        probe, literal = sub.left, sub.right
        if isinstance(expected, _Missing):
            expected, uses = self._literal(sub.left, context)
            probe, literal = sub.right, sub.left
        if not isinstance(expected, int | float | complex) or isinstance(expected, bool):
            return None
        self._rely(*relied)
        return _Form(
            "close", probe, expected, [literal, bound], uses + tolerance_uses,
            rel=0.0, abs=float(tolerance),
        )  # fmt: skip

    def _approx(self, node: ast.expr, context: _Context) -> _Form | None:
        """``pytest.approx(L, rel=..., abs=...)``."""
        if not isinstance(node, ast.Call):
            return None
        if not self._imported(node.func, "pytest", "approx"):
            return None
        if len(node.args) != 1:
            raise _Unsplittable("approx of no single value")
        expected, uses = self._literal(node.args[0], context)
        numbers = expected if isinstance(expected, list | tuple) else [expected]
        if not all(_is_real(number) for number in numbers):
            raise _Unsplittable("approx of something other than numbers")
        tolerances: dict[str, float] = {}
        for keyword in node.keywords:
            value, more = self._literal(keyword.value, context)
            if keyword.arg not in ("rel", "abs") or not _is_real(value) or value < 0:
                raise _Unsplittable("an approx option not recognised")
            tolerances[keyword.arg] = float(value)
            uses += more
        rel = tolerances.get("rel", 0.0 if "abs" in tolerances else 1e-6)
        return _Form(
            "close", node, expected, [*node.args, *(k.value for k in node.keywords)], uses,
            rel=rel, abs=tolerances.get("abs", 1e-12),
        )  # fmt: skip

    def _call_form(self, node: ast.Call, context: _Context) -> _Form | None:
        func = node.func
        if isinstance(func, ast.Name) and func.id == "isinstance":
            if len(node.args) != 2 or node.keywords:
                raise _Unsplittable("isinstance called oddly")
            return self._isinstance(node.args[0], node.args[1])
        if not self._imported(func, "math", "isclose"):
            return None
        if len(node.args) != 2:
            raise _Unsplittable("isclose called oddly")
        expected, uses = self._literal(node.args[1], context)
        probe, literal = node.args[0], node.args[1]
        if isinstance(expected, _Missing):
            expected, uses = self._literal(node.args[0], context)
            probe, literal = node.args[1], node.args[0]
        if not _is_real(expected):
            raise _Unsplittable("isclose without a number")
        tolerances = {"rel_tol": 1e-9, "abs_tol": 0.0}
        for keyword in node.keywords:
            value, more = self._literal(keyword.value, context)
            if keyword.arg not in tolerances or not _is_real(value):
                raise _Unsplittable("an isclose option not recognised")
            tolerances[keyword.arg] = float(value)
            uses += more
        return _Form(
            "close", probe, expected, [literal, *(k.value for k in node.keywords)], uses,
            rel=tolerances["rel_tol"], abs=tolerances["abs_tol"],
        )  # fmt: skip

    def _isinstance(self, probe: ast.expr, types: ast.expr) -> _Form:
        self._rely("isinstance")
        parts = types.elts if isinstance(types, ast.Tuple) else [types]
        names: list[str] = []
        for part in parts:
            if not isinstance(part, ast.Name) or part.id not in _TYPES:
                raise _Unsplittable("isinstance of a type not builtin")
            self._rely(part.id)
            names.append(part.id)
        return _Form("isinstance", probe, tuple(names), [types])

    def _check_call(self, statement: ast.Expr, context: _Context) -> bool:
        """A unittest assertion or a callable-form raises check, as an expression statement."""
        call = statement.value
        if not isinstance(call, ast.Call):
            return False
        func = call.func
        if len(call.args) >= 2 and self._imported(func, "pytest", "raises"):
            self._raises_call(statement, call, context, regex=False)
            return True
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return False
        name = func.attr
        if name in _UNITTEST_RAISES and len(call.args) >= 2 + (name != "assertRaises"):
            self._raises_call(statement, call, context, regex=name != "assertRaises")
            return True
        if (
            name not in _UNITTEST_COMPARE
            and name not in _UNITTEST_UNARY
            and (name not in _UNITTEST_ALMOST and name != "assertIsInstance")
        ):
            return False
        if context.bad is not None:
            raise _Unsplittable(f"a unittest assertion inside {context.bad}")
        form = self._unittest(name, call, context)
        message = form.hidden[-1]
        shown = [_shown(self.text.segment(a)) for a in call.args if a is not message]
        shown += [
            f"{k.arg}={_shown(self.text.segment(k.value))}"
            for k in call.keywords
            if k.value is not message
        ]
        source = _shown(f"{self.text.segment(func)}({', '.join(shown)})")
        self._site(form, statement, source, context)
        return True

    def _unittest(self, name: str, call: ast.Call, context: _Context) -> _Form:
        """The form a unittest assertion stands for; its message goes to `hidden` last."""
        if any(isinstance(a, ast.Starred) for a in call.args):
            raise _Unsplittable("a starred argument")
        values = 1 if name in _UNITTEST_UNARY else 2
        options = {"msg"} | ({"places", "delta"} if name in _UNITTEST_ALMOST else set())
        positional = values + (1 if name in _UNITTEST_ALMOST else 0)
        args = call.args
        if len(args) < values or len(args) > positional + 1:
            raise _Unsplittable("a unittest assertion called oddly")
        keywords = {k.arg: k.value for k in call.keywords}
        if None in keywords or not set(keywords) <= options:
            raise _Unsplittable("a unittest option not recognised")
        message = args[positional] if len(args) > positional else keywords.get("msg")
        if name in _UNITTEST_ALMOST:
            form = self._almost(args, keywords, context)
        elif name == "assertIsInstance":
            form = self._isinstance(args[0], args[1])
        elif name == "assertTrue":
            form = self._form(args[0], context)
        elif name == "assertFalse":
            form = self._negated(args[0], context)
        elif name in ("assertIsNone", "assertIsNotNone"):
            form = _Form("is_none" if name == "assertIsNone" else "is_not_none", args[0])
        else:
            form = self._compare(args[0], _UNITTEST_COMPARE[name](), args[1], context)
        form.hidden.append(message if message is not None else _NOTHING)
        form.note = _plain_text(message)
        return form

    def _almost(
        self, args: list[ast.expr], keywords: dict[str | None, ast.expr], context: _Context
    ) -> _Form:
        expected, uses = self._literal(args[1], context)
        probe, literal = args[0], args[1]
        if isinstance(expected, _Missing):
            expected, uses = self._literal(args[0], context)
            probe, literal = args[1], args[0]
        if not _is_real(expected):
            raise _Unsplittable("assertAlmostEqual without a number")
        places_node = args[2] if len(args) > 2 else keywords.get("places")
        delta_node = keywords.get("delta")
        hidden: list[ast.AST] = [literal]
        if delta_node is not None:
            if places_node is not None:
                raise _Unsplittable("places and delta together")
            delta, more = self._literal(delta_node, context)
            if not _is_real(delta):
                raise _Unsplittable("a delta not a number")
            tolerance = float(delta)
            hidden.append(delta_node)
        else:
            places: Any = 7
            more = []
            if places_node is not None:
                places, more = self._literal(places_node, context)
                hidden.append(places_node)
            if not isinstance(places, int) or isinstance(places, bool):
                raise _Unsplittable("places not an integer")
            tolerance = 0.5 * 10.0**-places
        return _Form("close", probe, expected, hidden, uses + more, rel=0.0, abs=tolerance)

    # raises --------------------------------------------------------------------------------

    def _raises_spec(self, node: ast.expr, context: _Context) -> _Form | None:
        """``pytest.raises(X, match=...)`` / ``self.assertRaises(X)`` as a context manager;
        None for another context manager."""
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        if self._imported(func, "pytest", "raises"):
            options, positional = {"match"}, 1
        elif isinstance(func, ast.Attribute) and func.attr in _UNITTEST_RAISES:
            options, positional = {"msg"}, 1 if func.attr == "assertRaises" else 2
        else:
            return None
        if len(node.args) != positional:
            raise _Unsplittable("a raises check called oddly")
        names = self._exception_names(node.args[0])
        match: Any = None
        uses: list[tuple[ast.Name, _Scope]] = []
        if positional == 2:
            match, uses = self._literal(node.args[1], context)
        for keyword in node.keywords:
            if keyword.arg not in options:
                raise _Unsplittable("a raises option not recognised")
            if keyword.arg == "match":
                match, more = self._literal(keyword.value, context)
                uses += more
        if match is not None and not isinstance(match, str):
            raise _Unsplittable("a match pattern not a string")
        hidden: list[ast.AST] = [*node.args, *(k.value for k in node.keywords)]
        return _Form("raises", node, names, hidden, uses, match=match)

    def _exception_names(self, node: ast.expr) -> tuple[str, ...]:
        parts = node.elts if isinstance(node, ast.Tuple) else [node]
        names = tuple(dotted_name(part).split(".")[-1] for part in parts)
        if not names or not all(names):
            raise _Unsplittable("an exception class not named")
        return names

    def _with(self, node: ast.With | ast.AsyncWith, context: _Context) -> None:
        specs = [self._raises_spec(item.context_expr, context) for item in node.items]
        spec = specs[0] if len(specs) == 1 else None
        if any(s is not None for s in specs):
            item = node.items[0]
            if spec is None or item.optional_vars is not None or isinstance(node, ast.AsyncWith):
                raise _Unsplittable("a raises check not recognised")
            if context.bad is not None:
                raise _Unsplittable(f"a raises check inside {context.bad}")
            expression = item.context_expr
            breaks = _breaks(self.text.segment(expression))
            source = f"with {_shown(self.text.segment(expression))}:"

            def build(k: int) -> str:
                return f"{RAISES}({k}{breaks})"

            self._add(_Site(spec, expression, [], source, node.lineno, context.top, build), context)
            self._statements(node.body, replace(context, bad="a raises block", top=False))
            return
        suppressing = False
        for item in node.items:
            self._expr(item.context_expr, context)
            if item.optional_vars is not None:
                self._expr(item.optional_vars, context)
            if isinstance(item.context_expr, ast.Call):
                suppressing |= _callee(item.context_expr.func) in _SUPPRESSING
        bad = "a block that may suppress exceptions" if suppressing else context.bad
        self._statements(node.body, replace(context, bad=bad, top=False))

    def _raises_call(
        self, statement: ast.Expr, call: ast.Call, context: _Context, *, regex: bool
    ) -> None:
        """``self.assertRaises(X, f, *args)``: ``with __raises__(k): (f)(*args)``."""
        if context.bad is not None:
            raise _Unsplittable(f"a raises check inside {context.bad}")
        if any(isinstance(a, ast.Starred) for a in call.args[: 2 + regex]):
            raise _Unsplittable("a starred argument")
        start, end = self.text.span(statement)
        line_start, line_end = self.text.line_bounds(statement.lineno, _end_line(statement))
        rest = self.code[end:line_end].strip()
        if self.code[line_start:start].strip() or (rest and not rest.startswith("#")):
            raise _Unsplittable("a raises call sharing its line")
        names = self._exception_names(call.args[0])
        match: Any = None
        uses: list[tuple[ast.Name, _Scope]] = []
        if regex:
            match, uses = self._literal(call.args[1], context)
            if not isinstance(match, str):
                raise _Unsplittable("a match pattern not a string")
        target = call.args[1 + regex]
        arguments: list[ast.AST] = [*call.args[2 + regex :], *call.keywords]
        form = _Form("raises", target, names, list(call.args[: 1 + regex]), uses, match=match)
        func_start, func_end = self.text.span(target)
        code = self.code
        if arguments:
            spans = [self.text.span(a) for a in arguments]
            args_start, args_end = min(s for s, _ in spans), max(e for _, e in spans)
        else:
            args_start = args_end = func_end
        head = _breaks(code[start:func_start])
        func_text = code[func_start:func_end]
        middle = _breaks(code[func_end:args_start])
        args_text = code[args_start:args_end]
        tail = _breaks(code[args_end:end])

        def build(k: int) -> str:
            return f"with {RAISES}({k}): ({head}{func_text})({middle}{args_text}{tail})"

        source = _shown(self.text.segment(call))
        kept = [target, *arguments]
        site = _Site(form, statement, kept, source, statement.lineno, context.top, build)
        self._add(site, context)
        inner = replace(context, bad="a raises block")
        self._expr(target, inner)
        for argument in arguments:
            self._node(argument, inner)

    # literals ------------------------------------------------------------------------------

    def _literal(
        self, node: ast.expr, context: _Context
    ) -> tuple[Any, list[tuple[ast.Name, _Scope]]]:
        """The value of a literal expression (or _NO), and the names of constants it uses."""
        uses: list[tuple[ast.Name, _Scope]] = []
        value = self._literal_value(node, context, uses)
        return value, uses

    def _literal_value(
        self, node: ast.expr, context: _Context | None, uses: list[tuple[ast.Name, _Scope]]
    ) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items = [self._literal_value(item, context, uses) for item in node.elts]
            if any(isinstance(item, _Missing) or isinstance(e, ast.Starred)
                   for item, e in zip(items, node.elts, strict=True)):  # fmt: skip
                return _NO
            kind = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
            return _built(kind, items)
        if isinstance(node, ast.Dict):
            if any(key is None for key in node.keys):
                return _NO
            keys = [self._literal_value(k, context, uses) for k in node.keys if k is not None]
            values = [self._literal_value(v, context, uses) for v in node.values]
            if any(isinstance(part, _Missing) for part in (*keys, *values)):
                return _NO
            return _built(dict, list(zip(keys, values, strict=True)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            operand = self._literal_value(node.operand, context, uses)
            if not isinstance(operand, int | float | complex) or isinstance(operand, bool):
                return _NO
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
            left = self._literal_value(node.left, context, uses)
            right = self._literal_value(node.right, context, uses)
            return _folded(node.op, left, right)
        if isinstance(node, ast.Call):
            return self._literal_call(node, context, uses)
        if isinstance(node, ast.Name) and context is not None:
            return self._constant(node, context, uses)
        return _NO

    def _literal_call(
        self, node: ast.Call, context: _Context | None, uses: list[tuple[ast.Name, _Scope]]
    ) -> Any:
        number = _float_text(node)
        if number is not None:
            self._rely("float")
            return number
        func = node.func
        if not isinstance(func, ast.Name) or node.keywords or len(node.args) > 1:
            return _NO
        if func.id not in ("set", "frozenset", "tuple", "list"):
            return _NO
        items: Any = []
        if node.args:
            items = self._literal_value(node.args[0], context, uses)
            if not isinstance(items, list | tuple | set | frozenset | str):
                return _NO
        self._rely(func.id)
        kind = {"set": set, "frozenset": frozenset, "tuple": tuple, "list": list}[func.id]
        return _built(kind, items)

    def _constant(
        self, node: ast.Name, context: _Context, uses: list[tuple[ast.Name, _Scope]]
    ) -> Any:
        """A name bound once, at the top of a function (or module), to a literal."""
        for scope in reversed(context.scopes):
            constants = self._constants(scope)
            if node.id in constants:
                uses.append((node, scope))
                return constants[node.id][2]
        return _NO

    def _constants(self, scope: _Scope) -> dict[str, tuple[ast.stmt, ast.expr, Any]]:
        if scope.constants is None:
            body = scope.node.body if scope.node is not None else self.tree.body
            found: dict[str, tuple[ast.stmt, ast.expr, Any]] = {}
            for statement in body:
                target: ast.expr | None = None
                value: ast.expr | None = None
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target, value = statement.targets[0], statement.value
                elif isinstance(statement, ast.AnnAssign) and statement.simple:
                    target, value = statement.target, statement.value
                if isinstance(target, ast.Name) and value is not None:
                    literal = self._literal_value(value, None, [])
                    if not isinstance(literal, _Missing):
                        found[target.id] = (statement, value, literal)
            scope.constants = found
        return scope.constants

    # after the walk ------------------------------------------------------------------------

    def _drop_unreached(self) -> None:
        """Other tests of a pytest file: top-level ones, and methods of the classes kept."""
        if self.function is None:
            return
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                unreached = node.name.startswith("test") and id(node) not in self.reached
            elif isinstance(node, ast.ClassDef):
                unreached = _is_test_class(node) and id(node) not in self.reached
            else:
                continue
            if unreached:
                self.dropped.append(node)
        for waiting in self.pending_tests.values():
            self.dropped += [method for method, _ in waiting]

    def _check_probing(self) -> None:
        """Every function holding a probe (or calling one that does) is called directly,
        and never from a loop, a try statement or the like."""
        probing = {id(self.site_scopes[id(site)]) for site in self.sites}
        functions: set[str] = set()
        methods: set[str] = set()
        classes: set[str] = set()
        changed = True
        while changed:
            held = [s for s in self.scopes if id(s) in probing and s.node is not None]
            functions = {s.name for s in held if s.owner is None}
            methods = {s.name for s in held if s.owner is not None}
            classes = {s.owner.name for s in held if s.owner is not None}
            changed = False
            for scope in self.scopes:
                if id(scope) in probing or scope.node is None:
                    continue
                if scope.names & (functions | classes) or scope.attrs & methods:
                    probing.add(id(scope))
                    changed = True
        for scope in self.scopes:
            if id(scope) in probing and scope.node is not None and scope.generator:
                raise _Unsplittable("a probe in a generator or coroutine")
        for reference in self.references:
            name, direct = reference.name, reference.bad is None and reference.call
            if reference.attribute:
                if name in methods and not direct:
                    raise _Unsplittable("a probing method called indirectly")
            elif name in classes and name not in functions:
                if reference.bad is not None:
                    raise _Unsplittable("a probing class used in a loop")
            elif name in functions and not direct:
                raise _Unsplittable("a probing function called indirectly")

    def _check_relied(self) -> None:
        for name, origins in self.relied:
            if not self.bound.get(name, set()) <= origins:
                raise _Unsplittable(f"{name} is not the one the check means")

    def _required(self) -> tuple[int, ...]:
        entry = next((s for s in self.scopes if s.node is not None and s.node is self.entry), None)
        limit = entry.first_return if entry is not None else None
        required = []
        for k, site in enumerate(self.sites):
            returned = limit is not None and site.line >= limit
            if site.top and not (self.site_scopes[id(site)] is entry and returned):
                required.append(k)
        return tuple(required)

    # the texts -----------------------------------------------------------------------------

    def _edits(self) -> tuple[list[_Edit], list[_Edit]]:
        child: list[_Edit] = []
        display: list[_Edit] = []
        for edit in self._drop_edits():
            child.append(edit)
            display.append(edit)
        for k, site in enumerate(self.sites):
            start, end = self.text.span(site.replaced)
            child.append(_Edit(start, end, site.build(k)))
            for node in site.form.hidden:
                if node is not _NOTHING:
                    display.append(self._hide(node))
        for statement, value in self._removed_constants():
            start, end = self.text.span(statement)
            breaks = _breaks(self.code[start:end])
            child.append(_Edit(start, end, f"(None{breaks})" if breaks else "pass"))
            display.append(self._hide(value))
        return child, display

    def _hide(self, node: ast.AST) -> _Edit:
        start, end = self.text.span(node)
        return _Edit(start, end, "..." + _breaks(self.code[start:end]))

    def _drop_edits(self) -> Iterator[_Edit]:
        dropped = {id(node) for node in self.dropped}
        emptied = {
            id(owner.body[0])
            for owner in self.tree.body
            if isinstance(owner, ast.ClassDef) and all(id(m) in dropped for m in owner.body)
        }
        for node in self.dropped:
            first = definition_start(node)
            start, end = self.text.line_bounds(first, _end_line(node))
            text = _breaks(self.code[start:end])
            if id(node) in emptied:  # a class keeps a body
                text = f"{self.text.indentation(first)}pass{text}"
            yield _Edit(start, end, text)

    def _removed_constants(self) -> list[tuple[ast.stmt, ast.expr]]:
        """Constants only ever used as expected values: their assignments go."""
        used: dict[tuple[int, str], list[ast.Name]] = {}
        scopes: dict[int, _Scope] = {}
        for site in self.sites:
            for node, scope in site.form.uses:
                used.setdefault((id(scope), node.id), []).append(node)
                scopes[id(scope)] = scope
        removed: list[tuple[ast.stmt, ast.expr]] = []
        for (scope_id, name), names in used.items():
            scope = scopes[scope_id]
            statement, value, _ = self._constants(scope)[name]
            if any(n.lineno <= _end_line(statement) for n in names):
                raise _Unsplittable("an expected value used before it is set")
            if self._occurrences(scope, name, statement):
                raise _Unsplittable(f"{name} is used otherwise than as an expected value")
            removed.append((statement, value))
        return removed

    def _occurrences(self, scope: _Scope, name: str, assignment: ast.stmt) -> int:
        """How often `name` occurs in the child's code of `scope`, its assignment aside."""
        skip = {id(assignment), *(id(node) for node in self.dropped)}
        replaced = {id(site.replaced): site.kept for site in self.sites}
        if scope.node is None:
            roots: list[ast.AST] = list(self.tree.body)
        else:
            roots = [*scope.node.body, *_arguments(scope.node.args)]
        count = 0
        stack = roots
        while stack:
            node = stack.pop()
            if id(node) in skip:
                continue
            kept = replaced.get(id(node))
            if kept is not None:
                stack.extend(kept)
                continue
            count += _mentions(node, name)
            stack.extend(ast.iter_child_nodes(node))
        return count

    def _apply(self, edits: list[_Edit]) -> str:
        pieces: list[str] = []
        done = 0
        for edit in sorted(edits, key=lambda e: e.start):
            if edit.start < done:
                raise _Unsplittable("overlapping edits")
            pieces += (self.code[done : edit.start], edit.text)
            done = edit.end
        pieces.append(self.code[done:])
        text = "".join(pieces)
        if len(LINE_BREAK.findall(text)) != len(self.text.starts) - 1:
            raise _Unsplittable("the lines moved")
        return text


_NOTHING = ast.Constant(None)
"""Stands for a message a unittest assertion does not have."""


_ARITHMETIC: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_MOST_BITS = 10_000
_MOST_ITEMS = 100_000


def _folded(op: ast.operator, left: Any, right: Any) -> Any:
    """Arithmetic on literal numbers (``2.0 / 3``, ``10 ** -6``), concatenation and
    repetition of literal sequences (``[0] * 5``), within bounds; _NO otherwise."""
    numbers = all(
        isinstance(side, int | float | complex) and not isinstance(side, bool)
        for side in (left, right)
    )
    sequences = (str, bytes, list, tuple)
    if numbers:
        powers = isinstance(op, ast.Pow) and isinstance(left, int) and isinstance(right, int)
        if powers and right > 0 and right * max(left.bit_length(), 1) > _MOST_BITS:
            return _NO
    elif isinstance(op, ast.Add) and type(left) is type(right) and isinstance(left, sequences):
        pass
    elif isinstance(op, ast.Mult) and isinstance(left, sequences) and type(right) is int:
        if len(left) * right > _MOST_ITEMS:
            return _NO
    else:
        return _NO
    try:
        return _ARITHMETIC[type(op)](left, right)
    except (ArithmeticError, ValueError, TypeError):
        return _NO


def _built(kind: Callable[[Any], Any], items: Any) -> Any:
    try:
        return kind(items)
    except (TypeError, ValueError):  # an unhashable set element or dict key
        return _NO


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _defaults(arguments: ast.arguments) -> list[ast.expr]:
    return [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]


def _definition(node: _Function) -> list[ast.expr]:
    """What runs when a function is defined: its decorators and default values."""
    return [*node.decorator_list, *_defaults(node.args)]


def _arguments(arguments: ast.arguments) -> list[ast.arg]:
    found = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
    found += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return found


def _mentions(node: ast.AST, name: str) -> int:
    """Whether `node` names `name` itself (uses or binds it)."""
    if isinstance(node, ast.Name):
        return node.id == name
    if isinstance(node, ast.arg):
        return node.arg == name
    if isinstance(node, ast.alias):
        return (node.asname or node.name.split(".")[0]) == name
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
        return node.name == name
    if isinstance(node, ast.Global | ast.Nonlocal):
        return name in node.names
    if isinstance(node, ast.MatchMapping):
        return node.rest == name
    return False

"""Static hints about a candidate's source, read without running it.

`special_casing` says why code may special-case the tests the model was shown: it holds an
example's expected output next to that example's input, or reads its own docstring, source,
callers' frames or test files, or replaces builtins. `environment_reads` says where it reads
the environment or secret files. Both are heuristics for ranking and for a person to read:
they work on the syntax tree alone, stay within fixed bounds and never raise.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable, Sequence, Sized
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plansearch.source import is_main_guard

if TYPE_CHECKING:  # only annotations: importing this module starts no executor machinery
    from plansearch.types import TestCase

_MAX_SOURCE_CHARS = 1_000_000
"""Longer sources are not inspected."""
_MAX_NODES = 20_000
"""Most syntax-tree nodes searched for literal values."""
_MAX_LITERAL_NODES = 2_000
"""Larger literals (counted in nodes) are not compared."""
_MAX_CHAIN = 8
"""Longest attribute chain resolved to a name (`a.b.c` is 3)."""
_MAX_REPORTED = 3
"""Hard-coded examples named one by one; the rest are counted."""
_FAILURES = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)
_NAME_NODES = (ast.Name, ast.Attribute, ast.Call)
"""Nodes that may name something: ``x``, ``x.y``, ``getattr(x, "y")``, ``__import__("x")``."""

_Key = tuple[str, object]
"""A literal value with its type, containers by their elements' keys, so that 1, 1.0 and
True differ and so do ``[1]`` and ``(1,)``."""

_SOURCE_READERS = frozenset(
    f"inspect.{name}"
    for name in (
        "getsource", "getsourcelines", "getsourcefile", "getdoc", "getcomments", "getfile",
        "currentframe", "stack", "getouterframes", "getinnerframes", "getframeinfo", "trace",
    )
)  # fmt: skip
_FRAME_READERS = frozenset(
    {
        "sys._getframe", "sys._getframemodulename", "sys._current_frames", "sys.settrace",
        "sys.setprofile", "traceback.extract_stack", "traceback.walk_stack",
        "traceback.format_stack",
    }
)  # fmt: skip
_FRAME_ATTRIBUTES = frozenset(
    {"f_back", "f_locals", "f_globals", "f_code", "tb_frame", "co_consts", "gi_frame",
     "cr_frame", "ag_frame"}
)  # fmt: skip
_OBJECT_WALKERS = frozenset({"gc.get_referrers", "gc.get_referents", "gc.get_objects"})
_OPENERS = frozenset(
    {"open", "io.open", "codecs.open", "tokenize.open", "os.open", "pathlib.Path", "Path"}
)
_READ_METHODS = frozenset({"open", "read", "readline", "readlines", "read_text", "read_bytes"})
_MODULE_ITERATION = frozenset({"keys", "values", "items", "copy", "__iter__"})
_ITERATORS = frozenset({"list", "tuple", "set", "frozenset", "dict", "sorted", "iter",
                        "enumerate", "reversed", "filter", "map"})  # fmt: skip
_DICT_MUTATORS = frozenset({"update", "setdefault", "pop", "popitem", "clear", "__setitem__"})
_ENVIRONMENT = frozenset(
    {"os.environ", "os.environb", "os.getenv", "os.getenvb", "posix.environ", "nt.environ"}
)
_HOME = frozenset({"pathlib.Path.home", "pathlib.PosixPath.home", "Path.home"})

_TEST_PATH = re.compile(
    r"(?:^|[/\\])(?:tests?[/\\]|conftest\.py$|test[^/\\]*\.py$|[^/\\]*_test\.py$)"
)
_SECRET_PATH = re.compile(
    r"(?:^|[/\\])(?:\.ssh|\.gnupg|\.netrc|\.pgpass|\.env|\.git-credentials|\.pypirc"
    r"|\.aws[/\\]credentials|\.kube[/\\]config|\.docker[/\\]config\.json"
    r"|id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?)(?=$|[/\\])"
    r"|/etc/shadow"
)
_PROC_PATH = re.compile(
    r"/proc/(?:self|thread-self|\d+|\*|%\w|\{[^}]*\})(?:/\S*)?|/proc/\S*environ"
)
_TOKEN_SEPARATORS = re.compile(r"[\s'\"`;|&<>(),=]+")


def special_casing(code: str, visible: Sequence[TestCase], entry_point: str | None) -> list[str]:
    """Reasons the candidate's `code` may special-case the tests it was shown; empty when none.

    Each reason is one short line for a person, e.g. ``returns 10 for the example
    f([1, 2, 3, 4])``, ``reads its own docstring (__doc__)``. Only trusted ``docstring`` and
    ``stdio`` tests of `visible` are compared with the code.
    """
    try:
        tree = _parse_module(code)
        if tree is None:
            return []
        literals = _collect_literals(tree, skip_main_guard=entry_point is not None)
        nodes = list(ast.walk(tree))
        names = _Names(nodes)
        return [*_example_reasons(literals, visible, entry_point), *_reading_reasons(nodes, names)]
    except _FAILURES:
        return []


def environment_reads(code: str) -> list[str]:
    """Static hints that `code` reads the environment or secret files; empty when none.

    E.g. ``reads the environment (os.environ)``, ``reads ~/.ssh``, ``reads /proc/1/environ``,
    ``reads the home directory``; each once, in source order.
    """
    try:
        tree = _parse_module(code)
        if tree is None:
            return []
        nodes = list(ast.walk(tree))
        names = _Names(nodes)
        found = [*_environment_names(nodes, names), *_secret_strings(_strings(nodes))]
        return _in_source_order(found)
    except _FAILURES:
        return []


# ----------------------------------------------------------------------------- parsing


def _parse_module(code: str) -> ast.Module | None:
    if len(code) > _MAX_SOURCE_CHARS:
        return None
    try:
        return ast.parse(code)
    except _FAILURES:
        return None


def _parse_expression(text: str) -> ast.Expression | None:
    if len(text) > _MAX_SOURCE_CHARS:
        return None
    try:
        return ast.parse(text.strip(), mode="eval")
    except _FAILURES:
        return None


# ----------------------------------------------------------------------------- literal values


@dataclass(frozen=True)
class _Literals:
    """The literal values in a candidate's code."""

    values: frozenset[_Key]
    entries: frozenset[tuple[_Key, _Key]]
    """(key, value) pairs of dict literals."""
    texts: frozenset[str]
    """String constants, stripped."""


def _collect_literals(tree: ast.Module, *, skip_main_guard: bool) -> _Literals:
    """The literals of `tree`, leaving out docstrings, asserts and perhaps the main guard."""
    nodes = _literal_region(tree, skip_main_guard=skip_main_guard)
    found = _literal_keys(nodes)
    entries: set[tuple[_Key, _Key]] = set()
    for node in nodes:
        if isinstance(node, ast.Dict):
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                key = found.get(key_node) if key_node is not None else None
                value = found.get(value_node)
                if key is not None and value is not None:
                    entries.add((key[0], value[0]))
    values = frozenset(key for key, _ in found.values())
    texts = frozenset(v.strip() for tag, v in values if tag == "str" and isinstance(v, str))
    return _Literals(values, frozenset(entries), texts)


def _literal_region(tree: ast.Module, *, skip_main_guard: bool) -> list[ast.AST]:
    """Nodes whose literals count, breadth first (so each node's children come after it)."""
    nodes: list[ast.AST] = []
    queue: deque[ast.AST] = deque([tree])
    while queue and len(nodes) < _MAX_NODES:
        node = queue.popleft()
        nodes.append(node)
        queue.extend(
            child
            for child in ast.iter_child_nodes(node)
            if not _ignored(child, skip_main_guard=skip_main_guard)
        )
    return nodes


def _ignored(node: ast.AST, *, skip_main_guard: bool) -> bool:
    """A docstring or bare string, an assert, or the main guard: no values returned there."""
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True
    return skip_main_guard and is_main_guard(node)


def _literal_keys(nodes: Sequence[ast.AST]) -> dict[ast.AST, tuple[_Key, int]]:
    """Key and size of each literal among `nodes`, which list children after their parents."""
    found: dict[ast.AST, tuple[_Key, int]] = {}
    for node in reversed(nodes):
        literal = _literal(node, found)
        if literal is not None and literal[1] <= _MAX_LITERAL_NODES:
            found[node] = literal
    return found


def _literal(node: ast.AST, found: dict[ast.AST, tuple[_Key, int]]) -> tuple[_Key, int] | None:
    """`node` as a key and its size in nodes, if it is a literal whose parts are in `found`."""
    if isinstance(node, ast.Constant):
        if node.value is Ellipsis:
            return None
        return (type(node.value).__name__, node.value), 1
    if isinstance(node, ast.UnaryOp):
        return _signed_number(node)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        elements = _elements(node.elts, found)
        if elements is None:
            return None
        keys, size = elements
        payload = frozenset(keys) if isinstance(node, ast.Set) else tuple(keys)
        return (type(node).__name__.lower(), payload), size + 1
    if isinstance(node, ast.Dict):
        return _dict_literal(node, found)
    return None


def _signed_number(node: ast.UnaryOp) -> tuple[_Key, int] | None:
    operand = node.operand
    if not isinstance(node.op, ast.USub | ast.UAdd) or not isinstance(operand, ast.Constant):
        return None
    value = operand.value
    if isinstance(value, bool) or not isinstance(value, int | float | complex):
        return None  # as ast.literal_eval: no -True
    if isinstance(node.op, ast.USub):
        value = -value
    return (type(value).__name__, value), 2


def _dict_literal(
    node: ast.Dict, found: dict[ast.AST, tuple[_Key, int]]
) -> tuple[_Key, int] | None:
    key_nodes = [key for key in node.keys if key is not None]
    if len(key_nodes) != len(node.keys):  # {**other}
        return None
    keys = _elements(key_nodes, found)
    values = _elements(node.values, found)
    if keys is None or values is None:
        return None
    payload = frozenset(dict(zip(keys[0], values[0], strict=True)).items())
    return ("dict", payload), keys[1] + values[1] + 1


def _elements(
    nodes: Sequence[ast.expr], found: dict[ast.AST, tuple[_Key, int]]
) -> tuple[list[_Key], int] | None:
    """Keys and total size of `nodes`, if all are literals."""
    if len(nodes) > _MAX_LITERAL_NODES:
        return None
    keys: list[_Key] = []
    size = 0
    for node in nodes:
        literal = found.get(node)
        if literal is None:
            return None
        keys.append(literal[0])
        size += literal[1]
    return keys, size


def _expression_key(text: str) -> _Key | None:
    """The key of the literal `text`, or None if it is not one."""
    tree = _parse_expression(text)
    if tree is None:
        return None
    literal = _literal_keys(_first_nodes(tree)).get(tree.body)
    return None if literal is None else literal[0]


def _first_nodes(tree: ast.AST) -> list[ast.AST]:
    """The nodes of `tree`, breadth first, up to the node limit."""
    nodes: list[ast.AST] = []
    for node in ast.walk(tree):
        if len(nodes) >= _MAX_NODES:
            break
        nodes.append(node)
    return nodes


def _trivial(key: _Key) -> bool:
    """None, a bool, an int in [-1, 2], 0.0 or 1.0, an empty or one-character value."""
    tag, value = key
    if tag in ("NoneType", "bool"):
        return True
    if tag == "int" and isinstance(value, int):
        return -1 <= value <= 2
    if tag == "float" and isinstance(value, float):
        return value in (0.0, 1.0)
    if tag == "str" and isinstance(value, str):
        return len(value) <= 1
    return isinstance(value, Sized) and len(value) == 0


# ----------------------------------------------------------------------------- examples


def _example_reasons(
    literals: _Literals, visible: Sequence[TestCase], entry_point: str | None
) -> list[str]:
    """One reason per shown example whose output the code holds keyed on its input."""
    flagged: list[str] = []
    sample = 0
    for test in visible:
        if not test.trusted:
            continue
        if test.kind == "docstring":
            reason = _docstring_reason(test, literals, entry_point)
        elif test.kind == "stdio":
            sample += 1
            reason = _stdio_reason(test, literals.texts, sample)
        else:
            continue
        if reason is not None:
            flagged.append(reason)
    flagged = list(dict.fromkeys(flagged))
    if len(flagged) <= _MAX_REPORTED:
        return flagged
    more = len(flagged) - _MAX_REPORTED
    return [*flagged[:_MAX_REPORTED], f"... and {more} more example{'s' * (more != 1)}"]


def _docstring_reason(test: TestCase, literals: _Literals, entry_point: str | None) -> str | None:
    if test.call is None or test.expected is None:
        return None
    args = _call_arguments(test.call, entry_point)
    if not args or not _hard_coded(args, _expected_keys(test), literals):
        return None
    return f"returns {_clip(_shown_value(test), 40)} for the example {_clip(test.call, 60)}"


def _call_arguments(call: str, entry_point: str | None) -> list[_Key] | None:
    """Keys of the literal arguments of ``entry_point(...)`` (or ``obj.entry_point(...)``);
    None if `call` is not such a call."""
    tree = _parse_expression(call)
    if tree is None or not isinstance(tree.body, ast.Call):
        return None
    body = tree.body
    called = body.func.id if isinstance(body.func, ast.Name) else None
    if isinstance(body.func, ast.Attribute):  # a method: ``Solution().f(...)``
        called = body.func.attr
    if called is None or entry_point not in (None, called):
        return None
    if any(keyword.arg is None for keyword in body.keywords):
        return None
    found = _literal_keys(_first_nodes(tree))
    arguments = [*body.args, *(keyword.value for keyword in body.keywords)]
    keys = [found.get(argument) for argument in arguments]
    return [key[0] for key in keys if key is not None] if None not in keys else None


def _expected_keys(test: TestCase) -> list[_Key]:
    """What the code may hold for the expected value: the literal, and printed text as is."""
    text = (test.expected or "").strip()
    keys: list[_Key] = []
    literal = _expression_key(text)
    if literal is not None:
        keys.append(literal)
    if test.doctest_output:
        keys.append(("str", text))
    return keys


def _hard_coded(args: list[_Key], expected: list[_Key], literals: _Literals) -> bool:
    """The code holds a non-trivial expected value and a non-trivial argument, or maps the
    arguments to the expected value in a dict literal."""
    whole: _Key = args[0] if len(args) == 1 else ("tuple", tuple(args))
    if not _trivial(whole) and any((whole, value) in literals.entries for value in expected):
        return True
    if not any(not _trivial(value) and value in literals.values for value in expected):
        return False
    keyed = [arg for arg in args if not _trivial(arg)]
    if len(args) > 1:
        keyed.append(whole)
    return any(arg in literals.values for arg in keyed)


def _stdio_reason(test: TestCase, texts: frozenset[str], number: int) -> str | None:
    """A reason if the code holds this sample's output and its input as string constants."""
    output = (test.expected_stdout or "").strip()
    given = (test.stdin or "").strip()
    if _trivial_output(output) or not given or output not in texts:
        return None
    lines = given.splitlines()
    first = lines[0].strip()
    shown_input = given in texts or (
        len(lines) > 1 and len("".join(first.split())) >= 2 and first in texts
    )
    return f"prints the sample output for sample input {number}" if shown_input else None


def _trivial_output(text: str) -> bool:
    if len("".join(text.split())) < 2:
        return True
    return len(text) <= 4 and re.fullmatch(r"[-+]?\d+", text) is not None and -1 <= int(text) <= 2


def _shown_value(test: TestCase) -> str:
    """The expected value as a person reads it: its repr, or the printed text quoted."""
    text = (test.expected or "").strip()
    try:
        return repr(ast.literal_eval(text))
    except (*_FAILURES, TypeError):
        return repr(text) if test.doctest_output else text


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------- names


class _Names:
    """Resolves names and attribute chains to what they were imported as.

    ``import inspect as i`` makes ``i.stack`` read ``inspect.stack``; ``from sys import
    _getframe`` makes ``_getframe`` read ``sys._getframe``; ``getattr(x, "y")`` reads as
    ``x.y`` and ``__import__("os")`` as ``os``. Scopes are ignored.
    """

    def __init__(self, nodes: Iterable[ast.AST]) -> None:
        self.aliases: dict[str, str] = {"__builtins__": "builtins"}
        for node in nodes:
            self._learn(node)

    def _learn(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self.aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and _root_name(node.value) in self.aliases
        ):
            qualified = self.qualified(node.value)
            if qualified is not None:
                self.aliases[node.targets[0].id] = qualified

    def qualified(self, node: ast.AST) -> str | None:
        """The dotted name `node` refers to, or None if it is not a (short) name chain."""
        parts: list[str] = []
        while len(parts) <= _MAX_CHAIN:
            if isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            elif isinstance(node, ast.Name):
                return ".".join([self.aliases.get(node.id, node.id), *reversed(parts)])
            elif isinstance(node, ast.Call):
                function = self.call_name(node)
                if function == "getattr" and len(node.args) >= 2:
                    attribute = _string(node.args[1])
                    if attribute is None:
                        return None
                    parts.append(attribute)
                    node = node.args[0]
                elif function in ("__import__", "importlib.import_module") and node.args:
                    module = _string(node.args[0])
                    return None if module is None else ".".join([module, *reversed(parts)])
                else:
                    return None
            else:
                return None
        return None

    def call_name(self, call: ast.Call) -> str | None:
        """The name called, for ``name(...)`` and ``name.attr(...)`` only."""
        func = call.func
        if isinstance(func, ast.Name):
            return self.aliases.get(func.id, func.id)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return f"{self.aliases.get(func.value.id, func.value.id)}.{func.attr}"
        return None


def _root_name(node: ast.AST) -> str | None:
    for _ in range(_MAX_CHAIN):
        if isinstance(node, ast.Name):
            return node.id
        if not isinstance(node, ast.Attribute):
            return None
        node = node.value
    return None


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _attribute_name(node: ast.AST, names: _Names) -> str | None:
    """The attribute `node` reads: ``x.name`` or ``getattr(x, "name")``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call) and names.call_name(node) == "getattr" and len(node.args) >= 2:
        return _string(node.args[1])
    return None


def _strings(nodes: Iterable[ast.AST]) -> list[tuple[ast.AST, str]]:
    """String constants, f-strings rendered with ``*`` for their fields; no docstrings.

    `nodes` must list parents before children (as `ast.walk` does).
    """
    skipped: set[ast.AST] = set()
    found: list[tuple[ast.AST, str]] = []
    for node in nodes:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skipped.add(node.value)
        elif isinstance(node, ast.JoinedStr):
            skipped.update(node.values)
            rendered = "".join(_string(part) or "*" for part in node.values)
            found.append((node, rendered))
        elif node not in skipped and (text := _string(node)) is not None:
            found.append((node, text))
    return found


def _in_source_order(found: Iterable[tuple[ast.AST, str]]) -> list[str]:
    """The reasons, each once, ordered by where in the source they were found."""
    ordered = sorted(found, key=lambda item: _position(item[0]))
    return list(dict.fromkeys(reason for _, reason in ordered))


def _position(node: ast.AST) -> tuple[int, int, int, int]:
    """Where `node` starts, and then ends: of two nodes starting together, the inner first."""
    return (
        getattr(node, "lineno", 0),
        getattr(node, "col_offset", 0),
        getattr(node, "end_lineno", None) or 0,
        getattr(node, "end_col_offset", None) or 0,
    )


# ----------------------------------------------------------------------------- self-reading


def _reading_reasons(nodes: Sequence[ast.AST], names: _Names) -> list[str]:
    """Reasons the code reads itself, its callers, the tests, or replaces builtins."""
    found: list[tuple[ast.AST, str]] = []
    for node in nodes:
        qualified = names.qualified(node) if isinstance(node, _NAME_NODES) else None
        for reason in (
            _docstring_read(node, names),
            _frame_read(node, qualified, names),
            _module_scan(node, names),
            _builtins_write(node, names),
        ):
            if reason is not None:
                found.append((node, reason))
    found.extend(_source_file_read(nodes, names))
    found.extend(
        (node, f"opens test files ({_clip(text, 40)})")
        for node, text in _strings(nodes)
        if len(text) <= 300 and "\n" not in text and _TEST_PATH.search(text)
    )
    return _in_source_order(found)


def _docstring_read(node: ast.AST, names: _Names) -> str | None:
    reads = (isinstance(node, ast.Name) and node.id == "__doc__") or _attribute_name(
        node, names
    ) == "__doc__"
    return "reads its own docstring (__doc__)" if reads else None


def _frame_read(node: ast.AST, qualified: str | None, names: _Names) -> str | None:
    """Frames, source or live objects read through inspect, sys, traceback, gc, linecache."""
    if qualified in _SOURCE_READERS:
        return f"reads its source or the caller's frames ({qualified})"
    if qualified in _FRAME_READERS:
        return f"reads the caller's frames ({qualified})"
    if qualified in _OBJECT_WALKERS:
        return f"walks live objects ({qualified})"
    if qualified is not None and qualified.split(".")[0] == "linecache":
        return "reads its own source (linecache)"
    attribute = _attribute_name(node, names)
    if attribute in _FRAME_ATTRIBUTES:
        return f"reads the caller's frames ({attribute})"
    if attribute == "get_source":
        return "reads its own source (get_source)"
    return None


def _source_file_read(nodes: Sequence[ast.AST], names: _Names) -> list[tuple[ast.AST, str]]:
    """``__file__`` used where the code also opens or reads a file."""
    file_uses = [
        node
        for node in nodes
        if (isinstance(node, ast.Name) and node.id == "__file__")
        or _attribute_name(node, names) == "__file__"
    ]
    if not file_uses or not any(_opens_file(node, names) for node in nodes):
        return []
    return [(file_uses[0], "reads its own source file (__file__)")]


def _opens_file(node: ast.AST, names: _Names) -> bool:
    if isinstance(node, ast.Name) and names.qualified(node) in _OPENERS:
        return True
    return isinstance(node, ast.Attribute) and (
        node.attr in _READ_METHODS or names.qualified(node) in _OPENERS
    )


def _module_scan(node: ast.AST, names: _Names) -> str | None:
    """``sys.modules`` iterated, or searched for a test module (or ``__main__``)."""
    return "looks through loaded modules (sys.modules)" if _scans_modules(node, names) else None


def _scans_modules(node: ast.AST, names: _Names) -> bool:
    def is_modules(candidate: ast.AST) -> bool:
        return names.qualified(candidate) == "sys.modules"

    if isinstance(node, ast.Subscript):
        return _names_test_module(node.slice) and is_modules(node.value)
    if isinstance(node, ast.Attribute):
        return node.attr in _MODULE_ITERATION and is_modules(node.value)
    if isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
        return is_modules(node.iter)
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in ("get", "pop", "__getitem__"):
        return bool(node.args) and _names_test_module(node.args[0]) and is_modules(func.value)
    return names.call_name(node) in _ITERATORS and any(is_modules(arg) for arg in node.args)


def _names_test_module(node: ast.AST) -> bool:
    name = _string(node)
    if name is None:
        return False
    return (
        name.startswith("test")
        or "test_" in name
        or name.endswith("_test")
        or name in ("__main__", "conftest")
    )


def _builtins_write(node: ast.AST, names: _Names) -> str | None:
    """Assigning or deleting a builtin: ``builtins.print = ...``, ``setattr(builtins, ...)``."""
    if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(
        node.ctx, ast.Store | ast.Del
    ):
        target = names.qualified(node.value)
        if isinstance(node, ast.Attribute) and target == "builtins":
            return f"replaces builtins (builtins.{node.attr})"
        if isinstance(node, ast.Subscript) and target in ("builtins", "builtins.__dict__"):
            return f"replaces builtins (builtins.{_string(node.slice) or '__dict__'})"
        return None
    if not isinstance(node, ast.Call):
        return None
    target = names.qualified(node.args[0]) if node.args else None
    if names.call_name(node) in ("setattr", "delattr") and target == "builtins":
        name = _string(node.args[1]) if len(node.args) > 1 else None
        return f"replaces builtins (builtins.{name})" if name else "replaces builtins (builtins)"
    func = node.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr in _DICT_MUTATORS
        and names.qualified(func.value) == "builtins.__dict__"
    ):
        return "replaces builtins (builtins.__dict__)"
    return None


# ----------------------------------------------------------------------------- environment


def _environment_names(nodes: Iterable[ast.AST], names: _Names) -> list[tuple[ast.AST, str]]:
    """``os.environ``, ``os.getenv`` and the like; ``expanduser`` and ``Path.home``."""
    found: list[tuple[ast.AST, str]] = []
    for node in nodes:
        if not isinstance(node, _NAME_NODES):
            continue
        qualified = names.qualified(node)
        if qualified in _ENVIRONMENT:
            found.append((node, f"reads the environment ({qualified})"))
        elif qualified in _HOME or (isinstance(node, ast.Attribute) and node.attr == "expanduser"):
            found.append((node, "reads the home directory"))
    return found


def _secret_strings(strings: Sequence[tuple[ast.AST, str]]) -> list[tuple[ast.AST, str]]:
    """Strings naming /proc files of a process, or secret files such as ~/.ssh."""
    found: list[tuple[ast.AST, str]] = []
    for node, text in strings:
        for token in _TOKEN_SEPARATORS.split(text[:10_000]):
            if _PROC_PATH.search(token) or _SECRET_PATH.search(token):
                found.append((node, f"reads {_clip(token, 60)}"))
    texts = {text for _, text in strings}
    if "environ" in texts and texts & {"/proc", "/proc/"}:
        node = next(node for node, text in strings if text == "environ")
        found.append((node, "reads /proc/<pid>/environ"))
    return found


_CALLED_FOR = {
    "file": re.compile(r"\b(files?|director(y|ies)|folders?|disk|filesystem)\b"),
    "process": re.compile(r"\b(subprocess(es)?|shell commands?|spawns?|child process(es)?)\b"),
    "network": re.compile(r"\b(urls?|https?|sockets?|network|download(s|ing)?|web requests?)\b"),
    "environment": re.compile(r"\b(environment variables?|env vars?|getenv|os\.environ)\b"),
    "signal": re.compile(r"\b(send(s|ing)? (a )?signals?|kill(s|ing)? (a |the )?process(es)?)\b"),
}


def effects_called_for(statement: str) -> frozenset[str]:
    """The kinds of side effect a problem's statement asks for ("writes the report to a
    file" calls for files); candidates with other side effects rank lower."""
    text = statement.casefold()
    return frozenset(kind for kind, cue in _CALLED_FOR.items() if cue.search(text))

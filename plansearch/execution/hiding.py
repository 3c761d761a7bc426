"""What a candidate must not see: the user's tests, and the expected values in docstrings.

Candidates run with the user's workspace bound read-only into the sandbox so that they can
import the user's modules; `hidden_paths` lists what, inside that workspace, the sandbox covers
again (test directories and files, ``.git``, compiled tests, the problem's own module), and
`redact_docstrings` empties the docstrings (doctest examples and their expected outputs) of the
module source a candidate is spliced into, without moving any other line or column.

Trusted side; standard library only.
"""

from __future__ import annotations

import ast
import os
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["MAX_DIRECTORIES", "MAX_PATHS", "hidden_paths", "redact_docstrings"]

MAX_DIRECTORIES = 5000
"""At most this many directories are read by one `hidden_paths` walk."""
MAX_PATHS = 2000
"""At most this many paths are returned by `hidden_paths`."""

_TEST_DIRECTORIES = frozenset({"tests", "test"})
_SKIPPED_DIRECTORIES = frozenset({"node_modules", "site-packages", "build", "dist"})


def hidden_paths(workspace: Path, extra: Sequence[Path] = ()) -> list[str]:
    """The absolute paths a sandbox makes unreadable for `workspace`, sorted.

    Every directory named ``tests`` or ``test`` and every ``.git`` (directory or file), not
    descended into; elsewhere every test file (``test_*.py``, ``*_test.py``, ``conftest.py``)
    and every compiled one (``__pycache__/test_x.cpython-311.pyc``); and the paths of `extra`
    that exist. Virtual environments, ``node_modules``, ``site-packages``, ``build``, ``dist``,
    ``*.egg-info`` and hidden directories are not walked. The walk reads at most
    `MAX_DIRECTORIES` directories and returns at most `MAX_PATHS` paths (breadth first, in
    name order, so that what is cut is deterministic and deepest). A path inside a listed
    directory is not listed itself.
    """
    extras = sorted({os.path.abspath(path) for path in extra if os.path.exists(path)})
    budget = max(0, MAX_PATHS - len(extras))
    found = _walk(os.path.abspath(workspace), budget) if budget else []
    return _outermost(extras + found)


def _walk(root: str, budget: int) -> list[str]:
    found: list[str] = []
    if not os.path.isdir(root):
        return found
    queue = deque([root])
    directories = 0
    while queue and directories < MAX_DIRECTORIES:
        directory = queue.popleft()
        directories += 1
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            hide, descend = _classify(entry)
            if hide:
                found.append(entry.path)
                if len(found) >= budget:
                    return found
            elif descend:
                queue.append(entry.path)
    return found


def _classify(entry: os.DirEntry[str]) -> tuple[bool, bool]:
    """Whether `entry` is hidden, and whether the walk goes into it."""
    name = entry.name
    if name == ".git":
        return True, False
    try:
        is_link = entry.is_symlink()
        is_dir = entry.is_dir()  # follows a link: a linked test directory is hidden too
    except OSError:
        return False, False
    if is_dir:
        if name in _TEST_DIRECTORIES:
            return True, False
        if is_link or name.startswith(".") or name in _SKIPPED_DIRECTORIES:
            return False, False
        if name.endswith(".egg-info") or os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
            return False, False
        return False, True
    if name.endswith(".py"):
        return _is_test_name(name[:-3]), False
    if name.endswith(".pyc"):
        return _is_test_name(name.split(".", 1)[0]), False
    return False, False


def _is_test_name(stem: str) -> bool:
    return stem.startswith("test_") or stem.endswith("_test") or stem == "conftest"


def _outermost(paths: list[str]) -> list[str]:
    """`paths` sorted and de-duplicated, without those inside another of them."""
    listed = set(paths)
    kept = []
    for path in sorted(listed):
        parent, child = os.path.dirname(path), path
        while parent != child and parent not in listed:
            parent, child = os.path.dirname(parent), parent
        if parent == child:  # reached the root: no listed path holds this one
            kept.append(path)
    return kept


# docstrings

_DEFINITIONS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")
_PREFIXES = b"rRuU"


def redact_docstrings(source: str) -> str:
    """`source` with the text of every docstring (module, class, function, at any depth)
    removed: each becomes an empty literal of the same quotes over the same lines, with the same
    line endings, so that no other line moves and code after it on its last line keeps its
    column. Source that does not parse is returned unchanged."""
    if "'" not in source and '"' not in source:
        return source
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return source
    docstrings = sorted(
        (node.lineno, node.col_offset, node.end_lineno or node.lineno, node.end_col_offset or 0)
        for node in _docstrings(tree)
    )
    if not docstrings:
        return source
    data = source.encode("utf-8", "surrogatepass")
    lines = data.splitlines(keepends=True)  # on \n, \r\n and \r alone, as the tokenizer does
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    pieces: list[bytes] = []
    done = 0
    for first, first_col, last, last_col in docstrings:
        start = starts[first - 1] + first_col
        end = starts[last - 1] + last_col
        pieces.append(data[done:start])
        empty = _empty_literal(data[start:end], lines[first - 1 : last - 1])
        pieces.append(empty)
        rest = lines[last - 1][last_col:]
        if rest.strip():  # code follows on the last line: it keeps its column
            # a literal over several lines ends in its closing quotes alone
            before = data[starts[last - 1] : start] if first == last else b""
            new_column = _columns(before) + len(empty.splitlines()[-1])
            pieces.append(b" " * max(0, _columns(data[starts[last - 1] : end]) - new_column))
        done = end
    pieces.append(data[done:])
    return b"".join(pieces).decode("utf-8", "surrogatepass")


def _columns(text: bytes) -> int:
    return len(text.decode("utf-8", "surrogatepass"))


def _docstrings(tree: ast.Module) -> Iterator[ast.Constant]:
    """The docstring literals of `tree`: only statements can hold definitions, so only
    statement lists are walked."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _DEFINITIONS) and node.body:
            head = node.body[0]
            if (
                isinstance(head, ast.Expr)
                and isinstance(head.value, ast.Constant)
                and isinstance(head.value.value, str)
            ):
                yield head.value
        for field in _BLOCKS:
            block = getattr(node, field, None)
            if isinstance(block, list):
                stack.extend(block)


def _empty_literal(literal: bytes, spanned: list[bytes]) -> bytes:
    """An empty string literal with the prefix and quotes of `literal`, holding the line
    endings of the `spanned` lines (all but the literal's last) so that it ends on the same
    line."""
    index = 0
    while index < len(literal) and literal[index] in _PREFIXES:
        index += 1
    prefix, quote = literal[:index], literal[index : index + 1] or b'"'
    if not spanned:
        quotes = quote * 3 if literal[index : index + 3] == quote * 3 else quote
        return prefix + quotes + quotes
    endings = b"".join(line[len(line.rstrip(b"\r\n")) :] for line in spanned)
    return prefix + quote * 3 + endings + quote * 3

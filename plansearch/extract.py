"""Turn a Python stub, or a plain statement, into a `Problem`.

The user's module is read with `ast` and never executed.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from plansearch.problem import Example, Problem, ProblemError
from plansearch.source import (
    FunctionNode,
    definition_start,
    header_colon,
    last_line,
    lsp_lines,
    walk_functions,
)
from plansearch.testsources.examples import parse_examples

HELPERS_BUDGET = 6000
"""Most characters of helper definitions to show the model."""

_TARGET = re.compile(r"(?!\d)\w+(?:\.(?!\d)\w+)*")
_MAX_LISTED = 30
_STRING_BODY = re.compile(r"[rRuU]?('{3}|\"{3}|'|\")(.*)\1", re.DOTALL)


@dataclass(frozen=True)
class StubInfo:
    """Where a stub function sits in a module (1-based lines, 0-based column)."""

    name: str
    qualname: str
    start_line: int
    """First line of the stub, decorators included."""
    end_line: int
    def_line: int
    column: int
    """Column of the ``def`` (and of its decorators)."""
    docstring_start_line: int | None
    docstring_end_line: int | None
    is_async: bool


def is_stub(node: FunctionNode) -> bool:
    """The body, after any docstring, is empty, ``pass``, ``...`` or raises NotImplementedError."""
    body = node.body[1:] if ast.get_docstring(node, clean=False) is not None else node.body
    return all(_is_placeholder(statement) for statement in body)


def find_stubs(source: str) -> list[StubInfo]:
    """Every stub function of a module (module level and in classes), in source order."""
    tree = _parse(source, None)
    return [_stub_info(qualname, node) for qualname, node in walk_functions(tree) if is_stub(node)]


def parse_target(target: str) -> tuple[Path, str]:
    """Split the CLI's ``path/to/file.py::function`` (or ``::Class.method``)."""
    path, separator, function = target.rpartition("::")
    if not separator or not path:
        raise ProblemError(
            f"Expected a target like path/to/file.py::function_name, got {target!r}."
        )
    if not _TARGET.fullmatch(function):
        raise ProblemError(
            f"{function!r} is not a function name: expected name or Class.method after '::'."
        )
    return Path(path), function


def problem_from_file(
    path: str | Path, function: str, *, statement: str | None = None, force: bool = False
) -> Problem:
    """The problem of implementing `function` (``name`` or ``Class.method``) in a file."""
    file = Path(path)
    if not file.exists():
        raise ProblemError(f"No such file: {file}")
    if not file.is_file():
        raise ProblemError(f"Not a file: {file}")
    try:
        source = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProblemError(
            f"{file} is not UTF-8 text (undecodable byte at offset {error.start})."
        ) from None
    except OSError as error:
        raise ProblemError(f"Cannot read {file}: {error.strerror}") from None
    return problem_from_source(source, function, path=str(file), statement=statement, force=force)


def problem_from_source(
    source: str,
    function: str,
    *,
    path: str | None = None,
    statement: str | None = None,
    force: bool = False,
) -> Problem:
    """Like `problem_from_file`, for source text (e.g. an editor's unsaved buffer)."""
    where = path or "the source"
    tree = _parse(source, path)
    functions = dict(walk_functions(tree))
    node = functions.get(function)
    if node is None:
        raise ProblemError(_not_found_message(function, list(functions), where))
    if not force and not is_stub(node):
        raise ProblemError(
            f"{function!r} in {where} is already implemented (its body is not empty, `pass`, "
            "`...` or `raise NotImplementedError`). Pass --force to generate a new "
            "implementation anyway."
        )
    docstring = (ast.get_docstring(node) or "").strip() or None
    extra = (statement or "").strip() or None
    if docstring is None and extra is None:
        raise ProblemError(
            f"{function!r} in {where} has no docstring and no problem statement was given: "
            "write a docstring saying what it should do, or pass a statement."
        )
    known = _module_names(tree)
    examples = _docstring_examples(source, node, known)
    if extra is not None:
        examples += parse_examples(extra, node.name, known_names=known)
    stub = _stub_info(function, node)
    lines = lsp_lines(source)
    signature = _signature(lines, node)
    return Problem(
        statement="\n\n".join(text for text in (docstring, extra) if text),
        entry_point=node.name,
        signature=signature,
        docstring=docstring,
        qualname=function,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        examples=_unique(examples),
        imports=tuple(
            _segment(lines, s) for s in tree.body if isinstance(s, ast.Import | ast.ImportFrom)
        ),
        helpers=_helpers(
            tree, lines, function, node, " ".join([signature, docstring or "", extra or ""])
        ),
        source_path=path,
        stub_start_line=stub.start_line,
        stub_end_line=stub.end_line,
    )


def problem_from_statement(statement: str, signature: str | None = None) -> Problem:
    """A problem from a plain statement: a stdin/stdout program, or a function to write
    when `signature` (e.g. ``def f(a: int) -> int``) is given."""
    text = statement.strip()
    if not text:
        raise ProblemError("The problem statement is empty.")
    if signature is None:
        return Problem(statement=text)
    node, header = _parse_signature(signature)
    return Problem(
        statement=text,
        entry_point=node.name,
        signature=header,
        qualname=node.name,
        is_async=isinstance(node, ast.AsyncFunctionDef),
        examples=_unique(parse_examples(text, node.name)),
    )


def _parse(source: str, path: str | None) -> ast.Module:
    """The module's tree, or a ProblemError pointing at the syntax error."""
    try:
        return ast.parse(source)
    except SyntaxError as error:
        location = f"{path or '<source>'}:{error.lineno}:{error.offset}"
        message = f"{location}: syntax error: {error.msg}"
        if error.text:
            offending = error.text.rstrip("\r\n").expandtabs()
            caret = " " * max((error.offset or 1) - 1, 0) + "^"
            message += f"\n    {offending}\n    {caret}"
        raise ProblemError(message) from None
    except ValueError as error:  # e.g. null bytes
        raise ProblemError(f"{path or '<source>'}: cannot parse: {error}") from None


def _is_placeholder(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr):
        return isinstance(statement.value, ast.Constant) and statement.value.value is Ellipsis
    if isinstance(statement, ast.Raise) and statement.exc is not None:
        exception = statement.exc
        if isinstance(exception, ast.Call):
            exception = exception.func
        return isinstance(exception, ast.Name) and exception.id == "NotImplementedError"
    return False


def _docstring_node(node: FunctionNode) -> ast.Constant | None:
    if ast.get_docstring(node, clean=False) is None:
        return None
    expression = node.body[0]
    assert isinstance(expression, ast.Expr) and isinstance(expression.value, ast.Constant)
    return expression.value


def _stub_info(qualname: str, node: FunctionNode) -> StubInfo:
    doc = _docstring_node(node)
    return StubInfo(
        name=node.name,
        qualname=qualname,
        start_line=definition_start(node),
        end_line=last_line(node),
        def_line=node.lineno,
        column=node.col_offset,
        docstring_start_line=doc.lineno if doc else None,
        docstring_end_line=(doc.end_lineno or doc.lineno) if doc else None,
        is_async=isinstance(node, ast.AsyncFunctionDef),
    )


def _not_found_message(function: str, qualnames: list[str], where: str) -> str:
    last = function.rsplit(".", 1)[-1]
    suggestions = [q for q in qualnames if q.rsplit(".", 1)[-1] == last and q != function]
    suggestions += [
        q for q in difflib.get_close_matches(function, qualnames, n=3) if q not in suggestions
    ]
    message = f"No function {function!r} in {where}."
    if suggestions:
        message += " Did you mean " + " or ".join(repr(s) for s in suggestions[:3]) + "?"
    if not qualnames:
        return message + " It defines no functions."
    listed = ", ".join(qualnames[:_MAX_LISTED])
    more = f" and {len(qualnames) - _MAX_LISTED} more" if len(qualnames) > _MAX_LISTED else ""
    return f"{message} Functions defined: {listed}{more}."


def _docstring_examples(source: str, node: FunctionNode, known: set[str]) -> list[Example]:
    """Examples of the docstring as written in the file (escapes unprocessed, so that
    ``f("a\\nb")`` stays one line), numbered by file line."""
    doc = _docstring_node(node)
    if doc is None or not isinstance(doc.value, str):
        return []
    written = _STRING_BODY.fullmatch(ast.get_source_segment(source, doc) or "")
    text = written.group(2) if written else doc.value
    return parse_examples(text, node.name, first_line=doc.lineno, known_names=known)


def _unique(examples: list[Example]) -> tuple[Example, ...]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for example in examples:
        if (example.call, example.expected) not in seen:
            seen.add((example.call, example.expected))
            kept.append(example)
    return tuple(kept)


def _module_names(tree: ast.Module) -> set[str]:
    """Names bound at module level: imports, definitions, assignments."""
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in statement.names)
        elif isinstance(statement, FunctionNode | ast.ClassDef):
            names.add(statement.name)
        else:
            names.update(_assigned_names(statement))
    return names


def _assigned_names(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign | ast.AugAssign):
        targets = [statement.target]
    else:
        return set()
    return {
        n.id for t in targets for n in ast.walk(t)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }


def _segment(lines: list[str], node: ast.stmt) -> str:
    """Full source lines of a top-level statement, decorators included."""
    return "\n".join(lines[definition_start(node) - 1 : last_line(node)])


def _signature(lines: list[str], node: FunctionNode) -> str:
    """Decorators and the ``def`` header as written, up to its colon, dedented."""
    try:
        row, column = header_colon(lines, node)
    except ValueError:  # not reachable for code that ast parsed; keep the def line
        row, column = node.lineno, len(lines[node.lineno - 1])
    header = [line.expandtabs() for line in lines[definition_start(node) - 1 : row - 1]]
    header.append(lines[row - 1][: column + 1].expandtabs())
    def_line = lines[node.lineno - 1].expandtabs()
    indent = len(def_line) - len(def_line.lstrip())
    return "\n".join(line[min(indent, len(line) - len(line.lstrip())) :] for line in header)


def _helpers(
    tree: ast.Module, lines: list[str], target: str, node: FunctionNode, described: str
) -> tuple[str, ...]:
    """Module-level definitions the target may use, within `HELPERS_BUDGET` characters.

    The enclosing class of a method comes first, then definitions named in `described`
    (signature, docstring, statement), then the rest; shown in source order.
    """
    enclosing = target.split(".", 1)[0] if "." in target else None
    mentioned = set(re.findall(r"\w+", described))
    candidates: list[tuple[int, int, str]] = []
    for index, statement in enumerate(tree.body):
        names = set() if statement is node else _defined_names(statement)
        if not names:
            continue
        rank = 0 if enclosing in names else 1 if names & mentioned else 2
        candidates.append((rank, index, _segment(lines, statement)))
    chosen: list[tuple[int, str]] = []
    budget = HELPERS_BUDGET
    for _rank, index, text in sorted(candidates):
        if len(text) <= budget:
            chosen.append((index, text))
            budget -= len(text)
    return tuple(text for _index, text in sorted(chosen))


def _defined_names(statement: ast.stmt) -> set[str]:
    """Names a helper statement defines; empty for statements that are not helpers
    (stubs, the target, imports, ``if __name__ == "__main__":`` and other code)."""
    if isinstance(statement, FunctionNode):
        return set() if is_stub(statement) else {statement.name}
    if isinstance(statement, ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Assign | ast.AnnAssign):
        return {name for name in _assigned_names(statement) if not name.startswith("__")}
    return set()


def _parse_signature(signature: str) -> tuple[FunctionNode, str]:
    """The function node of a signature such as ``def f(a: int) -> int`` and its header."""
    header = signature.strip()
    if not header.startswith(("def ", "async def ", "@")):
        header = "def " + header
    if not header.endswith(":"):
        header += ":"
    try:
        tree = ast.parse(f"{header}\n    ...\n")
    except SyntaxError as error:
        raise ProblemError(
            f"Not a valid function signature: {signature!r} ({error.msg})."
        ) from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], FunctionNode):
        raise ProblemError(f"Not a valid function signature: {signature!r}.")
    return tree.body[0], header

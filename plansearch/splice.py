"""Put a candidate into the user's module in place of the stub, keeping every other line.

The rules, applied the same way for the executor and for the editor edit, so that what is
tested is exactly what is applied:

- The stub's lines (`stub_start_line`..`stub_end_line`) are replaced; every other line stays
  byte-for-byte, line endings (LF or CRLF) included. New lines use the module's line ending
  and indentation step (spaces or tabs); lines inside string literals are never re-indented.
- The entry point keeps the stub's indentation. The stub's decorators are kept verbatim; the
  candidate's decorators that the stub lacks are added below them. The stub's docstring is
  kept when the candidate has none.
- The candidate's other top-level definitions (functions, classes, constants) are helpers.
  For a module-level function they go beside it, in the candidate's order. For a method they
  go at module level, just before the top-level statement that holds the class. A helper the
  module already defines identically is dropped; if one would replace a different definition
  of the module, all helpers are nested at the top of the entry point instead, so nothing
  else in the module changes meaning.
- A candidate written as a class (``class Solution: def method(self, ...)``) for a method stub
  contributes that method and its sibling methods, placed beside the stub in the class.
- The candidate's imports that the module lacks are added once, after the module's leading
  imports (or its docstring). ``from __future__`` imports and top-level statements that are
  not definitions (prints, ``if __name__ == "__main__":`` demos, asserts) are dropped.
"""

from __future__ import annotations

import ast
import io
import re
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path

from plansearch.problem import Problem
from plansearch.source import (
    FunctionNode,
    definition_start,
    header_colon,
    last_line,
    lsp_lines,
    lsp_lines_with_breaks,
)
from plansearch.types import Program

_Helper = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assign | ast.AnnAssign
_LONE_CR = re.compile(r"\r(?!\n)")
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")
_DEFAULT_UNIT = "    "
_BOM = "\ufeff"


class SpliceError(Exception):
    """The candidate cannot be put in place of the stub; the message says why."""


def splice_candidate(module_source: str, problem: Problem, candidate_code: str) -> str:
    """The module with the stub replaced by the candidate (see the module docstring)."""
    if problem.entry_point is None or problem.stub_start_line is None:
        raise SpliceError("the problem has no stub in a file to replace")
    if _LONE_CR.search(module_source):
        raise SpliceError("files with bare carriage-return line endings are not supported")
    if module_source.startswith(_BOM):  # kept first, out of Python's sight
        return _BOM + splice_candidate(module_source[1:], problem, candidate_code)
    module = _parse(module_source, "the module")
    lines = lsp_lines_with_breaks(module_source)  # no bare CR: lines end as Python's do
    bodies = [_body(line) for line in lines]
    stub = _locate_stub(module, bodies, problem)
    code = textwrap.dedent(candidate_code.replace("\r\n", "\n").replace("\r", "\n"))
    cand = _CandidateSource(_parse(code, "the candidate"), code, stub.unit)
    entry, entry_class = _find_entry(cand.tree, problem.entry_point, stub.class_name)

    existing = _bindings(module.body, exclude=stub.node)
    helpers = [
        node
        for node in cand.tree.body
        if isinstance(node, _Helper)
        and node is not entry_class
        and _name_of(node) != entry.name
        and not _already_defined(node, existing)
    ]
    nest = _must_nest(helpers, existing)
    nested = [cand.render(node, stub.body_indent) for node in helpers] if nest else []
    entry_lines = _render_entry(cand, entry, stub, nested)

    if entry_class is not None:
        members = _class_members(entry_class, entry, stub)
        blocks = [entry_lines if m is entry else cand.render(m, stub.indent) for m in members]
        replacement = _join(blocks, 1)
    elif stub.class_name is None and not nest:
        ordered = [node for node in cand.tree.body if node is entry or node in helpers]
        blocks = [entry_lines if n is entry else cand.render(n, stub.indent) for n in ordered]
        replacement = _join(blocks, 2 if stub.indent == "" else 1)
    else:
        replacement = entry_lines

    newline = next((_ending(line) for line in lines if _ending(line)), "\n")
    edits = [_Edit(stub.start - 1, stub.end, 2, replacement, _ending(lines[stub.end - 1]))]
    if stub.class_name is not None and helpers and not nest:
        block = [line for node in helpers for line in [*cand.render(node, ""), "", ""]]
        edits.append(_before_statement(module, bodies, stub.top, block, newline))
    new_imports = _missing_imports(cand.tree, module)
    if new_imports:
        at, block = _import_block(module, bodies, new_imports)
        if any(e.start == at and e.order == 1 for e in edits):  # just above the helpers
            block = [line for line in block if line]
        edits.append(_Edit(at, at, 0, block, newline))
    return _apply(lines, edits, newline)


def candidate_program(problem: Problem, candidate_code: str, module_source: str | None) -> Program:
    """The program the executor runs for a candidate.

    With the module's source, the candidate spliced into it, importable under the file's
    module name. Without one, the problem's imports and helpers followed by the candidate.
    For a statement (stdin/stdout) problem, the candidate's code alone.
    """
    if problem.entry_point is None:
        return Program(source=candidate_code, entry_point=None, module_name="candidate")
    module_name = module_name_for(problem.source_path) if problem.source_path else "candidate"
    if module_source is not None and problem.stub_start_line is not None:
        source = splice_candidate(module_source, problem, candidate_code)
    else:
        parts = ["\n".join(problem.imports), *problem.helpers, candidate_code.strip()]
        source = "\n\n\n".join(part for part in parts if part) + "\n"
    return Program(source=source, entry_point=problem.entry_point, module_name=module_name)


def module_name_for(path: str | Path) -> str:
    """The dotted name a file is imported as: its stem, under any enclosing packages."""
    file = Path(path).resolve()
    parts = [] if file.name == "__init__.py" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or file.stem


@dataclass(frozen=True)
class _Stub:
    node: FunctionNode
    start: int
    end: int
    indent: str
    unit: str
    class_node: ast.ClassDef | None
    top: ast.stmt
    decorator_lines: list[str]
    docstring_lines: list[str] | None
    header_lines: list[str] | None
    """The stub's `def` line(s) through its colon, when nothing else shares the colon line."""

    @property
    def class_name(self) -> str | None:
        return self.class_node.name if self.class_node is not None else None

    @property
    def body_indent(self) -> str:
        return self.indent + self.unit


@dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    order: int
    lines: list[str]
    last_ending: str


class _CandidateSource:
    """The candidate's parsed code, with re-indentation into the module's style."""

    def __init__(self, tree: ast.Module, code: str, unit: str) -> None:
        self.tree = tree
        self.lines = lsp_lines(code)
        self.frozen = _string_interior_lines(tree)
        self.continued = _continuation_lines(code)
        self.src_unit = _detect_unit(tree, self.lines)
        self.dst_unit = unit

    def text(self, n: int) -> str:
        """Line `n` (1-based), as written."""
        return self.lines[n - 1]

    def line(self, n: int, text: str, base: str, prefix: str) -> str:
        """`text` (from line `n`) moved from indentation `base` to `prefix`, step converted."""
        if n in self.frozen:
            return text
        stripped = text.lstrip(" \t")
        if not stripped:
            return ""
        ws = text[: len(text) - len(stripped)]
        ws = ws[len(base) :] if ws.startswith(base) else ""
        if n in self.continued:
            return prefix + ws + stripped
        levels = 0
        while ws.startswith(self.src_unit):
            ws = ws[len(self.src_unit) :]
            levels += 1
        return prefix + self.dst_unit * levels + ws + stripped

    def block(self, first: int, last: int, base: str, prefix: str) -> list[str]:
        """Lines `first`..`last` re-indented."""
        return [self.line(n, self.text(n), base, prefix) for n in range(first, last + 1)]

    def render(self, node: ast.stmt, prefix: str) -> list[str]:
        """A statement with the comments just above it, moved to indentation `prefix`."""
        start = definition_start(node)
        first = _attached_comments_start(self.lines, start, self.frozen)
        return self.block(first, last_line(node), _indent_of(self.text(start)), prefix)


def _before_statement(
    module: ast.Module, bodies: list[str], top: ast.stmt, block: list[str], newline: str
) -> _Edit:
    """Insert module-level `block` above a top-level statement and the comments on it."""
    at = _attached_comments_start(bodies, definition_start(top), _string_interior_lines(module)) - 1
    blanks = 0
    while blanks < at and not bodies[at - 1 - blanks].strip():
        blanks += 1
    lead = [""] * (max(0, 2 - blanks) if blanks < at else 0)
    return _Edit(at, at, 1, [*lead, *block], newline)


def _render_entry(
    cand: _CandidateSource, entry: FunctionNode, stub: _Stub, nested: list[list[str]]
) -> list[str]:
    base = _indent_of(cand.text(entry.lineno))
    start = definition_start(entry)
    out = cand.block(
        _attached_comments_start(cand.lines, start, cand.frozen), start - 1, base, stub.indent
    )
    out += stub.decorator_lines
    stub_decorators = {ast.dump(d) for d in stub.node.decorator_list}
    for dec in entry.decorator_list:
        if ast.dump(dec) not in stub_decorators:
            out += cand.block(dec.lineno, last_line(dec), base, stub.indent)

    try:
        colon_line, colon_col = header_colon(cand.lines, entry)
    except ValueError:
        raise SpliceError(f"cannot find the end of the header of {entry.name}") from None
    keep_header = stub.header_lines is not None and _same_parameters(stub.node, entry)
    if keep_header:  # the user's signature (annotations, defaults, layout) stays as written
        assert stub.header_lines is not None
        out += stub.header_lines
    else:
        out += cand.block(entry.lineno, colon_line - 1, base, stub.indent)
    colon_text = cand.text(colon_line)
    rest = colon_text[colon_col + 1 :].strip()
    body: list[str]
    if rest and not rest.startswith("#"):
        if not keep_header:
            out.append(cand.line(colon_line, colon_text[: colon_col + 1], base, stub.indent))
        after = cand.block(colon_line + 1, last_line(entry), base, stub.indent)
        body = [stub.body_indent + rest, *after]
        doc_end = 0
    else:
        if not keep_header:
            out.append(cand.line(colon_line, colon_text, base, stub.indent))
        body = cand.block(colon_line + 1, last_line(entry), base, stub.indent)
        doc_end = last_line(entry.body[0]) - colon_line if _has_docstring(entry) else 0

    if not _has_docstring(entry) and stub.docstring_lines is not None:
        out += stub.docstring_lines
    out += body[:doc_end]
    for helper in nested:
        out += [*helper, ""]
    out += body[doc_end:]
    return out


def _locate_stub(module: ast.Module, bodies: list[str], problem: Problem) -> _Stub:
    parents: dict[ast.AST, ast.AST] = {}
    for parent in ast.walk(module):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    found = next(
        (
            node
            for node in ast.walk(module)
            if isinstance(node, FunctionNode)
            and node.name == problem.entry_point
            and definition_start(node) == problem.stub_start_line
        ),
        None,
    )
    end = problem.stub_end_line
    if found is None or end is None or not last_line(found) <= end <= len(bodies):
        raise SpliceError(
            f"no function {problem.entry_point} spans lines {problem.stub_start_line}-{end}; "
            "the file changed since the stub was read"
        )
    top: ast.AST = found
    while not isinstance(parents[top], ast.Module):
        top = parents[top]
    assert isinstance(top, ast.stmt)
    parent = parents[found]
    start = definition_start(found)
    indent = _indent_of(bodies[start - 1])
    first = found.body[0]
    unit = ""
    if _starts_line(bodies, first):
        body_ws = _indent_of(bodies[first.lineno - 1])
        if body_ws.startswith(indent):
            unit = body_ws[len(indent) :]
    unit = unit or _detect_unit(module, bodies)
    docstring = None
    if _has_docstring(found):
        if _starts_line(bodies, first):
            docstring = bodies[first.lineno - 1 : last_line(first)]
        else:
            segment = _segment(bodies, first)
            docstring = [indent + unit + segment[0], *segment[1:]]
    return _Stub(
        node=found,
        start=start,
        end=end,
        indent=indent,
        unit=unit,
        class_node=parent if isinstance(parent, ast.ClassDef) else None,
        top=top,
        decorator_lines=bodies[start - 1 : found.lineno - 1],
        docstring_lines=docstring,
        header_lines=_header_lines(bodies, found),
    )


def _header_lines(bodies: list[str], node: FunctionNode) -> list[str] | None:
    """Lines from `def` through the header's colon, or None when the body shares its line."""
    try:
        line, column = header_colon(bodies, node)
    except ValueError:  # not reachable for a module that parsed: leave the header alone
        return None
    rest = bodies[line - 1][column + 1 :].strip()
    if rest and not rest.startswith("#"):
        return None
    return bodies[node.lineno - 1 : line]


def _same_parameters(stub: FunctionNode, candidate: FunctionNode) -> bool:
    """Same kind of def, same parameter names of the same kinds (annotations may differ)."""
    def shape(node: FunctionNode) -> tuple[object, ...]:
        params = node.args
        return (
            type(node),
            [a.arg for a in params.posonlyargs],
            [a.arg for a in params.args],
            params.vararg.arg if params.vararg else None,
            [a.arg for a in params.kwonlyargs],
            params.kwarg.arg if params.kwarg else None,
            len(params.defaults),
            [d is None for d in params.kw_defaults],
        )

    return shape(stub) == shape(candidate)


def _find_entry(
    tree: ast.Module, name: str, class_name: str | None
) -> tuple[FunctionNode, ast.ClassDef | None]:
    """The candidate's definition of the entry point, and the class holding it, if any."""
    methods = [
        (member, node)
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        for member in node.body
        if isinstance(member, FunctionNode) and member.name == name
    ]
    functions = [node for node in tree.body if isinstance(node, FunctionNode) and node.name == name]
    same_class = [m for m in methods if m[1].name == class_name]
    if class_name is not None and same_class:
        return same_class[-1]
    if functions:
        return functions[-1], None
    if methods and class_name is not None:
        return methods[-1]
    if methods:
        raise SpliceError(
            f"the candidate defines {name} only as a method of class {methods[-1][1].name}"
        )
    raise SpliceError(f"the candidate does not define {name}")


def _class_members(cls: ast.ClassDef, entry: FunctionNode, stub: _Stub) -> list[ast.stmt]:
    """The members of the candidate's class that go beside the method, in order."""
    assert stub.class_node is not None
    existing = _bindings(stub.class_node.body, exclude=stub.node)
    members: list[ast.stmt] = []
    for node in cls.body:
        if node is entry:
            members.append(node)
        elif isinstance(node, _Helper) and _name_of(node) != entry.name:
            names = _names_bound(node)
            clashes = [n for n in names if n in existing]
            if not clashes:
                members.append(node)
            elif any(existing[n] != ast.dump(node) for n in clashes):
                raise SpliceError(
                    f"the candidate also changes {stub.class_node.name}.{clashes[0]}, "
                    "which is outside the stub"
                )
    return members


def _already_defined(node: _Helper, existing: dict[str, str]) -> bool:
    """True when the module already has this very definition (the candidate echoed it)."""
    return all(existing.get(name) == ast.dump(node) for name in _names_bound(node))


def _must_nest(helpers: list[_Helper], existing: dict[str, str]) -> bool:
    """True when a helper would replace a different definition the module already has."""
    return any(
        name in existing and existing[name] != ast.dump(node)
        for node in helpers
        for name in _names_bound(node)
    )


def _bindings(body: list[ast.stmt], exclude: ast.AST) -> dict[str, str]:
    """Names a block binds, each with the dump of the statement that binds it last."""
    out: dict[str, str] = {}
    for node in body:
        if node is exclude:
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                out[(alias.asname or alias.name).split(".")[0]] = "import"
        elif isinstance(node, _Helper):
            for name in _names_bound(node):
                out[name] = ast.dump(node)
    return out


def _names_bound(node: _Helper) -> list[str]:
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, ast.AnnAssign):
        return [node.target.id] if isinstance(node.target, ast.Name) else []
    return [node.name]


def _name_of(node: ast.stmt) -> str | None:
    return node.name if isinstance(node, FunctionNode | ast.ClassDef) else None


def _missing_imports(tree: ast.Module, module: ast.Module) -> list[str]:
    """Import lines for what the candidate imports at top level and the module does not."""
    have = {key for node in module.body for key in _import_keys(node)}
    lines: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        missing = [
            a for a, key in zip(_aliases(node), _import_keys(node), strict=True) if key not in have
        ]
        have.update(_import_keys(node))
        if not missing:
            continue
        names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in missing)
        if isinstance(node, ast.ImportFrom):
            lines.append(f"from {'.' * node.level}{node.module or ''} import {names}")
        else:
            lines.append(f"import {names}")
    return lines


def _aliases(node: ast.stmt) -> list[ast.alias]:
    return list(node.names) if isinstance(node, ast.Import | ast.ImportFrom) else []


def _import_keys(node: ast.stmt) -> list[tuple[str, ...]]:
    if isinstance(node, ast.Import):
        return [("import", a.name, a.asname or "") for a in node.names]
    if isinstance(node, ast.ImportFrom):
        origin = "." * node.level + (node.module or "")
        return [("from", origin, a.name, a.asname or "") for a in node.names]
    return []


def _import_block(
    module: ast.Module, bodies: list[str], imports: list[str]
) -> tuple[int, list[str]]:
    """Where new imports go (0-based line index) and the lines to insert there."""
    run_end: int | None = None
    after_imports = False
    for i, node in enumerate(module.body):
        if i == 0 and _is_docstring_expr(node):
            run_end = last_line(node)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            run_end = last_line(node)
            after_imports = True
        else:
            break
    if after_imports and run_end is not None:
        return run_end, imports
    if run_end is None:
        at, lead = 0, []
        if bodies and bodies[0].startswith("#!"):
            at = 1
        if at < len(bodies) and at < 2 and _CODING.match(bodies[at]):
            at += 1
    else:
        at, lead = run_end, [""]
    blanks = 0
    while at + blanks < len(bodies) and not bodies[at + blanks].strip():
        blanks += 1
    following = bodies[at + blanks].lstrip() if at + blanks < len(bodies) else ""
    wanted = 2 if following.startswith(("def ", "async def ", "class ", "@")) else 1
    return at, [*lead, *imports, *[""] * max(0, wanted - blanks)]


def _apply(lines: list[str], edits: list[_Edit], newline: str) -> str:
    out = list(lines)
    for edit in sorted(edits, key=lambda e: (e.start, e.order), reverse=True):
        new = [line + newline for line in edit.lines]
        if edit.end > edit.start and new:
            new[-1] = edit.lines[-1] + edit.last_ending
        out[edit.start : edit.end] = new
    return "".join(out)


def _join(blocks: list[list[str]], gap: int) -> list[str]:
    out: list[str] = []
    for i, block in enumerate(blocks):
        if i:
            out += [""] * gap
        out += block
    return out


def _string_interior_lines(tree: ast.Module) -> set[int]:
    """Lines that begin inside a multi-line string literal (never to be re-indented)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant | ast.JoinedStr) and node.end_lineno:
            lines.update(range(node.lineno + 1, node.end_lineno + 1))
    return lines


def _continuation_lines(code: str) -> set[int]:
    """Lines that continue a logical line (inside brackets or after a backslash)."""
    skip = {tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}
    lines: set[int] = set()
    in_logical = False
    previous = 0
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.NEWLINE:
            in_logical = False
        elif tok.type not in skip:
            if in_logical and tok.start[0] > previous:
                lines.add(tok.start[0])
            in_logical = in_logical or tok.type != tokenize.COMMENT
            previous = tok.end[0]
    return lines


def _detect_unit(tree: ast.Module, lines: list[str]) -> str:
    """The indentation step: the first block body's indentation relative to its header."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(node, ast.stmt) or not isinstance(body, list) or not body:
            continue
        if body[0].lineno > node.lineno:
            outer = _indent_of(lines[node.lineno - 1])
            inner = _indent_of(lines[body[0].lineno - 1])
            if inner.startswith(outer) and len(inner) > len(outer):
                return inner[len(outer) :]
    return _DEFAULT_UNIT


def _attached_comments_start(lines: list[str], start: int, frozen: set[int]) -> int:
    """The first line of the comment lines directly above line `start` (1-based)."""
    while start > 1 and start - 1 not in frozen and lines[start - 2].lstrip().startswith("#"):
        start -= 1
    return start


def _segment(bodies: list[str], node: ast.stmt | ast.expr) -> list[str]:
    """The source lines of an expression, cut at its columns (which count UTF-8 bytes)."""
    assert node.end_col_offset is not None
    first, last = node.lineno, last_line(node)
    out = [line.encode() for line in bodies[first - 1 : last]]
    out[-1] = out[-1][: node.end_col_offset]
    out[0] = out[0][node.col_offset :]
    return [piece.decode() for piece in out]


def _starts_line(bodies: list[str], node: ast.stmt) -> bool:
    before = bodies[node.lineno - 1].encode()[: node.col_offset]
    return not before.strip()


def _has_docstring(node: FunctionNode) -> bool:
    return _is_docstring_expr(node.body[0])


def _is_docstring_expr(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _ending(line: str) -> str:
    if line.endswith("\r\n"):
        return "\r\n"
    return "\n" if line.endswith("\n") else ""


def _body(line: str) -> str:
    return line[: len(line) - len(_ending(line))]


def _parse(code: str, what: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as exc:
        raise SpliceError(f"{what} is not valid Python (line {exc.lineno}: {exc.msg})") from exc

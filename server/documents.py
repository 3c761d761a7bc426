"""What the server knows about an open document: its stubs and functions, per version.

Parsing happens once per document version (and never for documents that are not Python or
too large), so code actions and hovers stay fast while the user types.
"""

from __future__ import annotations

import ast
import itertools
import stat
import textwrap
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument

from plansearch.extract import StubInfo, find_stubs
from plansearch.problem import ProblemError
from plansearch.source import (
    LINE_BREAK,
    FunctionNode,
    definition_start,
    last_line,
    lsp_lines,
    walk_functions,
)

MAX_DOCUMENT_CHARS = 1_000_000
"""Larger documents are not analysed (a parse would stall every request behind it)."""
_CACHED_DOCUMENTS = 16
_MIN_STATEMENT_WORDS = 3


class DocumentError(Exception):
    """The document cannot be worked on; the message says why, for a person."""


@dataclass(frozen=True)
class Span:
    """A definition's lines (1-based, inclusive; decorators included)."""

    qualname: str
    start_line: int
    end_line: int
    header_end_line: int
    """The last line of a function's decorators and ``def`` header."""

    def contains(self, line: int) -> bool:
        return self.start_line <= line <= self.end_line


@dataclass(frozen=True)
class Analysis:
    """One version of a document, parsed."""

    text: str
    lines: list[str]
    """The lines as Python counts them, without their endings."""
    stubs: list[StubInfo]
    functions: list[Span]
    """Every function and method, outermost first."""
    top_level: list[Span]
    """Every module-level statement."""

    def stub_at(self, first: int, last: int) -> StubInfo | None:
        """The innermost stub holding lines `first`..`last` (1-based)."""
        holding = [s for s in self.stubs if s.start_line <= first and last <= s.end_line]
        return holding[-1] if holding else None

    def function_at(self, line: int) -> Span | None:
        """The innermost function whose decorators or header hold `line` (1-based)."""
        holding = [s for s in self.functions if s.start_line <= line <= s.header_end_line]
        return holding[-1] if holding else None

    def source_of(self, span: Span) -> str:
        """The text of a definition, as written."""
        return "\n".join(self.lines[span.start_line - 1 : span.end_line])

    def statement_end(self, line: int) -> int:
        """The last line of the module-level statement holding `line`, else `line`."""
        for span in self.top_level:
            if span.contains(line):
                return span.end_line
        return line


@dataclass(frozen=True)
class Selection:
    """What a range in a document asks PlanSearch for."""

    kind: Literal["stub", "statement"]
    stub: StubInfo | None = None
    statement: str | None = None
    after_line: int = 0
    """For a statement: the 1-based line after which the new code goes."""


def is_python(document: TextDocument) -> bool:
    """The client says it is Python, or the file name does."""
    if document.language_id:
        return document.language_id == "python"
    return document.uri.endswith((".py", ".pyi"))


class DocumentCache:
    """Analyses of the latest versions of recently used documents."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, Analysis] = OrderedDict()

    def analyse(self, document: TextDocument) -> Analysis:
        """The document's analysis; DocumentError when it cannot have one."""
        if not is_python(document):
            raise DocumentError(f"{file_name(document.uri)} is not a Python document")
        text = source(document)
        cached = self._entries.get(document.uri)
        if cached is not None and cached.text == text:  # a version number can be stale
            self._entries.move_to_end(document.uri)
            return cached
        analysis = analyse_text(text, file_name(document.uri))
        self._entries[document.uri] = analysis
        while len(self._entries) > _CACHED_DOCUMENTS:
            self._entries.popitem(last=False)
        return analysis

    def forget(self, uri: str) -> None:
        self._entries.pop(uri, None)


def document_path(document: TextDocument) -> Path | None:
    """The file of a `file:` document; None for another scheme (``untitled:``, whose path
    pygls would take relative to the server's folder), a URI with a host (pygls would make
    ``file://host/share/x.py`` the local ``/host/share/x.py``), or a path no file can have
    (a NUL)."""
    uri = urlparse(document.uri)
    if uri.scheme != "file" or uri.netloc or not document.path or "\0" in document.path:
        return None
    return Path(document.path)


def source(document: TextDocument) -> str:
    """The text of an open document; for one that is not open, its file's, read only from
    a regular file (not a device or a pipe, which could block the server), and not when it
    is too large. DocumentError when there is none."""
    if document.version is not None:
        return document.source
    name = file_name(document.uri)
    path = document_path(document)
    if path is None:
        raise DocumentError(f"{name} is not open")
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(f"{name} is not a file")
        if info.st_size > 4 * MAX_DOCUMENT_CHARS:  # no text of the limit takes more bytes
            raise _too_large(name, info.st_size)
        with path.open("rb") as file:
            return file.read(4 * MAX_DOCUMENT_CHARS).decode("utf-8")
    except (OSError, ValueError) as error:  # ValueError: not UTF-8
        raise DocumentError(f"{name} cannot be read: {error}") from None


def analyse_text(text: str, name: str) -> Analysis:
    """Parse `text`; DocumentError when it is too large or not valid Python."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise _too_large(name, len(text.encode("utf-8", "surrogatepass")))
    try:
        stubs = find_stubs(text)
        tree = ast.parse(text)
    except ProblemError as error:
        raise DocumentError(f"{name} cannot be parsed: {error}") from None
    except (SyntaxError, ValueError) as error:  # find_stubs parsed it; ast should too
        raise DocumentError(f"{name} cannot be parsed: {error}") from None
    return Analysis(
        text=text,
        lines=lsp_lines(text),
        stubs=stubs,
        functions=[_span(node, qualname) for qualname, node in walk_functions(tree, nested=True)],
        top_level=[_span(node, getattr(node, "name", "")) for node in tree.body],
    )


def selection_at(
    analysis: Analysis, start: tuple[int, int], end: tuple[int, int]
) -> Selection | None:
    """What the range from `start` to `end` ((line, column), 0-based) asks for, if anything.

    A range inside a stub asks for that stub (a cursor or a selected docstring). A
    selection of prose (comment lines, a string, plain text) outside any function asks for
    a new definition from that statement.
    """
    first, last = start[0] + 1, end[0] + 1
    if end[1] == 0 and last > first:
        last -= 1  # a selection of whole lines ends at column 0 of the next line
    stub = analysis.stub_at(first, last)
    if stub is not None:
        return Selection(kind="stub", stub=stub)
    if start == end or any(
        span.start_line <= last and first <= span.end_line for span in analysis.functions
    ):
        return None
    statement = statement_text(_slice(analysis.lines, start, end))
    if statement is None:
        return None
    return Selection(kind="statement", statement=statement,
                     after_line=analysis.statement_end(last))


def statement_text(selected: str) -> str | None:
    """The prose of a selection: a string's value, or comment text; None for code."""
    text = textwrap.dedent(selected).strip()
    try:
        tree = ast.parse(text)
    except SyntaxError:
        tree = None
    if tree is not None:
        single = tree.body[0] if len(tree.body) == 1 else None
        if (isinstance(single, ast.Expr) and isinstance(single.value, ast.Constant)
                and isinstance(single.value.value, str)):
            text = single.value.value
        elif tree.body:
            return None  # it is code
    lines = [line.strip().removeprefix("#").strip() for line in text.splitlines()]
    prose = textwrap.dedent("\n".join(lines)).strip()
    return prose if len(prose.split()) >= _MIN_STATEMENT_WORDS else None


def _too_large(name: str, size: int) -> DocumentError:
    return DocumentError(f"{name} is too large for PlanSearch ({size / 1e6:.1f} MB; the limit "
                         f"is {MAX_DOCUMENT_CHARS / 1e6:.0f} MB)")


def columns(analysis: Analysis, codec: PositionCodec, line: int, character: int) -> tuple[
    int, int
]:
    """A client position (in its code units) as (line, index into the line's text); past
    the end of its line, the end of the line."""
    if line >= len(analysis.lines):
        return len(analysis.lines), 0
    return line, index_in_line(analysis.lines[line], character, codec.client_num_units)


def index_in_line(line: str, character: int, units: Callable[[str], int]) -> int:
    """The index in `line` (without its line break) of a column in client code units
    (`units` counts them in a string): at most the line's length; a column inside a
    character (half of a UTF-16 surrogate pair) counts as before it."""
    if line.isascii():
        return min(character, len(line))
    count = 0
    for index, char in enumerate(line):
        count += units(char)
        if count > character:
            return index
    return len(line)


def apply_change(
    text: str, change: types.TextDocumentContentChangeEvent, units: Callable[[str], int]
) -> str:
    """`text` after one `didChange` content change. Positions are clamped as the reference
    implementation (vscode-languageserver-textdocument) does: a line past the end is the end
    of the text, a column past the end of its line the end of that line (before its break),
    and a range whose end comes before its start is read the other way round."""
    if not isinstance(change, types.TextDocumentContentChangePartial):
        return change.text
    first, second = change.range.start, change.range.end
    lines = max(first.line, second.line) + 2
    starts = [0, *(m.end() for m in itertools.islice(LINE_BREAK.finditer(text), lines))]

    def offset(position: types.Position) -> int:
        if position.line >= len(starts):
            return len(text)
        start = starts[position.line]
        end = starts[position.line + 1] if position.line + 1 < len(starts) else len(text)
        line = LINE_BREAK.sub("", text[start:end])
        return start + index_in_line(line, position.character, units)

    low, high = sorted((offset(first), offset(second)))
    return text[:low] + change.text + text[high:]


def _slice(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    picked = lines[start[0] : end[0] + 1]
    if not picked:
        return ""
    picked[-1] = picked[-1][: end[1]] if start[0] != end[0] else picked[-1][start[1] : end[1]]
    if start[0] != end[0]:
        picked[0] = picked[0][start[1] :]
    return "\n".join(picked)


def _span(node: ast.stmt, qualname: str) -> Span:
    end = last_line(node)
    header_end = end
    if isinstance(node, FunctionNode):
        header_end = max(node.lineno, node.body[0].lineno - 1)
    return Span(qualname=qualname, start_line=definition_start(node), end_line=end,
                header_end_line=header_end)


def file_name(uri: str) -> str:
    """The last part of a URI, to name a document to a person."""
    return uri.rsplit("/", 1)[-1] or uri

"""From a document and a range to the `Problem` a search works on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from plansearch.extract import problem_from_source, problem_from_statement
from plansearch.problem import Problem, ProblemError
from plansearch.source import DEF_HEADER

from .documents import Analysis, selection_at

NOTHING_HERE = (
    "Nothing to generate here: put the cursor in a function stub (a function whose body is "
    "empty, `pass`, `...` or `raise NotImplementedError`) that has a docstring, or select "
    "a docstring or a problem statement."
)


class TargetError(Exception):
    """The range asks for nothing PlanSearch can do; the message says why."""


@dataclass(frozen=True)
class Target:
    """What one search is for, and where its result goes."""

    uri: str
    version: int | None
    """The document version the search started from."""
    document_text: str
    source: str
    """The module the candidates are spliced into: the document, plus a stub after the
    statement when a statement and a signature were given."""
    problem: Problem
    key: str
    """Two searches with the same key would write the same code."""
    label: str
    insert_after: int | None = None
    """For a program written from a statement: the 1-based line after which it goes."""

    @property
    def qualname(self) -> str | None:
        return self.problem.qualname


def resolve(
    uri: str,
    version: int | None,
    analysis: Analysis,
    start: tuple[int, int],
    end: tuple[int, int],
    *,
    path: Path | None,
    signature: str | None,
) -> Target:
    """The target of a range; TargetError when there is none."""
    selection = selection_at(analysis, start, end)
    if selection is None:
        raise TargetError(NOTHING_HERE)
    path_text = str(path) if path else None
    text = analysis.text
    try:
        if selection.stub is not None:
            qualname = selection.stub.qualname
            problem = problem_from_source(text, qualname, path=path_text)
            return Target(uri=uri, version=version, document_text=text, source=text,
                          problem=problem, key=f"{uri}::{qualname}", label=qualname)
        assert selection.statement is not None
        key = f"{uri}::statement@{selection.after_line}"
        if signature is None:
            problem = problem_from_statement(selection.statement)
            return Target(uri=uri, version=version, document_text=text, source=text,
                          problem=problem, key=key, label="the selected statement",
                          insert_after=selection.after_line)
        source, name = with_stub(analysis, selection.after_line, signature,
                                 selection.statement)
        problem = problem_from_source(source, name, path=path_text)
    except ProblemError as error:
        raise TargetError(str(error)) from None
    return Target(uri=uri, version=version, document_text=text, source=source,
                  problem=problem, key=key, label=name)


def with_stub(
    analysis: Analysis, after_line: int, signature: str, statement: str
) -> tuple[str, str]:
    """The document with a stub for `signature`, documented by `statement`, after a line;
    and the stub's name. ProblemError for a signature that is not one."""
    header = signature.strip().rstrip(":").strip()
    if not header.startswith(("def ", "async def ")):
        header = "def " + header
    match = DEF_HEADER.match(header)
    if match is None:
        raise ProblemError(f"Not a valid function signature: {signature!r}.")
    newline = "\r\n" if "\r\n" in analysis.text else "\n"
    doc = statement.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    stub = ["", "", f"{header}:", *_docstring(doc), "    ..."]
    lines = analysis.lines
    return newline.join([*lines[:after_line], *stub, *lines[after_line:]]), match["name"]


def _docstring(text: str) -> list[str]:
    body = (text + " " if text.endswith('"') else text).splitlines() or [""]
    if len(body) == 1:
        return [f'    """{body[0]}"""']
    return [f'    """{body[0]}', *(f"    {line}" if line else "" for line in body[1:]),
            '    """']

"""Putting a stored candidate into the file as it is now: the same splice as the editor's.

    new_text = place(candidate.code, problem, file_text_now)    # SpliceError if it cannot
    print(unified_diff(file_text_now, new_text, "intervals.py"))

The function is found again where it is now (the file may have been edited since the
search), so the edit replaces exactly the stub's current lines.
"""

from __future__ import annotations

import difflib

from plansearch.problem import Problem
from plansearch.source import lsp_lines, lsp_lines_with_breaks, relocate_function
from plansearch.splice import SpliceError, splice_candidate


def place(code: str, problem: Problem, source: str) -> str:
    """`source` with `code` in place of the problem's function, found again in `source`.

    Raises SpliceError when the function is gone or the candidate cannot go in."""
    qualname = problem.qualname or problem.entry_point
    if qualname is None:
        raise SpliceError("the run was made from a statement: there is no function to replace")
    lines = relocate_function(source, qualname)
    if lines is None:
        raise SpliceError(f"{qualname} is no longer in the file (or the file does not parse)")
    start, end = lines
    here = problem.model_copy(update={"stub_start_line": start, "stub_end_line": end})
    return splice_candidate(source, here, code)


def function_source(source: str, qualname: str) -> str | None:
    """The text of function `qualname` in `source` (decorators included), as written."""
    lines = relocate_function(source, qualname)
    if lines is None:
        return None
    start, end = lines
    return "".join(lsp_lines_with_breaks(source)[start - 1 : end])


def unified_diff(old: str, new: str, label: str) -> str:
    """A unified diff from `old` to `new` (empty when they are the same)."""
    lines = difflib.unified_diff(
        lsp_lines(old), lsp_lines(new), f"a/{label}", f"b/{label}", lineterm=""
    )
    return "\n".join(lines)

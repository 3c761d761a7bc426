"""`plansearch/apply`: put a candidate into its document as a versioned edit.

The edit carries the version the search started from, so a client refuses it when the
document changed meanwhile; nothing is overwritten. The user is told, and can apply again
with `rebase`, which splices the candidate into the document as it is now.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from plansearch.result import Candidate
from plansearch.splice import SpliceError, splice_candidate
from plansearch.store import StoreError

from .documents import DocumentError, analyse_text, file_name
from .targets import Target
from .wire import (
    APPLY,
    PREVIEW,
    ApplyParams,
    ApplyResult,
    PreviewParams,
    PreviewResult,
    RequestFailed,
    parse_params,
)

if TYPE_CHECKING:
    from .searches import SearchJob
    from .server import PlanSearchServer

logger = logging.getLogger("plansearch_lsp")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
"""A line with its ending, as LSP counts lines (not `str.splitlines`, which also breaks at
form feeds and other separators that Python source may contain)."""


@dataclass(frozen=True)
class _Base:
    """The text an edit is computed against, and the version it must still have."""

    text: str
    version: int | None
    new_text: str


async def apply(ls: PlanSearchServer, raw: object) -> dict[str, object]:
    """Handle `plansearch/apply`."""
    params = parse_params(ApplyParams, raw, APPLY)
    job = _job(ls, params.search_id)
    return (await apply_candidate(ls, job, params.candidate_id, rebase=params.rebase)).dump()


async def preview(ls: PlanSearchServer, raw: object) -> dict[str, object]:
    """Handle `plansearch/preview`: the document before and after, for a diff."""
    params = parse_params(PreviewParams, raw, PREVIEW)
    job = _job(ls, params.search_id)
    candidate = job.candidate(params.candidate_id)
    if candidate is None:
        raise RequestFailed(f"search {job.id} has no candidate {params.candidate_id} yet")
    base = await asyncio.to_thread(_original, job, candidate)
    return PreviewResult(uri=job.target.uri, version=base.version, before=base.text,
                         after=base.new_text).dump()


def _job(ls: PlanSearchServer, search_id: str) -> SearchJob:
    job = ls.searches.get(search_id)
    if job is None:
        raise RequestFailed(f"No search {search_id} in this session (searches are kept "
                            "until the server restarts): run the search again.")
    return job


async def apply_candidate(
    ls: PlanSearchServer, job: SearchJob, candidate_id: str, *, rebase: bool = False
) -> ApplyResult:
    """Send the edit that puts a candidate in place; say why when it is refused."""
    candidate = _candidate(job, candidate_id)
    base = _rebased(ls, job, candidate) if rebase else _original(job, candidate)
    uri = job.target.uri
    document = ls.workspace.get_text_document(uri)
    if not _versioned_edits(ls) and document.version != base.version:
        return _refused(job, "the document changed since the search started")
    edit = workspace_edit(uri, base.version, base.text, base.new_text,
                          versioned=_versioned_edits(ls),
                          units=document.position_codec.client_num_units)
    try:
        reply = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
            edit=edit, label=f"PlanSearch: {job.target.label} ({candidate.id})"))
    except JsonRpcException as error:
        raise RequestFailed(f"the editor could not apply the edit: {error.message}") from None
    if not reply.applied:
        return _refused(job, reply.failure_reason or "the editor refused the edit")
    await _remember(ls, job, candidate, base.new_text)
    logger.info("applied %s of search %s to %s", candidate.id, job.id, file_name(uri))
    return ApplyResult(applied=True)


def workspace_edit(
    uri: str, version: int | None, old: str, new: str, *, versioned: bool,
    units: Callable[[str], int],
) -> types.WorkspaceEdit:
    """The smallest line edits turning `old` into `new`, checked against `version`."""
    edits = text_edits(old, new, units)
    if not versioned:
        return types.WorkspaceEdit(changes={uri: edits})
    document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
    return types.WorkspaceEdit(document_changes=[
        types.TextDocumentEdit(text_document=document, edits=list(edits))])


def text_edits(old: str, new: str, units: Callable[[str], int]) -> list[types.TextEdit]:
    """Line-level edits (ranges in the original text) from `old` to `new`; `units` counts
    a line's length in the client's position units."""
    before = _LINE.findall(old)
    after = _LINE.findall(new)
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(types.TextEdit(
            range=types.Range(start=_line_start(before, i1, units),
                              end=_line_start(before, i2, units)),
            new_text="".join(after[j1:j2])))
    return edits


def _line_start(lines: list[str], index: int, units: Callable[[str], int]) -> types.Position:
    """The start of line `index`; past a last line without a newline, that line's end."""
    if index == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
        return types.Position(line=index - 1, character=units(lines[-1]))
    return types.Position(line=index, character=0)


def _candidate(job: SearchJob, candidate_id: str) -> Candidate:
    if job.result is None:
        raise RequestFailed(f"search {job.id} has not finished yet")
    found = job.candidate(candidate_id)
    if found is None:
        ids = ", ".join(c.id for c in job.result.candidates) or "none"
        raise RequestFailed(f"search {job.id} has no candidate {candidate_id} (it has {ids})")
    return found


def _original(job: SearchJob, candidate: Candidate) -> _Base:
    target = job.target
    return _Base(target.document_text, target.version,
                 _new_text(target.source, target, candidate.code))


def _rebased(ls: PlanSearchServer, job: SearchJob, candidate: Candidate) -> _Base:
    """The edit against the document as it is now, the function found there again."""
    target = job.target
    qualname = target.qualname
    if qualname is None or target.source != target.document_text:
        raise RequestFailed("a candidate written from a selected statement can only go where "
                            "the search started: run the search again")
    document = ls.workspace.get_text_document(target.uri)
    try:
        analysis = analyse_text(document.source, file_name(target.uri))
    except DocumentError as error:
        raise RequestFailed(str(error)) from None
    span = next((f for f in analysis.functions if f.qualname == qualname), None)
    if span is None:
        raise RequestFailed(f"{qualname} is no longer in {file_name(target.uri)}")
    problem = target.problem.model_copy(
        update={"stub_start_line": span.start_line, "stub_end_line": span.end_line})
    try:
        new_text = splice_candidate(analysis.text, problem, candidate.code)
    except SpliceError as error:
        raise RequestFailed(f"cannot put {candidate.id} in place: {error}") from None
    return _Base(analysis.text, document.version, new_text)


def _new_text(source: str, target: Target, code: str) -> str:
    if target.insert_after is not None:  # a program written from a statement
        lines = _LINE.findall(source)
        at = target.insert_after
        newline = "\r\n" if "\r\n" in source else "\n"
        head = "".join(lines[:at])
        if head and not head.endswith(("\n", "\r")):
            head += newline
        block = newline + code.strip().replace("\n", newline) + newline
        return head + block + "".join(lines[at:])
    try:
        return splice_candidate(source, target.problem, code)
    except SpliceError as error:
        raise RequestFailed(f"cannot put the candidate in place: {error}") from None


def _refused(job: SearchJob, reason: str) -> ApplyResult:
    """The answer for a refused edit; whoever asked tells the user (once)."""
    can_rebase = job.target.qualname is not None and job.target.source == job.target.document_text
    return ApplyResult(applied=False, reason=reason, can_rebase=can_rebase)


async def _remember(
    ls: PlanSearchServer, job: SearchJob, candidate: Candidate, new_text: str
) -> None:
    """Record the function as written, so hover finds it even if the splice changed it."""
    store = ls.store_for(job.workspace)
    qualname = job.target.qualname
    if store is None or job.run_id is None or qualname is None:
        return
    try:
        analysis = analyse_text(new_text, file_name(job.target.uri))
        span = next(f for f in analysis.functions if f.qualname == qualname)
        await asyncio.to_thread(store.record_applied, job.run_id, candidate.id,
                                analysis.source_of(span))
    except (DocumentError, StopIteration, StoreError) as error:
        logger.warning("hover may not recognise the applied code: %s", error)


def _versioned_edits(ls: PlanSearchServer) -> bool:
    workspace = ls.client_capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes)

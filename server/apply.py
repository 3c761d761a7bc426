"""`plansearch/apply`: put a candidate into its document as a versioned edit.

The edit carries the version the search started from, so a client refuses it when the
document changed meanwhile; nothing is overwritten. The user is told, and can apply again
with `rebase`, which splices the candidate into the document as it is now.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.workspace import Workspace

from plansearch.applying import function_source, place
from plansearch.result import Candidate
from plansearch.source import lsp_lines_with_breaks
from plansearch.splice import SpliceError, splice_candidate
from plansearch.store import RunStore, StoreError

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
    from .searches import SearchJob, SearchRegistry

logger = logging.getLogger("plansearch_lsp")


@dataclass(frozen=True)
class _Base:
    """The text an edit is computed against, and the version it must still have."""

    text: str
    version: int | None
    new_text: str


@dataclass(frozen=True, kw_only=True)
class ApplyServices:
    """What applying a candidate takes from the server (its handlers gather it)."""

    documents: Workspace
    """The client's documents (pygls's workspace), as they are now."""
    send_edit: Callable[[types.ApplyWorkspaceEditParams],
                        Awaitable[types.ApplyWorkspaceEditResult]]
    """`workspace/applyEdit` to the client."""
    versioned_edits: bool
    """The client checks an edit's document version (`takes_versioned_edits`)."""
    store_for: Callable[[Path | None], RunStore | None]
    """The run store of a project, where the applied code is recorded for hover."""


async def apply(
    raw: object, searches: SearchRegistry, services: ApplyServices
) -> dict[str, object]:
    """Handle `plansearch/apply`: put a candidate of one of the `searches` in place."""
    params = parse_params(ApplyParams, raw, APPLY)
    job = _job(searches, params.search_id)
    return (await apply_candidate(services, job, params.candidate_id,
                                  rebase=params.rebase)).dump()


async def preview(raw: object, searches: SearchRegistry) -> dict[str, object]:
    """Handle `plansearch/preview`: the document before and after, for a diff."""
    params = parse_params(PreviewParams, raw, PREVIEW)
    job = _job(searches, params.search_id)
    candidate = job.candidate(params.candidate_id)
    if candidate is None:
        raise RequestFailed(f"search {job.id} has no candidate {params.candidate_id} yet")
    base, landed = await asyncio.to_thread(_preview, job, candidate)
    return PreviewResult(uri=job.target.uri, version=base.version, before=base.text,
                         after=base.new_text, function=landed).dump()


def _preview(job: SearchJob, candidate: Candidate) -> tuple[_Base, str | None]:
    """The edit against the document as the search found it, and the function as it lands
    there (None for a program written from a statement)."""
    base = _original(job, candidate)
    qualname = job.target.qualname
    if qualname is None or job.target.insert_after is not None:
        return base, None
    return base, function_source(base.new_text, qualname)


def _job(searches: SearchRegistry, search_id: str) -> SearchJob:
    job = searches.get(search_id)
    if job is None:
        raise RequestFailed(f"No search {search_id} in this session (searches are kept "
                            "until the server restarts): run the search again.")
    return job


async def apply_candidate(
    services: ApplyServices, job: SearchJob, candidate_id: str, *, rebase: bool = False
) -> ApplyResult:
    """Send the edit that puts a candidate in place; say why when it is refused."""
    candidate = _candidate(job, candidate_id)
    base = _rebased(services.documents, job, candidate) if rebase else _original(job, candidate)
    uri = job.target.uri
    document = services.documents.get_text_document(uri)
    if not services.versioned_edits and document.version != base.version:
        return _refused(job, "the document changed since the search started")
    edit = workspace_edit(uri, base.version, base.text, base.new_text,
                          versioned=services.versioned_edits,
                          units=document.position_codec.client_num_units)
    try:
        reply = await services.send_edit(types.ApplyWorkspaceEditParams(
            edit=edit, label=f"PlanSearch: {job.target.label} ({candidate.id})"))
    except JsonRpcException as error:
        raise RequestFailed(f"the editor could not apply the edit: {error.message}") from None
    if not reply.applied:
        return _refused(job, reply.failure_reason or "the editor refused the edit")
    await _remember(services.store_for(job.workspace), job, candidate, base.new_text)
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
    before = lsp_lines_with_breaks(old)
    after = lsp_lines_with_breaks(new)
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


def _rebased(documents: Workspace, job: SearchJob, candidate: Candidate) -> _Base:
    """The edit against the document as it is now, the function found there again."""
    target = job.target
    qualname = target.qualname
    if qualname is None or target.source != target.document_text:
        raise RequestFailed("a candidate written from a selected statement can only go where "
                            "the search started: run the search again")
    document = documents.get_text_document(target.uri)
    try:
        analysis = analyse_text(document.source, file_name(target.uri))
    except DocumentError as error:
        raise RequestFailed(str(error)) from None
    try:
        new_text = place(candidate.code, target.problem, analysis.text)
    except SpliceError as error:
        raise RequestFailed(f"cannot put {candidate.id} in place: {error}") from None
    return _Base(analysis.text, document.version, new_text)


def _new_text(source: str, target: Target, code: str) -> str:
    if target.insert_after is not None:  # a program written from a statement
        lines = lsp_lines_with_breaks(source)
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
    store: RunStore | None, job: SearchJob, candidate: Candidate, new_text: str
) -> None:
    """Record the function as written in `store`, so hover finds it even if the splice
    changed it."""
    qualname = job.target.qualname
    if store is None or job.run_id is None or qualname is None:
        return
    written = function_source(new_text, qualname)
    if written is None:
        logger.warning("hover may not recognise the applied code: %s is not in the new text",
                       qualname)
        return
    try:
        await asyncio.to_thread(store.record_applied, job.run_id, candidate.id, written)
    except StoreError as error:
        logger.warning("hover may not recognise the applied code: %s", error)


def takes_versioned_edits(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client's workspace edits carry document versions it checks."""
    workspace = capabilities.workspace
    edit = workspace.workspace_edit if workspace else None
    return bool(edit and edit.document_changes)

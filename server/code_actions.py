"""The "Generate via PlanSearch" code action: offered in a stub or on selected prose.

Computing it reads the cached parse of the document and nothing else: no model call, no
disk, so it stays fast while searches run.
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import Workspace

from .documents import DocumentCache, DocumentError, columns, selection_at

KIND = "refactor.rewrite.plansearch"
TITLE = "Generate via PlanSearch"


def code_actions(
    documents: Workspace,
    analyses: DocumentCache,
    params: types.CodeActionParams,
    *,
    command: str,
    shows_disabled: bool,
) -> list[types.CodeAction] | None:
    """The action for the range of `params` (in one of the client's `documents`, parsed
    with `analyses`), if it is in a stub or selects a statement; it runs `command`. A stub
    without a docstring gets a disabled action when the client `shows_disabled` ones (see
    `shows_disabled_actions`), else none."""
    if not _kind_wanted(params.context.only):
        return None
    document = documents.get_text_document(params.text_document.uri)
    try:
        analysis = analyses.analyse(document)
    except (DocumentError, OSError):
        return None
    codec = document.position_codec
    start, end = params.range.start, params.range.end
    selection = selection_at(analysis, columns(analysis, codec, start.line, start.character),
                             columns(analysis, codec, end.line, end.character))
    if selection is None:
        return None
    title = TITLE if selection.stub is not None else f"{TITLE} from the selection"
    if selection.stub is not None and selection.stub.docstring_start_line is None:
        if not shows_disabled:
            return None
        reason = f"Write a docstring saying what {selection.stub.name} should do first."
        return [types.CodeAction(title=title, kind=KIND,
                                 disabled=types.CodeActionDisabled(reason=reason))]
    argument = {
        "textDocument": {"uri": params.text_document.uri},
        "range": {"start": _position(start), "end": _position(end)},
    }
    run = types.Command(title=title, command=command, arguments=[argument])
    return [types.CodeAction(title=title, kind=KIND, command=run)]


def shows_disabled_actions(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client shows disabled code actions (with the reason)."""
    document = capabilities.text_document
    action = document.code_action if document else None
    return bool(action and action.disabled_support)


def _position(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def _kind_wanted(only: Sequence[str] | None) -> bool:
    """True unless the client asked only for kinds that do not include ours."""
    if not only:
        return True
    return any(kind == KIND or KIND.startswith(kind + ".") for kind in only)

"""The `plansearch.generate` command, for editors without the PlanSearch extension.

It runs the search with progress, offers the ranked candidates with
`window/showMessageRequest` (Neovim shows a menu), and applies the one chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from . import searches
from .apply import ApplyServices, apply_candidate
from .wire import GenerateParams, GenerateResult, parse_params

logger = logging.getLogger("plansearch_lsp")
COMMAND = "plansearch.generate"
MAX_CHOICES = 9
_TITLE_LENGTH = 90
APPLY_AGAIN = "Apply to the current text"


Ask = Callable[[types.ShowMessageRequestParams], Awaitable[types.MessageActionItem | None]]
"""`window/showMessageRequest`: the action the user picked, or None."""


async def generate_command(
    args: tuple[object, ...],
    *,
    searching: searches.SearchServices,
    applying: ApplyServices,
    show: Callable[[types.ShowMessageParams], None],
    ask: Ask,
) -> dict[str, object] | None:
    """Search, offer the candidates (`ask`), apply the choice; returns the search's result.
    What went wrong is told with `show`."""
    try:
        params = parse_params(GenerateParams, args[0] if args else None, COMMAND)
        job = await searches.begin(searching, params)
        job.show_progress(None)
        outcome = await job.outcome()
    except JsonRpcException as error:
        show(_message(types.MessageType.Error, f"PlanSearch: {error.message}"))
        raise
    if not outcome.candidates:
        show(_message(types.MessageType.Warning,
                      f"PlanSearch found no candidates for {outcome.target}: {outcome.message}"))
        return outcome.dump()
    chosen = await _choose(ask, outcome)
    if chosen is None:
        return outcome.dump()
    result = await apply_candidate(applying, job, chosen)
    if not result.applied and result.can_rebase:
        again = await ask(types.ShowMessageRequestParams(
            type=types.MessageType.Warning,
            message=f"The candidate was not applied: {result.reason}.",
            actions=[types.MessageActionItem(title=APPLY_AGAIN)]))
        if again is None or again.title != APPLY_AGAIN:
            return outcome.dump()  # the user was told, and declined
        result = await apply_candidate(applying, job, chosen, rebase=True)
    if not result.applied:
        show(_message(types.MessageType.Warning,
                      f"PlanSearch: the candidate was not applied: {result.reason}."))
    return outcome.dump()


async def _choose(ask: Ask, outcome: GenerateResult) -> str | None:
    """The id of the candidate the user picks, or None."""
    titles: dict[str, str] = {}
    for position, item in enumerate(outcome.candidates[:MAX_CHOICES], start=1):
        title = f"{position}. [{item.tally}] {item.headline}"
        if len(title) > _TITLE_LENGTH:
            title = title[: _TITLE_LENGTH - 3] + "..."
        titles[title] = item.id
    shown = len(titles)
    message = (f"PlanSearch: {len(outcome.candidates)} candidates for {outcome.target} "
               f"({outcome.finish_reason}). Choose one to apply"
               + (f" (the best {shown} are listed):" if shown < len(outcome.candidates) else ":"))
    answer = await ask(types.ShowMessageRequestParams(
        type=types.MessageType.Info, message=message,
        actions=[types.MessageActionItem(title=title) for title in titles]))
    return titles.get(answer.title) if answer is not None else None


def _message(kind: types.MessageType, message: str) -> types.ShowMessageParams:
    return types.ShowMessageParams(type=kind, message=message)

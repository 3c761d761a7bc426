"""The `plansearch.generate` command, for editors without the PlanSearch extension.

It runs the search with progress, offers the ranked candidates with
`window/showMessageRequest` (Neovim shows a menu), one per behaviour (the best of each
group of candidates that behave alike), and applies the one chosen. The client numbers the
choices itself (Neovim does), so the titles carry no number.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from plansearch.words import plural

from . import searches
from .apply import ApplyServices, apply_candidate
from .wire import CandidateItem, GenerateParams, GenerateResult, parse_params

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
                      f"PlanSearch, {outcome.target}: {outcome.message or 'no candidate.'}"))
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


def choices(candidates: list[CandidateItem]) -> list[CandidateItem]:
    """One candidate per behaviour, best first: each group's best; untested ones each on
    their own."""
    seen: set[int] = set()
    chosen = []
    for item in candidates:
        if item.cluster is not None:
            if item.cluster in seen:
                continue
            seen.add(item.cluster)
        chosen.append(item)
    return chosen


def title(item: CandidateItem) -> str:
    """A choice: the tally, the plan's first idea, and how many behave alike."""
    alike = f" ({item.cluster_size} alike)" if item.cluster_size > 1 else ""
    warn = " [!]" if item.flags else ""
    text = f"[{item.tally}]{warn} {item.headline}"
    room = _TITLE_LENGTH - len(alike)
    if len(text) > room:
        text = text[: room - 3] + "..."
    return text + alike


async def _choose(ask: Ask, outcome: GenerateResult) -> str | None:
    """The id of the candidate the user picks, or None."""
    distinct = choices(outcome.candidates)
    titles: dict[str, str] = {}
    for item in distinct[:MAX_CHOICES]:
        text = title(item)
        while text in titles:  # two choices alike in words: keep both
            text += " "
        titles[text] = item.id
    count = len(outcome.candidates)
    kinds = len(distinct)
    groups = f", {plural(kinds, 'behaviour')}" if kinds < count else ""
    listed = f" (the best {len(titles)} are listed)" if len(titles) < kinds else ""
    message = (f"PlanSearch: {plural(count, 'candidate')} for "
               f"{outcome.target}{groups} ({outcome.finish_reason}). Choose one to apply"
               f"{listed}")
    answer = await ask(types.ShowMessageRequestParams(
        type=types.MessageType.Info, message=message,
        actions=[types.MessageActionItem(title=title) for title in titles]))
    return titles.get(answer.title) if answer is not None else None


def _message(kind: types.MessageType, message: str) -> types.ShowMessageParams:
    return types.ShowMessageParams(type=kind, message=message)

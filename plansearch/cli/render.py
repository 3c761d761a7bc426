"""Rendering search events and results in the terminal with rich."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from plansearch.events import (
    BranchDropped,
    CallFinished,
    CallRetrying,
    CallStarted,
    CandidateReady,
    RankingChanged,
    SearchEvent,
    SearchFinished,
    StageStarted,
)
from plansearch.ranking import RankedCandidate, Ranking
from plansearch.result import Candidate, FinishReason, SearchResult, SearchStats
from plansearch.types import TestStatus
from plansearch.words import plural

STATUS_STYLES = {TestStatus.PASS: "green", TestStatus.FAIL: "red"}


@dataclass
class LiveState:
    """What the live display shows, updated from events."""

    title: str
    started: float = field(default_factory=time.monotonic)
    stage: str = "starting"
    in_flight: int = 0
    queued: int = 0
    stats: SearchStats = field(default_factory=SearchStats)
    candidates: dict[str, Candidate] = field(default_factory=dict)
    ranking: Ranking | None = None
    last_note: str = ""

    def update(self, event: SearchEvent) -> None:
        """Fold one event into the state."""
        match event:
            case StageStarted(stage=stage):
                self.stage = stage
            case CallStarted(stage=stage, in_flight=in_flight, queued=queued):
                self.stage, self.in_flight, self.queued = stage, in_flight, queued
            case CallFinished(stats=stats, in_flight=in_flight, queued=queued):
                self.stats, self.in_flight, self.queued = stats, in_flight, queued
            case CallRetrying(reason=reason, delay=delay):
                self.last_note = f"retrying in {delay:.1f}s: {reason}"
            case BranchDropped(stage=stage, reason=reason):
                self.last_note = f"dropped a {stage} branch: {reason}"
            case CandidateReady(candidate=candidate):
                self.candidates[candidate.id] = candidate
            case RankingChanged(ranking=ranking):
                self.ranking = ranking
            case SearchFinished():
                self.stage = "finished"

    def render(self) -> RenderableType:
        """The live panel."""
        stats = self.stats
        usage = stats.usage
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("stage", self.stage)
        grid.add_row(
            "calls",
            f"{stats.calls} done ({stats.cached_calls} cached), {self.in_flight} in flight, "
            f"{self.queued} queued, {stats.failed_calls} failed, {stats.retries} retries",
        )
        grid.add_row(
            "tokens",
            f"{usage.input_tokens:,} in ({usage.cached_input_tokens:,} cached), "
            f"{usage.output_tokens:,} out",
        )
        tested = self.ranking.diversity.tested if self.ranking else 0
        passing = self.ranking.passing if self.ranking else 0
        grid.add_row("candidates",
                      f"{len(self.candidates)} written, {tested} tested, {passing} pass all")
        grid.add_row("elapsed", f"{time.monotonic() - self.started:.1f}s")
        parts: list[RenderableType] = [grid]
        leaders = self.ranking.candidates[:3] if self.ranking else []
        for ranked in leaders:
            candidate = self.candidates.get(ranked.candidate_id)
            headline = candidate.plan.headline() if candidate else ""
            parts.append(Text(f"  #{ranked.rank} {ranked.candidate_id} "
                              f"[{ranked.tally_text}] {headline}",
                              overflow="ellipsis", no_wrap=True, style="dim"))
        if self.last_note:
            parts.append(Text(self.last_note, style="yellow", overflow="ellipsis",
                              no_wrap=True))
        return Panel(Group(*parts), title=self.title, border_style="cyan")


def candidates_table(result: SearchResult) -> Table:
    """Candidates in rank order, with their tests and the first line of their plans."""
    ranked = _ranked_by_id(result)
    table = Table(title=f"{plural(len(result.candidates), 'candidate')} for {result.problem}",
                  title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("id")
    if result.ranking is not None:
        table.add_column("tests")
    table.add_column("plan", ratio=1, overflow="fold")
    table.add_column("lines", justify="right")
    table.add_column("tokens out", justify="right")
    for number, candidate in enumerate(result.ranked_candidates(), 1):
        row: list[str | Text] = [str(number), candidate.id]
        place = ranked.get(candidate.id)
        if result.ranking is not None:
            row.append(_tests_cell(place))
        row += [
            candidate.plan.headline(),
            str(len(candidate.code.splitlines())),
            f"{candidate.branch_usage.output_tokens:,}",
        ]
        table.add_row(*row)
    return table


def _tests_cell(place: RankedCandidate | None) -> Text:
    if place is None or not place.tested:
        return Text("not run", style="dim")
    text = Text(place.tally_text, style="green" if place.passes_all else "red")
    failure = place.first_failure
    if failure is not None:
        if failure.expected is not None and failure.actual is not None:
            shown = f"expected {failure.expected}, got {failure.actual}"
        else:
            lines = failure.message.strip().splitlines()
            shown = lines[0] if lines else ""
        text.append(f"\n{failure.test_id}: {shown}", style="dim")
    if place.cluster_size > 1:
        others = place.cluster_size - 1
        text.append(f"\nsame behaviour as {plural(others, 'other')}", style="dim")
    for flag in place.flags:
        text.append(f"\n⚠ {flag}", style="yellow")
    return text


def _ranked_by_id(result: SearchResult) -> dict[str, RankedCandidate]:
    if result.ranking is None:
        return {}
    return {ranked.candidate_id: ranked for ranked in result.ranking.candidates}


def summary(result: SearchResult) -> Text:
    """One paragraph: why it ended, what it cost, what the tests said, what failed."""
    stats = result.stats
    style = "red" if result.finish_reason is FinishReason.ERROR else "green"
    text = Text()
    text.append(f"{result.message}\n", style=style)
    text.append(
        f"{result.strategy} with {result.provider}/{result.model}: {stats.calls} calls "
        f"({stats.cached_calls} cached, {stats.failed_calls} failed), "
        f"{stats.usage.output_tokens:,} output tokens, graph depth {stats.graph_depth}, "
        f"{stats.wall_seconds:.1f}s"
    )
    if result.ranking is not None:
        diversity = result.ranking.diversity
        text.append(
            f"\n{result.ranking.passing} of {plural(diversity.tested, 'tested candidate')} "
            f"{'passes' if diversity.tested == 1 else 'pass'} all "
            f"{plural(result.ranking.trusted_tests, 'trusted test')}; "
            f"{plural(diversity.behaviour_clusters, 'distinct behaviour')}, "
            f"{plural(diversity.distinct_plans, 'distinct plan')}"
        )
    if result.isolation:
        text.append(f"\nsandbox: {result.isolation}", style="dim")
    if stats.dropped_branches or stats.parse_failures:
        text.append(f"\n{plural(stats.dropped_branches, 'branch')} dropped, "
                    f"{plural(stats.parse_failures, 'unparsable reply')}",
                    style="yellow")
    for error in result.errors[:5]:
        text.append(f"\n  {error}", style="yellow")
    return text


def show_candidate(
    console: Console, result: SearchResult, candidate: Candidate, number: int
) -> None:
    """A candidate with its whole plan, in the order the search produced it, and its tests."""
    plan = candidate.plan
    console.print(Rule(f"candidate {number} ({candidate.id}, {candidate.strategy})"))
    for layer, observations in enumerate(plan.observation_path, 1):
        if observations:
            console.print(f"[bold]Observations, layer {layer}[/bold]")
            for text in observations:
                console.print(f"  - {text}", markup=False)
    if plan.sketch:
        console.print(Panel(Markdown(plan.sketch), title="Sketch", title_align="left"))
    if plan.criticism:
        console.print(Panel(Markdown(plan.criticism), title="Criticism", title_align="left"))
    if plan.fixed_sketch:
        console.print(Panel(Markdown(plan.fixed_sketch), title="Fixed sketch",
                            title_align="left"))
    if plan.pseudocode:
        console.print(Panel(Text(plan.pseudocode), title="Pseudocode", title_align="left"))
    console.print(Panel(Syntax(candidate.code, "python", line_numbers=False),
                        title="Code", title_align="left"))
    run = result.runs.get(candidate.id)
    if run is not None and run.outcomes:
        sources = {test.id: test.source for test in result.tests}
        table = Table(title="Tests", title_justify="left")
        for column in ("test", "source", "status", "ms", "detail"):
            table.add_column(column, overflow="fold")
        for outcome in run.outcomes:
            status = outcome.status.value
            if outcome.judged == "in_process":
                status += " (in-process)"
            table.add_row(outcome.test_id, sources.get(outcome.test_id, ""),
                          Text(status, style=STATUS_STYLES.get(outcome.status, "yellow")),
                          f"{outcome.duration_ms:.0f}", outcome.message[:300])
        console.print(table)
    if run is not None and (run.side_effects or run.special_casing):
        console.print("[bold yellow]Warnings[/bold yellow]")
        for effect in run.side_effects:
            console.print(f"  ⚠ {effect.detail} ({effect.seen})", markup=False)
        for reason in run.special_casing:
            console.print(f"  ⚠ may special-case the tests: {reason}", markup=False)
    usage = candidate.branch_usage
    console.print(f"[dim]branch tokens: {usage.input_tokens:,} in, "
                  f"{usage.output_tokens:,} out[/dim]")

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
    SearchEvent,
    SearchFinished,
    StageStarted,
)
from plansearch.result import Candidate, FinishReason, SearchResult, SearchStats


@dataclass
class LiveState:
    """What the live display shows, updated from events."""

    title: str
    started: float = field(default_factory=time.monotonic)
    stage: str = "starting"
    in_flight: int = 0
    queued: int = 0
    stats: SearchStats = field(default_factory=SearchStats)
    candidates: list[Candidate] = field(default_factory=list)
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
                self.candidates.append(candidate)
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
        grid.add_row("candidates", str(len(self.candidates)))
        grid.add_row("elapsed", f"{time.monotonic() - self.started:.1f}s")
        parts: list[RenderableType] = [grid]
        for candidate in self.candidates[-3:]:
            parts.append(Text(f"  {candidate.id}: {candidate.plan.headline()}",
                              overflow="ellipsis", no_wrap=True, style="dim"))
        if self.last_note:
            parts.append(Text(self.last_note, style="yellow", overflow="ellipsis",
                              no_wrap=True))
        return Panel(Group(*parts), title=self.title, border_style="cyan")


def candidates_table(result: SearchResult) -> Table:
    """Candidates with the first line of their plans."""
    table = Table(title=f"{len(result.candidates)} candidates for {result.problem}",
                  title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("id")
    table.add_column("plan", ratio=1, overflow="fold")
    table.add_column("lines", justify="right")
    table.add_column("tokens out", justify="right")
    for number, candidate in enumerate(result.candidates, 1):
        table.add_row(
            str(number),
            candidate.id,
            candidate.plan.headline(),
            str(len(candidate.code.splitlines())),
            f"{candidate.branch_usage.output_tokens:,}",
        )
    return table


def summary(result: SearchResult) -> Text:
    """One paragraph: why it ended, what it cost, what failed."""
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
    if stats.dropped_branches or stats.parse_failures:
        text.append(f"\n{stats.dropped_branches} branches dropped, "
                    f"{stats.parse_failures} unparsable replies", style="yellow")
    for error in result.errors[:5]:
        text.append(f"\n  {error}", style="yellow")
    return text


def show_candidate(console: Console, candidate: Candidate, number: int) -> None:
    """A candidate with its whole plan, in the order the search produced it."""
    plan = candidate.plan
    console.print(Rule(f"candidate {number} ({candidate.id}, {candidate.strategy})"))
    for layer, observations in enumerate(plan.observation_path, 1):
        if observations:
            console.print(f"[bold]Observations, layer {layer}[/bold]")
            for text in observations:
                console.print(f"  - {text}")
    if plan.sketch:
        console.print(Panel(Markdown(plan.sketch), title="Sketch", title_align="left"))
    if plan.criticism:
        console.print(Panel(Markdown(plan.criticism), title="Criticism", title_align="left"))
    if plan.fixed_sketch:
        console.print(Panel(Markdown(plan.fixed_sketch), title="Fixed sketch",
                            title_align="left"))
    if plan.pseudocode:
        console.print(Panel(plan.pseudocode, title="Pseudocode", title_align="left"))
    console.print(Panel(Syntax(candidate.code, "python", line_numbers=False),
                        title="Code", title_align="left"))
    usage = candidate.branch_usage
    console.print(f"[dim]branch tokens: {usage.input_tokens:,} in, "
                  f"{usage.output_tokens:,} out[/dim]")

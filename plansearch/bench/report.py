"""The bench's figures per strategy: a rich table and a JSON report with every detail."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field
from rich.table import Table

from plansearch.bench.passk import mean_pass_at_k
from plansearch.bench.runner import ProblemOutcome

REPORT_VERSION = 1


class StrategySummary(BaseModel):
    """One strategy's figures over the problem set."""

    strategy: str
    problems: int
    candidates: int = Field(description="Candidates written, all problems together.")
    pass_at: dict[int, float] = Field(description="k -> pass@k averaged over problems.")
    filtered_pass_at: dict[int, float] = Field(
        description="k -> pass@k over candidates that pass the public tests (0 where none)."
    )
    fewer_than_k: dict[int, int] = Field(
        description="k -> problems with fewer than k candidates (their pass@k uses them all)."
    )
    output_tokens_per_candidate: float = Field(
        description="Output tokens of all searches divided by the candidates written."
    )
    behaviour_clusters: float = Field(description="Distinct behaviours per problem, mean.")
    distinct_plans: float = Field(description="Distinct sketches per problem, mean.")
    calls: int
    cached_calls: int
    failed_searches: int = Field(description="Problems whose search did not run or failed.")


class BenchReport(BaseModel):
    """What `plansearch bench` writes to its JSON file."""

    report_version: int = REPORT_VERSION
    dataset: str
    provider: str
    model: str
    budget: str
    samples: int | None = Field(description="Candidates per problem asked for; None: preset.")
    ks: list[int]
    problems: list[str]
    summary: list[StrategySummary]
    results: list[ProblemOutcome]


def summarize(outcomes: Sequence[ProblemOutcome], ks: Sequence[int]) -> list[StrategySummary]:
    """Figures per strategy, in the order strategies first appear in `outcomes`."""
    strategies = list(dict.fromkeys(o.strategy for o in outcomes))
    return [
        _summary(strategy, [o for o in outcomes if o.strategy == strategy], ks)
        for strategy in strategies
    ]


def _summary(strategy: str, outcomes: list[ProblemOutcome], ks: Sequence[int]) -> StrategySummary:
    problems = len(outcomes)
    candidates = sum(o.n for o in outcomes)
    plain = [(o.n, o.c_hidden) for o in outcomes]
    filtered = [(o.n_public_pass, o.c_public_and_hidden) for o in outcomes]
    return StrategySummary(
        strategy=strategy,
        problems=problems,
        candidates=candidates,
        pass_at={k: mean_pass_at_k(plain, k) for k in ks},
        filtered_pass_at={k: mean_pass_at_k(filtered, k) for k in ks},
        fewer_than_k={k: sum(o.n < k for o in outcomes) for k in ks},
        output_tokens_per_candidate=(
            sum(o.output_tokens for o in outcomes) / candidates if candidates else 0.0
        ),
        behaviour_clusters=_mean([o.behaviour_clusters for o in outcomes]),
        distinct_plans=_mean([o.distinct_plans for o in outcomes]),
        calls=sum(o.calls for o in outcomes),
        cached_calls=sum(o.cached_calls for o in outcomes),
        failed_searches=sum(o.failed for o in outcomes),
    )


def summary_table(summaries: Sequence[StrategySummary], ks: Sequence[int], title: str) -> Table:
    """One row per strategy: pass@k, public-filtered pass@k, cost and diversity."""
    table = Table(title=title, title_justify="left")
    table.add_column("strategy")
    table.add_column("problems", justify="right")
    table.add_column("cand.", justify="right")
    for k in ks:
        table.add_column(f"pass@{k}", justify="right")
    for k in ks:
        table.add_column(f"filtered@{k}", justify="right")
    table.add_column("tokens/cand.", justify="right")
    table.add_column("clusters", justify="right")
    table.add_column("plans", justify="right")
    table.add_column("calls (cached)", justify="right")
    notes = [
        "cand.: candidates per problem; filtered@k: pass@k of the candidates passing the "
        "public tests; tokens/cand.: output tokens per candidate; clusters, plans: distinct "
        "behaviours and sketches per problem"
    ]
    for s in summaries:
        table.add_row(
            s.strategy,
            str(s.problems),
            f"{s.candidates / s.problems:.1f}" if s.problems else "0",
            *(_percent(s.pass_at[k]) for k in ks),
            *(_percent(s.filtered_pass_at[k]) for k in ks),
            f"{s.output_tokens_per_candidate:.0f}",
            f"{s.behaviour_clusters:.1f}",
            f"{s.distinct_plans:.1f}",
            f"{s.calls} ({s.cached_calls})",
        )
        for k, count in s.fewer_than_k.items():
            if count:
                notes.append(f"{s.strategy}: {count} of {s.problems} problems have fewer than "
                             f"{k} candidates; their pass@{k} counts all of them")
        if s.failed_searches:
            notes.append(f"{s.strategy}: {s.failed_searches} searches failed (counted as 0)")
    table.caption = "\n".join(notes)
    table.caption_justify = "left"
    return table


def write_report(report: BenchReport, path: Path) -> None:
    """Write the report as indented JSON, creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"

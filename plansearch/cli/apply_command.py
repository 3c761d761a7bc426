"""`plansearch apply FILE.py::FUNCTION`: put a stored run's candidate into the file.

The same splice as the editor's apply, a diff of what changes, and two refusals that keep
work from being lost: the function was edited since the search (it is no longer the stub
the candidates were written for: `--force` replaces it anyway), or the file changed while
the candidate was being put in (nothing is written).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.syntax import Syntax

from plansearch.cli.errors import CliError
from plansearch.cli.stored_target import StoredTarget
from plansearch.words import plural

if TYPE_CHECKING:
    from plansearch.problem import Problem
    from plansearch.ranking import RankedCandidate
    from plansearch.result import Candidate, SearchResult


def add_apply_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `plansearch apply` and its flags."""
    apply = commands.add_parser(
        "apply", help="put a stored run's candidate into the file",
        description="Put a candidate of the newest stored run for FILE.py::FUNCTION (made by "
        "`plansearch solve`) in place of the function, and print the diff.",
    )
    apply.add_argument("target", help="path/to/file.py::function_name (or ::Class.method)")
    which = apply.add_mutually_exclusive_group()
    which.add_argument("--rank", type=int, default=1, metavar="N",
                       help="the candidate ranked N (default: the best)")
    which.add_argument("--candidate", metavar="ID", help="the candidate with this id (c7)")
    apply.add_argument("--run", metavar="RUN_ID", help="a stored run other than the newest")
    apply.add_argument("--dry-run", action="store_true", help="print the diff, change nothing")
    apply.add_argument("--force", action="store_true",
                       help="replace the function even if it was edited since the search")


def run_apply(args: argparse.Namespace) -> int:
    """Run `apply`; returns the exit code."""
    from plansearch.store import RunStore, StoreError

    target = StoredTarget.parse(args.target)
    try:
        with RunStore(target.store_path) as store:
            stored = (store.load_run(args.run) if args.run
                      else store.latest_run(target.path, target.function))
            if stored is None:
                raise target.no_run()
            candidate = _chosen(stored.result, args.rank, args.candidate)
            tested = stored.module_source
            applied = write_candidate(target.path, stored.problem, candidate, tested,
                                      dry_run=args.dry_run, force=args.force)
            if applied is not None:
                store.record_applied(stored.run_id, candidate.id, applied)
    except StoreError as error:
        raise CliError(str(error)) from None
    _say_what(Console(stderr=True), stored.result, candidate, target.path, dry_run=args.dry_run)
    return 0


def write_candidate(
    path: Path,
    problem: Problem,
    candidate: Candidate,
    tested_source: str | None,
    *,
    dry_run: bool = False,
    force: bool = False,
    out: Console | None = None,
) -> str | None:
    """Print the diff that puts `candidate` into `path`, and write it unless `dry_run`;
    the function as written (for the run store), or None when nothing was written.
    `tested_source` is the module the search saw: the function must still be as it was
    there, unless `force`. The diff goes to `out` (standard output by default)."""
    from plansearch.applying import function_source, place, unified_diff
    from plansearch.splice import SpliceError

    before = _read(path)
    qualname = problem.qualname or problem.entry_point or ""
    if tested_source is not None and not force:
        then, now = function_source(tested_source, qualname), function_source(before, qualname)
        if then is not None and now is not None and then != now:
            raise CliError(f"{qualname} in {path} was edited since the search: nothing was "
                           "changed (use --force to replace it anyway)")
    try:
        after = place(candidate.code, problem, before)
    except SpliceError as error:
        raise CliError(f"cannot put {candidate.id} in {path}: {error}") from None
    diff = unified_diff(before, after, path.name)
    out = out or Console()
    if out.is_terminal:
        out.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))
    else:
        out.print(diff, markup=False, highlight=False, soft_wrap=True)
    if dry_run:
        return None
    if _read(path) != before:
        raise CliError(f"{path} changed while the candidate was put in: nothing was written")
    _replace(path, after)
    return function_source(after, qualname)


def _chosen(result: SearchResult, rank: int, candidate_id: str | None) -> Candidate:
    ranked = result.ranked_candidates()
    if candidate_id is not None:
        found = next((c for c in ranked if c.id == candidate_id), None)
        if found is None:
            ids = ", ".join(c.id for c in ranked) or "none"
            raise CliError(f"the run has no candidate {candidate_id} (it has {ids})")
        return found
    if not 1 <= rank <= len(ranked):
        raise CliError(f"--rank {rank}: the run has {plural(len(ranked), 'candidate')}")
    return ranked[rank - 1]


def _say_what(
    err: Console, result: SearchResult, candidate: Candidate, path: Path, *, dry_run: bool
) -> None:
    place = _place_of(result, candidate.id)
    tally = f" ({place.tally_text})" if place is not None and place.tested else ""
    verb = "would put" if dry_run else "put"
    err.print(f"{verb} {candidate.id}{tally} in {path}", highlight=False, markup=False)
    if place is not None:
        for flag in place.flags:
            err.print(f"warning: {flag}", style="yellow", highlight=False, markup=False)
        if place.tested and not place.passes_all:
            err.print("warning: it does not pass every trusted test", style="yellow")


def _place_of(result: SearchResult, candidate_id: str) -> RankedCandidate | None:
    if result.ranking is None:
        return None
    return next((r for r in result.ranking.candidates if r.candidate_id == candidate_id), None)


def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as file:  # line endings as they are
            return file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {path}: {error}") from None


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` in one step (a reader never sees half of it), keeping its mode."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise CliError(f"cannot write {path}: {error.strerror}") from None

"""The bench's table (plain when piped, wrapped rather than cut in a narrow terminal) and where
its report goes by default."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from plansearch.bench.diversity import JudgeOutcome
from plansearch.bench.report import default_report_path, summarize, summary_table
from plansearch.bench.runner import CandidateOutcome, ProblemOutcome


def outcome(strategy: str, correct: int, judge: JudgeOutcome | None) -> ProblemOutcome:
    candidates = [
        CandidateOutcome(id=f"c{i}", public_passed=1, public_total=1, passes_public=True,
                         hidden_passed=int(i < correct), hidden_total=1,
                         passes_hidden=i < correct, output_tokens=10)
        for i in range(4)
    ]
    return ProblemOutcome(task_id="t1", strategy=strategy, n=4, c_hidden=correct,
                          n_public_pass=4, c_public_and_hidden=correct, public_tests=1,
                          output_tokens=40, judge=judge, candidates=candidates)


SUMMARIES = summarize([
    outcome("repeated", 1, JudgeOutcome(pairs=6, different=2, calls=10, output_tokens=50)),
    outcome("plansearch", 3, JudgeOutcome(pairs=6, different=6, calls=10, cached_calls=10)),
], [1, 10])
HEADERS = ["strategy", "problems", "cand.", "pass@1", "pass@10", "filtered@1", "filtered@10",
           "tokens/cand.", "clusters", "plans", "judged diff.", "calls (cached)"]


def test_the_judge_shows_in_the_summary_and_table() -> None:
    repeated, plansearch = SUMMARIES
    assert repeated.judged_different == pytest.approx(2 / 6)
    assert (plansearch.judged_different, plansearch.judge_cached_calls) == (1.0, 10)
    table = summary_table(SUMMARIES, [1, 10], "LiveCodeBench (v6), 1 problems")
    assert table.headers == HEADERS
    assert table.rows[0][HEADERS.index("judged diff.")] == "33.3% (6 pairs)"
    assert any("the judge made 10 calls (0 cached)" in note for note in table.notes)


def test_plain_text_keeps_every_header_whole() -> None:
    text = summary_table(SUMMARIES, [1, 10], "title").text()
    header = text.splitlines()[1]
    assert all(name in header for name in HEADERS)
    assert "…" not in text
    assert text.splitlines()[2].split()[:4] == ["repeated", "1", "4.0", "25.0%"]


@pytest.mark.parametrize(("width", "boxed"), [(70, False), (200, True)])
def test_a_terminal_gets_the_boxed_table_only_when_it_fits(width: int, boxed: bool) -> None:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system=None)
    summary_table(SUMMARIES, [1, 10], "title").show(console)
    shown = out.getvalue()
    assert "…" not in shown and ("┃" in shown) is boxed
    assert all(name in shown for name in HEADERS if name != "calls (cached)")
    piped = io.StringIO()
    summary_table(SUMMARIES, [1, 10], "title").show(Console(file=piped, width=width))
    assert "┃" not in piped.getvalue() and "judged diff." in piped.getvalue()


def test_the_report_goes_to_the_project_or_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    when = datetime(2025, 5, 1, 12, 30, 5)
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / ".git").mkdir()
    assert default_report_path("humaneval+", project / "src", when) == (
        project / ".plansearch" / "bench" / "humaneval-plus-20250501-123005.json"
    )
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    loose = tmp_path / "loose"
    loose.mkdir()
    assert default_report_path("livecodebench", loose, when) == (
        tmp_path / "data" / "plansearch" / "bench" / "livecodebench-20250501-123005.json"
    )


def test_the_lines_around_a_run_count_in_words() -> None:
    from plansearch.cli.bench_command import _plan_line, _progress_line
    from plansearch.config import Settings
    from plansearch.result import FinishReason

    plan = _plan_line(1, ["plansearch"], Settings(), samples=1, judge_pairs=0)
    assert plan.startswith("1 problem x 1 strategy (plansearch) = 1 search on ")
    assert "at most 1 candidate each" in plan
    single = ProblemOutcome(task_id="t1", strategy="repeated", n=1, c_hidden=1, n_public_pass=1,
                            c_public_and_hidden=1, public_tests=1, output_tokens=10, calls=1,
                            judge=JudgeOutcome(pairs=1, different=1, calls=1),
                            finish_reason=FinishReason.COMPLETED)
    assert _progress_line(single) == ("t1 [repeated] 1 candidate: 1 correct, 1 pass public, "
                                      "1 call (0 cached); judge: 1 of 1 pair differ, 1 call "
                                      "(0 cached)")

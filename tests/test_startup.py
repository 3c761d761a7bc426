"""Start-up stays light: `--help`, the missing-key error and `doctor` load neither a model SDK
(importing `anthropic` alone takes seconds) nor the executor that runs candidates."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"anthropic", "openai", "plansearch.execution.executor"}


def imported(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """The modules `python -X importtime -m plansearch ARGS` imports, and the run."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "plansearch", *args], cwd=ROOT,
        env=dict(os.environ), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )
    modules = {line.rsplit("|", 1)[1].strip() for line in run.stderr.splitlines()
               if line.startswith("import time:")}
    return modules, run


@pytest.mark.parametrize(
    ("args", "exit_code", "says"),
    [
        (["--help"], 0, "solve"),
        (["solve", "examples/intervals.py::merge_intervals"], 2, "export ANTHROPIC_API_KEY"),
        (["doctor"], 1, "ANTHROPIC_API_KEY"),
    ],
    ids=["help", "no-key", "doctor"],
)
def test_loads_no_sdk_and_no_executor(args: list[str], exit_code: int, says: str) -> None:
    modules, run = imported(*args)
    assert run.returncode == exit_code, run.stderr[-2000:]
    assert says in run.stdout + run.stderr
    assert "plansearch.cli.main" in modules, "importtime lines were not read"
    assert modules & HEAVY == set()


def test_help_reads_no_provider_at_all() -> None:
    modules, _ = imported("--help")
    assert [name for name in modules if re.search("anthropic|openai", name)] == []


def test_the_strategies_load_no_part_of_the_sandbox() -> None:
    """The engine's vocabulary and strategies stand without the executor."""
    script = (
        "import sys, plansearch.strategies, plansearch.search, plansearch.workbench\n"
        "print(sorted(m for m in sys.modules if m.startswith('plansearch.execution')))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)
    assert run.stdout.strip() == "[]"

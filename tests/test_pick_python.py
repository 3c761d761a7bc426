"""scripts/pick-python.sh: which Python 3.11 the setup builds .venv from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "pick-python.sh"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a bash script")


def fake_python(
    directory: Path, name: str, seconds: str, usable: bool = True, first: str | None = None
) -> Path:
    """An executable that answers the script's three questions as a Python would: whether it
    can make a venv (its path), its version, and the workload's time (`seconds`; `first`
    the first time, as in a slow phase of the machine)."""
    path = directory / name
    check = f'echo "{path}"' if usable else "exit 1"
    timed = f"echo {seconds}"
    if first is not None:
        mark = directory / f"{name}.timed"
        timed = f'if [ -e "{mark}" ]; then echo {seconds}; else touch "{mark}"; echo {first}; fi'
    path.write_text(
        "#!/usr/bin/env bash\n"
        'case "$*" in\n'
        f"  *ensurepip*) {check} ;;\n"
        "  *platform*) echo 3.11.9 ;;\n"
        f"  *) {timed} ;;\n"
        "esac\n"
    )
    path.chmod(0o755)
    return path


def pick(candidates: list[Path], python: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHON"}
    env["PICK_PYTHON_CANDIDATES"] = " ".join(str(path) for path in candidates)
    if python is not None:
        env["PYTHON"] = python
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=True, timeout=60
    )


def test_the_fastest_interpreter_is_chosen(tmp_path: Path) -> None:
    slow = fake_python(tmp_path, "slow", "0.020000")
    fast = fake_python(tmp_path, "fast", "0.010000")
    result = pick([slow, fast])
    assert result.stdout.strip() == str(fast)
    assert f"{slow} (3.11.9) runs the workload in 0.020000 s" in result.stderr


def test_a_slow_phase_during_one_timing_does_not_decide(tmp_path: Path) -> None:
    slow = fake_python(tmp_path, "slow", "0.020000")
    fast = fake_python(tmp_path, "fast", "0.010000", first="0.030000")
    result = pick([slow, fast])
    assert result.stdout.strip() == str(fast)
    assert f"{fast} (3.11.9) runs the workload in 0.010000 s" in result.stderr


def test_the_first_is_kept_unless_another_is_clearly_faster(tmp_path: Path) -> None:
    first = fake_python(tmp_path, "first", "0.020000")
    close = fake_python(tmp_path, "close", "0.019500")
    assert pick([first, close]).stdout.strip() == str(first)


def test_an_interpreter_that_cannot_make_a_venv_is_skipped(tmp_path: Path) -> None:
    broken = fake_python(tmp_path, "broken", "0.001000", usable=False)
    working = fake_python(tmp_path, "working", "0.020000")
    assert pick([broken, working]).stdout.strip() == str(working)


def test_one_interpreter_reached_by_two_paths_is_timed_once(tmp_path: Path) -> None:
    real = fake_python(tmp_path, "real", "0.020000")
    link = tmp_path / "link"
    link.symlink_to(real)
    result = pick([real, link])
    assert result.stdout.strip() == str(real)
    assert "runs the workload" not in result.stderr  # nothing to choose between


def test_python_set_by_the_user_wins(tmp_path: Path) -> None:
    fast = fake_python(tmp_path, "fast", "0.001000")
    assert pick([fast], python="/opt/my/python3.11").stdout.strip() == "/opt/my/python3.11"


def test_a_real_interpreter_is_found_and_can_make_a_venv() -> None:
    result = pick([Path(sys.executable)])
    chosen = result.stdout.strip()
    version = subprocess.run(
        [chosen, "-c", "import sys, venv, ensurepip; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.strip() == "(3, 11)"

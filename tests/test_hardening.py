"""The CLI and the server make their process non-dumpable, so that other processes of the same
user (candidate code run without a sandbox) cannot read a key from its environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plansearch import hardening

SECRET = "sk-ant-hardening-canary-0123456789"
HOLDER = """
import os, sys, time
source = sys.argv[1]
namespace = {}
exec(compile(source, "hardening.py", "exec"), namespace)
if sys.argv[2] == "hide":
    assert namespace["hide_process_memory"]()
print("ready", flush=True)
time.sleep(30)
"""
READER = """
import sys
try:
    data = open(f"/proc/{sys.argv[1]}/environ", "rb").read()
except PermissionError:
    print("denied")
else:
    print("read key" if sys.argv[2].encode() in data else "read, no key")
"""


def _same_user_processes() -> tuple[list[str], dict[str, object]]:
    """How to run two processes as one ordinary user: as `nobody` with the system Python
    when this is root (root may read any process), as ourselves otherwise."""
    if os.geteuid() != 0:
        return [sys.executable], {}
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 that user nobody can run")

    def drop() -> None:
        os.setgid(65534)
        os.setgroups([])
        os.setuid(65534)

    return [python], {"preexec_fn": drop, "cwd": "/"}


@pytest.mark.parametrize("hide", [True, False])
def test_a_hidden_process_environment_is_not_readable_by_the_same_user(hide: bool) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    python, options = _same_user_processes()
    source = Path(hardening.__file__).read_text(encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "ANTHROPIC_API_KEY": SECRET}
    holder = subprocess.Popen(  # type: ignore[call-overload]
        [*python, "-c", HOLDER, source, "hide" if hide else "keep"],
        env=env, stdout=subprocess.PIPE, text=True, **options)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        reader = subprocess.run([*python, "-c", READER, str(holder.pid), SECRET], env=env,
                                capture_output=True, text=True, timeout=30, **options)
        assert reader.stdout.strip() == ("denied" if hide else "read key"), reader.stderr
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_the_command_line_hides_its_process() -> None:
    code = ("import sys\nfrom plansearch.cli.main import main\nfrom plansearch.hardening import "
            "process_memory_hidden\nbefore = process_memory_hidden()\nmain(['schema'])\n"
            "print(before, process_memory_hidden(), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.split()[-2:] == ["False", "True"]

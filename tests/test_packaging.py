"""The project installs editable and as a wheel, with the server as `plansearch_lsp`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_editable_install_exposes_both_packages() -> None:
    import plansearch_lsp

    import plansearch

    assert Path(plansearch.__file__).parent == ROOT / "plansearch"
    assert Path(plansearch_lsp.__file__).parent == ROOT / "server"


@pytest.mark.timeout(300)
def test_wheel_contains_and_imports_both_packages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "dist")],
        check=True, capture_output=True, text=True,
    )
    wheels = list((tmp_path / "dist").glob("plansearch-*.whl"))
    assert len(wheels) == 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        names = wheel.namelist()
        wheel.extractall(tmp_path / "site")
    tops = {name.split("/")[0] for name in names}
    assert {"plansearch", "plansearch_lsp"} <= tops
    assert "server" not in tops
    for package_dir, name in ((ROOT / "plansearch", "plansearch"), (ROOT / "server",
                                                                       "plansearch_lsp")):
        for init in package_dir.rglob("__init__.py"):
            inside = init.relative_to(package_dir).as_posix()
            assert f"{name}/{inside}" in names, f"{name}/{inside} is missing from the wheel"
    assert any(name.endswith("entry_points.txt") for name in names)
    probe = (
        "import plansearch, plansearch_lsp, plansearch.cli.main;"
        "print(plansearch.__file__); print(plansearch_lsp.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}, check=True,
    )
    files = result.stdout.split()
    assert all(path.startswith(str(tmp_path / "site")) for path in files), files

"""pygls is pinned to the minor version that server/protocol.py's read loop was written for:
`read_messages` replaces pygls's own loop (`pygls.io_.run_async`), and `PlanSearchProtocol`
overrides internals of `LanguageServerProtocol` (`structure_message`, `handle_message`,
`_handle_response`, `_send_data`, `_request_futures`), which a minor release may change."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def pygls_pin() -> Requirement:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    (pin,) = [Requirement(line) for line in dependencies if Requirement(line).name == "pygls"]
    return pin


def same_minor(installed: Version, pin: Requirement) -> bool:
    """Whether `installed` is of the minor version `pin` names (`~=2.1`: 2.1.x)."""
    (specifier,) = pin.specifier
    minor = Version(specifier.version).release[:2]
    return (
        specifier.operator == "~=" and installed in pin.specifier and installed.release[:2] == minor
    )


def test_the_installed_pygls_is_the_minor_version_pinned() -> None:
    installed, pin = Version(version("pygls")), pygls_pin()
    assert same_minor(installed, pin), (
        f"pygls {installed} is installed, but pyproject.toml pins {pin}: re-check "
        "server/protocol.py's read loop (read_messages) and PlanSearchProtocol's overrides "
        "against this version, then move the pin"
    )


@pytest.mark.parametrize(
    ("installed", "agrees"),
    [("2.1.0", True), ("2.1.7", True), ("2.2.0", False), ("2.0.3", False), ("3.1.0", False)],
)
def test_another_minor_version_disagrees_with_the_pin(installed: str, agrees: bool) -> None:
    assert same_minor(Version(installed), Requirement("pygls~=2.1")) is agrees

"""`plansearch doctor`: is this installation ready to search and to run candidates?

Light to import: no model SDK is imported (their versions come from package metadata), and the
sandbox is probed (`plansearch.execution.sandbox`, which does not load the executor) only
when the check runs.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

from plansearch.config import Settings, default_config_path
from plansearch.models.cache import CacheError, ResponseCache
from plansearch.models.registry import provider_info, provider_names


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str


def checks(settings: Settings) -> list[Check]:
    """Every check, in the order a person would fix things."""
    return [
        _python(),
        _packages(),
        _config_file(),
        _provider(settings),
        _sandbox(settings),
        _cache(settings),
    ]


def run_doctor(settings: Settings) -> int:
    """Print the report; exit status 1 when a check failed."""
    results = checks(settings)
    table = Table(title="plansearch doctor", title_justify="left", show_lines=True)
    table.add_column("check")
    table.add_column("")
    table.add_column("detail", overflow="fold")
    for check in results:
        table.add_row(check.name, "[green]ok[/green]" if check.ok else "[red]FAIL[/red]",
                      Text(check.detail))
    Console().print(table)
    return 0 if all(check.ok for check in results) else 1


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("python", ok, f"{platform.python_version()} at {sys.executable}")


def _packages() -> Check:
    versions = []
    sdks = [provider_info(name).sdk for name in provider_names()]
    for name in ("plansearch", *sdks, "pydantic", "pygls", "rich"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            return Check("packages", False, f"{name} is not installed")
    return Check("packages", True, ", ".join(versions))


def _config_file() -> Check:
    path = default_config_path()
    return Check("config file", True, f"{path} ({'found' if path.exists() else 'none'})")


def _provider(settings: Settings) -> Check:
    info = provider_info(settings.provider)
    base_url = settings.resolved_base_url()
    url = base_url or info.default_base_url
    where = f"{settings.provider}, model {settings.model_name}, at {url}"
    if settings.resolved_api_key() is not None:
        return Check("provider", True, f"{where}; key set")
    if not info.needs_key(base_url):
        return Check("provider", True, f"{where}; no key (fine for a local server)")
    return Check("provider", False, f"{where}; no key: set {' or '.join(info.key_env_vars)} "
                 "or use --provider openai --base-url http://localhost:11434/v1")


def _sandbox(settings: Settings) -> Check:
    from plansearch.execution.sandbox import SandboxUnavailable, detect_isolation

    try:
        report = detect_isolation(settings.isolation)
    except SandboxUnavailable as error:
        return Check("sandbox", False, f"cannot isolate candidates: {error}")
    return Check("sandbox", True, report.describe())


def _cache(settings: Settings) -> Check:
    try:
        cache = ResponseCache(settings.cache_path)
        try:
            entries, size, path = cache.info()
        finally:
            cache.close()
    except CacheError as error:
        return Check("response cache", False, str(error))
    return Check("response cache", True, f"{path}: {entries} replies, {size / 1e6:.1f} MB")

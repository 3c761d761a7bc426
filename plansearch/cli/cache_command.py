"""`plansearch cache info|clear`."""

from __future__ import annotations

from rich.console import Console

from plansearch.cli.errors import CliError
from plansearch.config import Settings
from plansearch.models.cache import CacheError, ResponseCache


def run_cache(action: str, settings: Settings) -> int:
    """Show or clear the response cache; returns the exit code."""
    console = Console()
    try:
        cache = ResponseCache(settings.cache_path)
        try:
            if action == "clear":
                removed = cache.clear()
                console.print(f"Removed {removed} cached replies from {settings.cache_path}")
            else:
                entries, size, path = cache.info()
                console.print(f"{entries} cached replies, {size / 1e6:.1f} MB, in {path}")
        finally:
            cache.close()
    except CacheError as error:
        raise CliError(str(error)) from None
    return 0

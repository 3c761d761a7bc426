"""The bench on a Ray cluster (`plansearch bench DATASET --ray ADDRESS`): see docs/scale-out.md.

Ray is an optional extra. This module does not import it; every other one here does, so
import them only after `require_ray()`.
"""

from __future__ import annotations

import importlib.util

from plansearch.bench.tasks import BenchError

RAY_EXTRA = "pip install 'plansearch[ray]'"


def require_ray() -> None:
    """Raise `BenchError` naming the extra when Ray is not installed."""
    if importlib.util.find_spec("ray") is None:
        raise BenchError(f"--ray needs Ray, which is not installed: {RAY_EXTRA}")

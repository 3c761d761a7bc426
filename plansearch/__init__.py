"""PlanSearch: search over natural-language plans, then code, ranked by local tests."""

__version__ = "0.1.0"

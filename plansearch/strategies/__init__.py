"""Search strategies, by name."""

from __future__ import annotations

from plansearch.config import Settings, StrategyName
from plansearch.problem import Problem
from plansearch.strategies.base import Strategy
from plansearch.strategies.ideasearch import IdeaSearch
from plansearch.strategies.plansearch import PlanSearch
from plansearch.strategies.repeated import RepeatedSampling

STRATEGIES: dict[StrategyName, type[PlanSearch | IdeaSearch | RepeatedSampling]] = {
    "plansearch": PlanSearch,
    "ideasearch": IdeaSearch,
    "repeated": RepeatedSampling,
}


def make_strategy(problem: Problem, settings: Settings) -> Strategy:
    """The strategy named in `settings`, ready to run on `problem`."""
    return STRATEGIES[settings.strategy](problem, settings)


__all__ = ["STRATEGIES", "Strategy", "make_strategy"]

"""Budget presets and limits: how big a search may grow and when it must stop."""

from __future__ import annotations

from dataclasses import dataclass

from plansearch.config import BudgetName, Settings


@dataclass(frozen=True, kw_only=True)
class TreeShape:
    """The PlanSearch tree: observations asked per node, subset size S, depth L, switches."""

    observations: int
    subset_size: int
    depth: int
    critique: bool
    pseudocode: bool


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Hard limits; None means unlimited. Reaching one ends the search with what it has."""

    max_calls: int | None
    max_output_tokens: int | None
    max_candidates: int | None
    deadline: float | None


@dataclass(frozen=True, kw_only=True)
class Preset:
    """A named budget: a tree shape sized to fit its limits, and the limits themselves."""

    description: str
    tree: TreeShape
    limits: Limits
    samples: int
    """Programs to write for repeated sampling and IdeaSearch."""


PRESETS: dict[BudgetName, Preset] = {
    "quick": Preset(
        description="a few dozen calls: first-order observations only, single subsets",
        tree=TreeShape(observations=5, subset_size=1, depth=1, critique=True, pseudocode=False),
        limits=Limits(max_calls=45, max_output_tokens=None, max_candidates=12, deadline=None),
        samples=10,
    ),
    "default": Preset(
        description="two layers of observations, single subsets, about 150-250 calls",
        tree=TreeShape(observations=6, subset_size=1, depth=2, critique=True, pseudocode=True),
        limits=Limits(max_calls=300, max_output_tokens=None, max_candidates=60, deadline=None),
        samples=40,
    ),
    "full": Preset(
        description="the paper's tree: S=2, L=2, up to 10 observations per node",
        tree=TreeShape(observations=10, subset_size=2, depth=2, critique=True, pseudocode=True),
        limits=Limits(max_calls=None, max_output_tokens=None, max_candidates=None, deadline=None),
        samples=200,
    ),
}


def tree_shape(settings: Settings) -> TreeShape:
    """The preset's tree with any explicit settings on top."""
    base = PRESETS[settings.budget].tree
    return TreeShape(
        observations=settings.observations or base.observations,
        subset_size=base.subset_size if settings.subset_size is None else settings.subset_size,
        depth=settings.depth or base.depth,
        critique=base.critique if settings.critique is None else settings.critique,
        pseudocode=base.pseudocode if settings.pseudocode is None else settings.pseudocode,
    )


def limits(settings: Settings) -> Limits:
    """The preset's limits with any explicit limit on top."""
    base = PRESETS[settings.budget].limits
    return Limits(
        max_calls=settings.max_calls or base.max_calls,
        max_output_tokens=settings.max_output_tokens or base.max_output_tokens,
        max_candidates=settings.max_candidates or base.max_candidates,
        deadline=settings.deadline or base.deadline,
    )


def samples(settings: Settings) -> int:
    """How many programs the sampling strategies write: max_candidates or the preset's."""
    return settings.max_candidates or PRESETS[settings.budget].samples

"""A candidate's headline is its plan's own first idea, never the reply's preamble."""

from __future__ import annotations

import pytest

from plansearch.result import Plan


@pytest.mark.parametrize(
    ("sketch", "headline"),
    [
        ("Here is a sketch of the solution:\n\n1. Sort the intervals by start. Then sweep.",
         "Sort the intervals by start."),
        ("**Approach:** use a heap of ends. Pop one when a room frees.", "use a heap of ends."),
        ("## Fixed sketch\n- Keep a running max; emit when a gap appears.",
         "Keep a running max; emit when a gap appears."),
        ("Sure! Here is the plan.\nWalk the list once, keeping the best so far.",
         "Walk the list once, keeping the best so far."),
        ("Step 1: count each value with a dictionary.", "count each value with a dictionary."),
    ],
)
def test_the_headline_skips_preamble_and_list_marks(sketch: str, headline: str) -> None:
    assert Plan(sketch=sketch).headline() == headline


def test_the_fixed_sketch_wins_and_observations_stand_in_for_a_sketch() -> None:
    plan = Plan(sketch="Use recursion.", fixed_sketch="Here it is:\nUse a stack instead.")
    assert plan.headline() == "Use a stack instead."
    only_preamble = Plan(sketch="Here are some observations.",
                         observations=["Sorting by start makes overlaps adjacent."])
    assert only_preamble.headline() == "Sorting by start makes overlaps adjacent."
    assert Plan().headline() == "(no plan: sampled directly)"


def test_a_long_idea_is_cut_to_one_line() -> None:
    headline = Plan(sketch="Walk " + "and walk " * 40 + "to the end").headline()
    assert len(headline) == 160 and headline.endswith("...")

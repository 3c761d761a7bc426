"""Counts in words."""

import pytest

from plansearch.words import plural


@pytest.mark.parametrize(
    ("count", "noun", "said"),
    [
        (1, "candidate", "1 candidate"),
        (0, "candidate", "0 candidates"),
        (2, "branch", "2 branches"),
        (3, "empty reply", "3 empty replies"),
        (2, "model request", "2 model requests"),
        (2, "strategy", "2 strategies"),
        (2, "key", "2 keys"),
        (2, "search", "2 searches"),
        (1234, "token", "1,234 tokens"),
    ],
)
def test_plural_says_the_count_and_the_noun_for_that_many(count: int, noun: str, said: str) -> None:
    assert plural(count, noun) == said

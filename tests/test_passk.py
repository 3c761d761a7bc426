"""The pass@k estimator against hand-computed values, exact binomials and its edge cases."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest

from plansearch.bench.passk import mean_pass_at_k, pass_at_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 1, 1, 0.25),  # c / n
        (4, 3, 1, 0.75),
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (10, 3, 5, 11 / 12),  # 1 - C(7,5)/C(10,5) = 1 - 21/252
        (5, 2, 3, 0.9),  # n - c == k: 1 - C(3,3)/C(5,3) = 1 - 1/10
        (200, 1, 10, 0.05),  # one correct: k / n
        (6, 6, 1, 1.0),
    ],
)
def test_hand_computed_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_fewer_wrong_programs_than_k_always_passes() -> None:
    assert pass_at_k(5, 3, 3) == 1.0  # n - c = 2 < 3
    assert pass_at_k(10, 10, 10) == 1.0


def test_fewer_programs_than_k_means_all_of_them_are_drawn() -> None:
    assert pass_at_k(3, 1, 10) == 1.0
    assert pass_at_k(3, 0, 10) == 0.0


def test_no_correct_program_is_zero_even_with_no_program_at_all() -> None:
    assert pass_at_k(50, 0, 1) == 0.0
    assert pass_at_k(50, 0, 49) == 0.0
    assert pass_at_k(0, 0, 1) == 0.0  # the public filter kept nothing: n' = 0 counts as 0


def test_matches_exact_binomials_on_every_small_case() -> None:
    for n in range(1, 16):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - Fraction(comb(n - c, k), comb(n, k))
                assert pass_at_k(n, c, k) == pytest.approx(float(exact), abs=1e-12), (n, c, k)


def test_stays_accurate_where_binomials_overflow_floats() -> None:
    n, c, k = 5000, 17, 300
    exact = 1 - Fraction(comb(n - c, k), comb(n, k))
    assert comb(n, k) > 10**400  # far beyond a float
    assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-9)


def test_grows_with_k() -> None:
    values = [pass_at_k(40, 3, k) for k in range(1, 41)]
    assert values == sorted(values)
    assert values[0] == pytest.approx(3 / 40)
    assert values[-1] == 1.0


@pytest.mark.parametrize(("n", "c", "k"), [(4, 1, 0), (4, 5, 1), (4, -1, 1), (-1, 0, 1)])
def test_rejects_impossible_counts(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_mean_over_problems_weighs_each_problem_equally() -> None:
    counts = [(4, 1), (4, 3), (100, 0), (2, 2)]
    assert mean_pass_at_k(counts, 1) == pytest.approx((0.25 + 0.75 + 0 + 1) / 4)
    assert mean_pass_at_k(counts, 2) == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert mean_pass_at_k([], 1) == 0.0

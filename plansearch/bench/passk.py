"""The unbiased pass@k estimator (Chen et al. 2021), plain and after public-test filtering.

For one problem with `n` programs of which `c` are correct, pass@k is the chance that at
least one of `k` programs drawn without replacement is correct: 1 - C(n-c, k) / C(n, k),
computed as a product so that large `n` neither overflows nor loses precision.

Two cases the formula leaves open are fixed here:

- no correct program (c = 0): 0.0, whatever `n` and `k`;
- fewer than `k` wrong programs (n - c < k, which includes n < k when c > 0): 1.0, since
  every draw of k programs (or all of them, when there are fewer than k) holds a correct one.

Public-test filtering (PlanSearch paper, section on HumanEval): keep only the programs that
pass the public tests (n' of them), count those that also pass the hidden tests (c'), and
apply the same estimator: `pass_at_k(n', c', k)`. A problem where no program passes the
public tests (n' = 0, so c' = 0) scores 0.0: a tool that submits only publicly passing
programs has nothing to submit. Problems are averaged with equal weight either way.
"""

from __future__ import annotations

from collections.abc import Iterable


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that `k` of `n` programs, `c` of them correct, include a correct one."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if c == 0:
        return 0.0
    if n - c < k:
        return 1.0
    all_wrong = 1.0
    for drawn in range(n - c + 1, n + 1):
        all_wrong *= 1.0 - k / drawn
    return 1.0 - all_wrong


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """pass@k averaged over problems given as (n, c) pairs; 0.0 for no problem."""
    scores = [pass_at_k(n, c, k) for n, c in counts]
    return sum(scores) / len(scores) if scores else 0.0

"""`post_deploy.binomial_tail` against SciPy's `binom.sf`: the binomial tail that
`ORCH_POST_DEPLOY_CONFIDENCE` judges a ratio rule by, to within 1e-9 for any n up to 10^9."""

from __future__ import annotations

import math
import random

import pytest
from scipy.stats import binom

from post_deploy import binomial_tail

THRESHOLDS = [0.0001, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.9, 0.999]
SIZES = [1, 7, 20, 60, 1_000, 123_457, 10**6, 10**7, 10**8, 10**9]


def cases() -> list[tuple[int, int, float]]:
    """For every size and threshold: k at the mean and at -6..+6 standard deviations from
    it, the ends, and a few at random (seeded)."""
    rng = random.Random(20261207)
    out = []
    for n in SIZES:
        for t in THRESHOLDS:
            mean, sd = n * t, math.sqrt(n * t * (1 - t))
            ks = {0, 1, n, n + 1}
            for z in (-6, -3, -1.5, -0.5, 0, 0.5, 1, 2, 3, 4.5, 6):
                ks.add(int(mean + z * sd))
            ks.update(rng.randint(0, n) for _ in range(3))
            out += [(n, k, t) for k in sorted(ks) if 0 <= k <= n + 1]
    return out


TABLE = cases()


def test_the_table_is_large_and_reaches_a_billion() -> None:
    assert len(TABLE) > 1_000
    assert sum(1 for n, _, _ in TABLE if n == 10**9) > 100


@pytest.mark.parametrize("n,t", [(n, t) for n in SIZES for t in THRESHOLDS])
def test_agrees_with_scipy_to_1e_9(n: int, t: float) -> None:
    worst = 0.0
    for nn, k, tt in TABLE:
        if (nn, tt) != (n, t):
            continue
        want = float(binom.sf(k - 1, n, t))
        got = binomial_tail(n, k, t)
        assert abs(got - want) < 1e-9, f"P[Bin({n}, {t}) >= {k}] = {got!r}, SciPy {want!r}"
        worst = max(worst, abs(got - want))
    assert worst < 1e-9


def test_bad_arguments() -> None:
    assert binomial_tail(10, 0, 0.5) == 1.0
    assert binomial_tail(-5, 3, 0.5) == 0.0
    assert binomial_tail(2**70, 0, 0.5) == 1.0
    with pytest.raises(TypeError, match="t must be a float"):
        binomial_tail(10, 3, "0.5")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n must be an int"):
        binomial_tail(10.0, 3, 0.5)  # type: ignore[arg-type]

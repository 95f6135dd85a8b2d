"""paired.py: intervals checked by simulation, verdicts on hand-made estimates."""
import math

import numpy as np
import pytest

from gilbench_analysis.paired import (Estimate, order_interval, paired_difference, paired_ratio,
                                      paired_relative_difference, t_quantile, unpaired_difference, verdict)

SIMULATIONS = 1000


def coverage(draw, truth, estimator, n, seed):
    rng = np.random.default_rng(seed)
    hits = 0
    for i in range(SIMULATIONS):
        a, b = draw(rng, n)
        e = estimator(a, b, seed=i)
        hits += e.low <= truth <= e.high
    return hits / SIMULATIONS


def normal_rounds(rng, n):
    # a shared per-round drift (the machine) plus each side's own noise
    drift = rng.normal(0, 0.1, n)
    return 1.2 + drift + rng.normal(0, 0.05, n), 1.0 + drift + rng.normal(0, 0.05, n)


def lognormal_rounds(rng, n):
    drift = rng.normal(0, 0.15, n)
    return np.exp(np.log(1.1) + drift + rng.normal(0, 0.06, n)), np.exp(drift + rng.normal(0, 0.06, n))


@pytest.mark.parametrize("n", [10, 30])
def test_bootstrap_difference_covers_about_95_percent_of_normal_rounds(n):
    c = coverage(normal_rounds, 0.2, paired_difference, n, seed=n)
    assert 0.93 <= c <= 0.97, c


@pytest.mark.parametrize("n", [10, 30])
def test_bootstrap_ratio_covers_about_95_percent_of_lognormal_rounds(n):
    c = coverage(lognormal_rounds, 1.1, paired_ratio, n, seed=100 + n)
    assert 0.93 <= c <= 0.97, c


def unpaired_rounds(rng, n):
    # Two sets of rounds from different runs: nothing shared, unequal spreads and sizes.
    return 1.2 + rng.normal(0, 0.1, n), 1.0 + rng.normal(0, 0.05, n + 3)


@pytest.mark.parametrize("n", [10, 30])
def test_unpaired_bootstrap_difference_covers_about_95_percent(n):
    c = coverage(unpaired_rounds, 0.2, unpaired_difference, n, seed=200 + n)
    assert 0.93 <= c <= 0.97, c


def test_unpaired_relative_difference_covers_about_95_percent_at_30_rounds():
    def draw(rng, n):
        return np.exp(np.log(1.1) + rng.normal(0, 0.08, n)), np.exp(rng.normal(0, 0.08, n))

    def relative(a, b, seed):
        return unpaired_difference(a, b, seed=seed, relative=True)
    c = coverage(draw, 0.1, relative, 30, seed=330)   # equal spreads: the ratio of the means is 1.1
    assert 0.93 <= c <= 0.97, c


def test_unpaired_edge_cases():
    e = unpaired_difference([1.1, 1.1, 1.1], [1.0, 1.0, 1.0, float("nan")])
    assert e.method == "unpaired" and e.n == 3
    assert (e.value, e.low, e.high) == pytest.approx((0.1, 0.1, 0.1))      # no spread: a point
    one = unpaired_difference([1.0], [1.0, 2.0])
    assert one.n == 1 and math.isnan(one.low)
    assert math.isnan(unpaired_difference([], [1.0]).value)
    r = unpaired_difference([2.2, 2.2], [2.0, 2.0], relative=True)
    assert r.value == pytest.approx(0.1)


def test_paired_relative_difference_per_round():
    e = paired_relative_difference([2.1, 4.2, 1.05], [2.0, 4.0, 1.0])
    assert e.value == pytest.approx(0.05) and e.low == pytest.approx(0.05) and e.n == 3
    # A round whose b is 0 has no relative difference: dropped.
    assert paired_relative_difference([1.0, 2.1, 4.2], [0.0, 2.0, 4.0]).n == 2


@pytest.mark.parametrize("n", [10, 30])
def test_order_statistic_interval_reaches_its_stated_level(n):
    # The true median of the per-round log ratio is log(1.1) (symmetric noise).
    rng = np.random.default_rng(7)
    hits, level = 0, None
    for _ in range(SIMULATIONS):
        a, b = lognormal_rounds(rng, n)
        e = paired_ratio(a, b, method="order")
        level = e.level
        hits += e.low <= 1.1 <= e.high
    # Binomial noise of 1000 draws: 3 standard errors below the stated level at most.
    assert hits / SIMULATIONS >= level - 3 * math.sqrt(level * (1 - level) / SIMULATIONS), (hits, level)
    assert level >= 0.95


def test_order_interval_small_samples_say_their_real_level():
    assert order_interval([]) == (pytest.approx(math.nan, nan_ok=True), pytest.approx(math.nan, nan_ok=True), 0.0)
    low, high, level = order_interval([3.0, 1.0, 2.0])
    assert (low, high) == (1.0, 3.0) and level == pytest.approx(0.75)
    low, high, level = order_interval(range(1, 7))
    assert (low, high) == (1.0, 6.0) and level == pytest.approx(1 - 2 / 64)


def test_ratio_refuses_unpaired_or_non_positive_values():
    with pytest.raises(ValueError, match="one of each per round"):
        paired_ratio([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        paired_ratio([1.0, 0.0], [1.0, 1.0])
    one = paired_ratio([2.0], [1.0])
    assert one.value == 2.0 and math.isnan(one.low) and one.n == 1


def est(value, low, high, n=10):
    return Estimate(value, low, high, n, 0.95, "bootstrap")


def test_verdicts_decide_on_the_interval():
    assert verdict(est(1.0, 0.98, 1.02), 0.97, 1.03).decision == "within"
    assert verdict(est(1.2, 1.15, 1.25), 0.97, 1.03).decision == "outside"
    assert verdict(est(0.8, 0.75, 0.85), 0.97, 1.03).decision == "outside"
    v = verdict(est(1.0, 0.95, 1.05, n=10), 0.97, 1.03)
    assert v.decision == "undecided"
    # half-width 0.05 must shrink to 0.03: n * (0.05 / 0.03)^2 = 27.8 -> 28 rounds, 18 more
    assert v.more_rounds == 18
    assert "undecided after 10 rounds (interval [0.95, 1.05]); about 18 more rounds" in v.text(est(1.0, 0.95, 1.05))
    assert verdict(est(1.0, math.nan, math.nan), 0.97, 1.03).decision == "undecided"


def test_text():
    assert est(1.114, 1.041, 1.188).text() == "1.11× [1.04, 1.19]"


def test_t_quantiles_match_the_tables():
    # Student's t, two-sided 95 % (0.975 quantile), from any statistics table.
    for df, table in [(1, 12.706), (2, 4.303), (9, 2.262), (29, 2.045), (200, 1.972)]:
        assert t_quantile(0.975, df) == pytest.approx(table, abs=1e-3), df

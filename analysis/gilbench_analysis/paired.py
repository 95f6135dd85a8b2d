"""Comparisons that say how sure they are (groundwork for issue 26): a ratio or difference
between two cells estimated from their per-round paired values, with a 95 % interval, and a
verdict that is a function of that interval (an equivalence test against a band).

Pure functions over numbers (numpy and the standard library); nothing here reads a results
file. Two intervals:

- ``method="bootstrap"``: the mean of the per-round log ratios (a ratio) or differences, with
  an expanded percentile bootstrap interval (Hesterberg, "What teachers should know about the
  bootstrap", The American Statistician 69(4), 2015: the percentile interval at the level whose
  normal quantile is sqrt(n / (n - 1)) times Student's t quantile, which repairs the plain
  percentile interval's under-coverage at small n). Resamples come from a seeded generator, so
  a report is reproducible.
- ``method="order"``: the median of the per-round values, with the exact order-statistic
  (sign-test) interval: distribution-free, its coverage at least the nominal level (the level
  actually reached is returned).

Relative differences ((a - b) / |b| per round: paired_relative_difference) use the same two.
Where the rounds cannot be paired (a reference file, another run), unpaired_difference gives the
difference of the two sides' means with a bootstrap that resamples each side on its own.

Used by the report: the seed table's ratios (method "order", the numbers gilbench's console table
prints), the fidelity verdicts and the functions' speed-ups (bootstrap).

tests/analysis/test_paired.py checks both by simulation (normal and log-normal rounds, n = 10
and 30): the bootstrap interval covers the true value 93-97 % of the time, the order-statistic
interval at least its stated level.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

RESAMPLES = 4000


@dataclass(frozen=True)
class Estimate:
    value: float      # the estimate: a ratio (exp of the mean log ratio, or the median ratio) or a difference
    low: float
    high: float
    n: int            # paired rounds used
    level: float      # the interval's coverage: nominal (bootstrap) or reached (order statistics)
    method: str

    def text(self, digits=2, unit="×"):
        """'1.11× [1.04, 1.19]'"""
        return f"{self.value:.{digits}f}{unit} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def _pairs(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired values need one of each per round, got {a.size} and {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    return a[keep], b[keep]


def _t_cdf_above_zero(x, df):
    """P(0 <= T <= x) for Student's t with `df` degrees of freedom: its density integrated
    numerically (Simpson's rule; the analysis needs numpy only, not scipy)."""
    grid = np.linspace(0.0, x, 4001)
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    pdf = np.exp(log_c - (df + 1) / 2 * np.log1p(grid ** 2 / df))
    h = grid[1] - grid[0]
    return float(h / 3 * (pdf[0] + pdf[-1] + 4 * pdf[1:-1:2].sum() + 2 * pdf[2:-1:2].sum()))


@lru_cache(maxsize=None)
def t_quantile(p, df):
    """Student's t quantile for 0.5 < p < 1, by bisection on the CDF."""
    low, high = 0.0, 1.0
    while 0.5 + _t_cdf_above_zero(high, df) < p:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if 0.5 + _t_cdf_above_zero(mid, df) < p else (low, mid)
    return (low + high) / 2


def _expanded_alpha(n, confidence):
    """The tail probability of the expanded percentile interval for n values."""
    z = math.sqrt(n / (n - 1)) * t_quantile(0.5 + confidence / 2, n - 1)
    return 2 * (1 - NormalDist().cdf(z))


def _binomial_half_cdf(k, n):
    """P(B <= k) for B ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n


def _bootstrap_mean(values, confidence, seed):
    n = values.size
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, n, size=(RESAMPLES, n))].mean(axis=1)
    alpha = _expanded_alpha(n, confidence)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(values.mean()), float(low), float(high)


def order_interval(values, confidence=0.95):
    """(low, high, level): the widest-needed order-statistic interval of the median of
    `values` whose coverage 1 - 2 P(B <= j - 1), B ~ Binomial(n, 1/2), is at least
    `confidence`; [min, max] with its own (lower) level when n is too small for it."""
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n == 0:
        return math.nan, math.nan, 0.0
    best_j, best_level = 1, 1 - 2 * _binomial_half_cdf(0, n)
    for j in range(2, (n + 1) // 2 + 1):
        level = 1 - 2 * _binomial_half_cdf(j - 1, n)
        if level < confidence:
            break
        best_j, best_level = j, level
    return float(v[best_j - 1]), float(v[n - best_j]), float(best_level)


def _estimate(values, confidence, method, seed, back):
    n = values.size
    if n < 2:
        v = float(values[0]) if n else math.nan
        return Estimate(back(v), math.nan, math.nan, n, 0.0, method)
    if method == "bootstrap":
        centre, low, high = _bootstrap_mean(values, confidence, seed)
        level = confidence
    elif method == "order":
        centre = float(np.median(values))
        low, high, level = order_interval(values, confidence)
    else:
        raise ValueError(f"method {method!r} is not one of: bootstrap, order")
    return Estimate(back(centre), back(low), back(high), n, level, method)


def paired_ratio(a, b, confidence=0.95, method="bootstrap", seed=0):
    """a / b from rounds that ran a and b close in time: per round log(a_i / b_i), so the
    machine's drift between rounds cancels within each pair."""
    a, b = _pairs(a, b)
    if np.any(a <= 0) or np.any(b <= 0):
        raise ValueError("a ratio needs positive values (times)")
    return _estimate(np.log(a / b), confidence, method, seed, math.exp)


def paired_difference(a, b, confidence=0.95, method="bootstrap", seed=0):
    """a - b from paired rounds (e.g. emulated minus real, per round)."""
    a, b = _pairs(a, b)
    return _estimate(a - b, confidence, method, seed, float)


@dataclass(frozen=True)
class Verdict:
    decision: str          # "within" | "outside" | "undecided"
    more_rounds: int = 0   # undecided: about this many more rounds would decide it (0: not estimable)

    def text(self, est: Estimate):
        if self.decision != "undecided":
            return f"{self.decision} band"
        more = f"; about {self.more_rounds} more rounds would decide it" if self.more_rounds else ""
        return f"undecided after {est.n} rounds (interval [{est.low:.3g}, {est.high:.3g}]){more}"


def verdict(est: Estimate, band_low: float, band_high: float) -> Verdict:
    """An equivalence test on the interval: within when the whole interval lies in the band,
    outside when it lies wholly outside, else undecided, with the rounds that would narrow the
    interval (as 1/sqrt(n)) to fit between the estimate and the nearer band edge, or to clear
    the edge it straddles."""
    if not (math.isfinite(est.low) and math.isfinite(est.high)):
        return Verdict("undecided")
    if band_low <= est.low and est.high <= band_high:
        return Verdict("within")
    if est.high < band_low or est.low > band_high:
        return Verdict("outside")
    half = (est.high - est.low) / 2
    room = min(abs(est.value - band_low), abs(band_high - est.value))
    if half <= 0 or room <= 0:
        return Verdict("undecided")
    needed = math.ceil(est.n * (half / room) ** 2)
    return Verdict("undecided", max(needed - est.n, 1))


def _welch(a, b, relative):
    """(variance of the unbiased difference of means, of its plug-in version, Welch's degrees of
    freedom); the relative difference's by the delta method around the means."""
    na, nb = a.size, b.size
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    if relative:
        mb = abs(b.mean())
        ratio = a.mean() / b.mean()
        va, vb = va / mb ** 2, vb * ratio ** 2 / mb ** 2
    unbiased = va + vb
    plugin = va * (na - 1) / na + vb * (nb - 1) / nb
    denominator = va ** 2 / (na - 1) + vb ** 2 / (nb - 1)
    df = unbiased ** 2 / denominator if denominator > 0 else float(min(na, nb) - 1)
    return unbiased, plugin, df


def unpaired_difference(a, b, confidence=0.95, seed=0, relative=False):
    """a - b (relative: (a - b) / |b|, of the means) from two sets of rounds that cannot be
    paired (another run, a reference file): the difference of the means with a bootstrap
    interval that resamples each side on its own. Expanded like the paired one (Hesterberg
    2015), for two samples: the percentile interval at the level whose normal quantile is
    Welch's t quantile times sqrt(unbiased / plug-in variance of the difference), which repairs
    the plain percentile interval's under-coverage at small n. Non-finite values are dropped;
    with fewer than 2 on a side the interval is NaN."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    n = min(a.size, b.size)
    method = "unpaired"

    def diff(ma, mb):
        return (ma - mb) / np.abs(mb) if relative else ma - mb

    if a.size == 0 or b.size == 0:
        return Estimate(math.nan, math.nan, math.nan, n, 0.0, method)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = float(diff(a.mean(), b.mean()))
    if n < 2 or not math.isfinite(centre):
        return Estimate(centre, math.nan, math.nan, n, 0.0, method)
    unbiased, plugin, df = _welch(a, b, relative)
    if unbiased <= 0:
        return Estimate(centre, centre, centre, n, confidence, method)
    rng = np.random.default_rng(seed)
    ma = a[rng.integers(0, a.size, size=(RESAMPLES, a.size))].mean(axis=1)
    mb = b[rng.integers(0, b.size, size=(RESAMPLES, b.size))].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = diff(ma, mb)
    d = d[np.isfinite(d)]
    z = math.sqrt(unbiased / plugin) * t_quantile(0.5 + confidence / 2, round(max(df, 1.0), 2)) if plugin > 0 \
        else math.inf
    alpha = 2 * (1 - NormalDist().cdf(z))
    low, high = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    return Estimate(centre, float(low), float(high), n, confidence, method)


def paired_relative_difference(a, b, confidence=0.95, method="bootstrap", seed=0):
    """(a - b) / |b| per round, from paired rounds: the mean (bootstrap) or median (order) of
    the per-round relative differences. Rounds with b = 0 are dropped."""
    a, b = _pairs(a, b)
    keep = b != 0
    a, b = a[keep], b[keep]
    return _estimate((a - b) / np.abs(b), confidence, method, seed, float)

"""Statistics of the leaderboard and gate against known values (and scipy when it is installed)."""

from __future__ import annotations

import math

import pytest

from reflectevo_bench.errors import BenchError
from reflectevo_bench.leaderboards.compare import (
    binom_cdf_half,
    bootstrap_diff_ci,
    compare_verdicts,
    mcnemar_exact,
    mcnemar_one_sided,
    metric_round,
)


def test_binomial_cdf_known_values():
    assert binom_cdf_half(0, 1) == 0.5
    assert binom_cdf_half(1, 3) == 0.5
    assert binom_cdf_half(2, 10) == pytest.approx(56 / 1024)
    assert binom_cdf_half(-1, 5) == 0.0 and binom_cdf_half(5, 5) == 1.0
    assert binom_cdf_half(500, 2000) == pytest.approx(0.0, abs=1e-100)  # big n: exact integers, no overflow


@pytest.mark.parametrize(
    "b,c,expected",
    [
        (0, 0, 1.0),
        (1, 0, 1.0),
        (5, 0, 0.0625),
        (0, 5, 0.0625),
        (6, 0, 0.03125),
        (10, 2, 0.0385742187),
        (3, 3, 1.0),
        (15, 5, 0.0413895),
    ],
)
def test_mcnemar_exact_known_values(b, c, expected):
    # two-sided exact McNemar = 2 × binomial tail: e.g. (10, 2): 2 × 79/4096 = 0.03857
    assert mcnemar_exact(b, c) == pytest.approx(expected, abs=1e-6)


def test_mcnemar_one_sided_known_values():
    assert mcnemar_one_sided(0, 0) == 1.0
    assert mcnemar_one_sided(5, 0) == pytest.approx(1 / 32)
    assert mcnemar_one_sided(10, 2) == pytest.approx(79 / 4096)
    assert mcnemar_one_sided(2, 10) == pytest.approx(1 - 79 / 4096 + math.comb(12, 2) / 4096)
    assert mcnemar_one_sided(3, 3) == pytest.approx(0.65625)


@pytest.mark.parametrize("b,c", [(0, 1), (3, 9), (12, 4), (40, 25), (7, 7), (120, 90), (1, 30)])
def test_mcnemar_matches_scipy(b, c):
    stats = pytest.importorskip("scipy.stats")
    assert mcnemar_exact(b, c) == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)
    assert mcnemar_one_sided(b, c) == pytest.approx(
        stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue, rel=1e-9
    )


def test_bootstrap_seeded_and_sane():
    a = [True] * 30 + [False] * 10
    b = [True] * 20 + [False] * 20
    ci1 = bootstrap_diff_ci([(a, b)], 2000, seed=7)
    assert ci1 == bootstrap_diff_ci([(a, b)], 2000, seed=7)
    assert ci1 != bootstrap_diff_ci([(a, b)], 2000, seed=8)
    lo, hi = ci1
    assert lo < 0.25 < hi  # observed difference 0.25 lies inside
    assert 0.05 < lo and hi < 0.45
    # identical verdicts: no spread
    assert bootstrap_diff_ci([(a, a)], 500, seed=0) == (0.0, 0.0)
    # discordant docs always one way: the CI never crosses 0
    assert bootstrap_diff_ci([([True] * 10, [False] * 10)], 200, seed=0) == (1.0, 1.0)


def test_bootstrap_stratified_keeps_task_sizes():
    strata = [([True] * 10, [False] * 10), ([False] * 30, [False] * 30)]
    lo, hi = bootstrap_diff_ci(strata, 300, seed=1)
    assert lo == hi == pytest.approx(10 / 40)  # every resample keeps 10 docs from the first task


def test_compare_verdicts_counts():
    a = [True, True, True, False, False, True]
    b = [True, False, False, True, False, True]
    r = compare_verdicts([(a, b)], alpha=0.05, n_boot=100, seed=0)
    assert (r["n"], r["a_only"], r["b_only"]) == (6, 2, 1)
    assert r["diff"] == pytest.approx(4 / 6 - 3 / 6)
    assert r["mcnemar_p"] == pytest.approx(1.0)
    assert r["significant"] is False


def test_metric_round():
    assert metric_round("acc@t2", 2) == 2
    assert metric_round("acc@t1", 3) == 1
    for bad in ("acc@t3", "acc", "delta", "acc@t0"):
        with pytest.raises(BenchError):
            metric_round(bad, 2)

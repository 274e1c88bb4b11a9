"""Paired statistics on per-doc verdicts: exact McNemar tests and a seeded paired bootstrap.

For docs shared by runs A and B at round k (``acc@tk``): ``a_only`` = docs A gets right and B wrong,
``b_only`` = the reverse (the discordant pairs). Under "no difference" each discordant doc is a fair coin,
so the exact McNemar test is a binomial test on ``a_only`` out of ``a_only + b_only`` with p = 1/2.
The difference ``acc_A − acc_B`` gets a percentile bootstrap CI that resamples docs (within each task when
tasks are pooled), from a fixed seed.
"""

from __future__ import annotations

import re
from fractions import Fraction
from math import comb
from typing import Any

import numpy as np

from reflectevo_bench.errors import BenchError
from reflectevo_bench.leaderboards.load import Evaluation

DEFAULT_BOOTSTRAP = 2000
DEFAULT_SEED = 0
_METRIC = re.compile(r"^acc@t(\d+)$")


def binom_cdf_half(k: int, n: int) -> float:
    """P(X ≤ k) for X ~ Binomial(n, 1/2), exact (integer arithmetic)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(Fraction(sum(comb(n, i) for i in range(k + 1)), 2**n))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact McNemar p-value: 2 × the smaller binomial tail, capped at 1."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    return min(1.0, 2 * binom_cdf_half(min(a_only, b_only), n))


def mcnemar_one_sided(losses: int, gains: int) -> float:
    """One-sided exact McNemar p-value for "B is worse than A": P(X ≥ losses), X ~ Bin(losses + gains, 1/2)."""
    n = losses + gains
    if n == 0:
        return 1.0
    return 1.0 - binom_cdf_half(losses - 1, n)


def bootstrap_diff_ci(
    strata: list[tuple[list[bool], list[bool]]],
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile CI of mean(a) − mean(b) over all docs, resampling docs with replacement within each stratum."""
    total = sum(len(a) for a, _ in strata)
    if total == 0 or n_boot < 1:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    sums = np.zeros(n_boot)
    for a, b in strata:
        diffs = np.asarray(a, dtype=np.int8) - np.asarray(b, dtype=np.int8)
        if len(diffs) == 0:
            continue
        idx = rng.integers(0, len(diffs), size=(n_boot, len(diffs)))
        sums += diffs[idx].sum(axis=1)
    means = sums / total
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return (round(float(lo), 6), round(float(hi), 6))


def metric_round(metric: str, attempts: int) -> int:
    """``acc@tk`` → k, checked against the number of rounds the runs made."""
    m = _METRIC.match(metric.strip())
    if not m:
        raise BenchError(f"--metric {metric!r} is not supported: use acc@t1 … acc@t{attempts}")
    k = int(m.group(1))
    if not 1 <= k <= attempts:
        raise BenchError(f"--metric {metric}: these runs made {attempts} round(s); use acc@t1 … acc@t{attempts}")
    return k


def paired(a: Evaluation, b: Evaluation, task: str, k: int) -> tuple[list[bool], list[bool]]:
    """Per-doc verdicts at round k on the docs both evaluations hold, in a fixed (sorted-key) order."""
    keys = sorted(set(a.tasks[task]) & set(b.tasks[task]))
    return ([a.tasks[task][d].correct_at[k - 1] for d in keys], [b.tasks[task][d].correct_at[k - 1] for d in keys])


def compare_verdicts(
    strata: list[tuple[list[bool], list[bool]]], alpha: float, n_boot: int, seed: int
) -> dict[str, Any]:
    """A vs B on paired verdicts (pooled over strata): accuracies, difference with bootstrap CI, McNemar."""
    a = [x for s in strata for x in s[0]]
    b = [x for s in strata for x in s[1]]
    n = len(a)
    a_only = sum(1 for x, y in zip(a, b) if x and not y)
    b_only = sum(1 for x, y in zip(a, b) if y and not x)
    acc_a, acc_b = (sum(a) / n, sum(b) / n) if n else (0.0, 0.0)
    lo, hi = bootstrap_diff_ci(strata, n_boot, seed)
    p = mcnemar_exact(a_only, b_only)
    return {
        "n": n,
        "acc_a": acc_a,
        "acc_b": acc_b,
        "diff": acc_a - acc_b,
        "diff_ci95": [lo, hi],
        "a_only": a_only,
        "b_only": b_only,
        "mcnemar_p": p,
        "significant": p < alpha,
    }


def compare(
    a: Evaluation, b: Evaluation, k: int, alpha: float, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """Per task and pooled over every shared doc of every task."""
    tasks = sorted(set(a.tasks) & set(b.tasks))
    strata = {t: paired(a, b, t, k) for t in tasks}
    out = {"tasks": {t: compare_verdicts([s], alpha, n_boot, seed) for t, s in strata.items()}}
    out["overall"] = compare_verdicts(list(strata.values()), alpha, n_boot, seed)
    return out

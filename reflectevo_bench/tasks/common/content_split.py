"""Seeded train/test splits chosen by a hash of each row's content, not by row order.

A dataset published as one split (xLAM-60k, TinyZero's Countdown tasks) is cut into train and test by ranking
every row on ``sha256(seed/content key)`` and putting the lowest ``test_size`` ranks in test. The choice depends
only on the rows' content and the seed, so it is the same on every machine, whatever order the rows are read in;
rows with the same content key share a hash and always land on the same side (content-disjoint splits). Each
split keeps the rows' own order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from reflectevo_bench.errors import BenchError

Rows = list[dict[str, Any]]


def test_count(test_size: Any, n: int, task: str) -> int:
    """``test_size`` as a row count: an int is a count, a float in (0, 1) a fraction of the ``n`` rows."""
    try:
        value = float(test_size)
    except (TypeError, ValueError):
        raise BenchError(
            f"task '{task}': metadata test_size must be a row count or a fraction in (0, 1), got {test_size!r}"
        ) from None
    if 0 < value < 1:
        return max(1, round(value * n))
    if value < 1 or value != int(value):
        raise BenchError(
            f"task '{task}': metadata test_size must be a row count >= 1 or a fraction in (0, 1), got {test_size!r}"
        )
    if value > n:
        raise BenchError(
            f"task '{task}': metadata test_size {int(value)} is more than the {n} rows of the data: "
            "pass a smaller test_size (e.g. --metadata test_size=0.2)"
        )
    return int(value)


def content_split(
    rows: Rows, key: Callable[[dict[str, Any]], str], test_size: Any, seed: Any, task: str
) -> dict[str, Rows]:
    """``{"train": ..., "test": ...}``: the ``test_size`` rows of lowest ``sha256(seed/key(row))`` in test (rows of
    one content key stay together, so test can hold a few more when the cut falls inside such a group)."""
    keys = [key(r) for r in rows]
    digests = [hashlib.sha256(f"{seed}/{k}".encode()).hexdigest() for k in keys]
    order = sorted(range(len(rows)), key=lambda i: digests[i])
    n_test = test_count(test_size, len(rows), task)
    while 0 < n_test < len(order) and digests[order[n_test]] == digests[order[n_test - 1]]:
        n_test += 1  # never cut between rows of identical content
    test = set(order[:n_test])
    return {
        "train": [r for i, r in enumerate(rows) if i not in test],
        "test": [r for i, r in enumerate(rows) if i in test],
    }

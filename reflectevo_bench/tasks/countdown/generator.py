"""Seeded Countdown problems whose targets are proven reachable by exhaustive search."""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

from reflectevo_bench.tasks.countdown.solver import reachable, solve

MIN_TARGET, MAX_TARGET = 10, 100


def generate(num_examples: int, seed: int) -> list[dict[str, Any]]:
    """``num_examples`` problems, identical for the same seed; the first N are the same for any larger N."""
    rng = random.Random(seed)
    rows = []
    while len(rows) < num_examples:
        nums = [rng.randint(1, 25) for _ in range(rng.choice((3, 4)))]
        candidates = sorted(
            int(v) for v in reachable(tuple(sorted(nums)))
            if v.denominator == 1 and MIN_TARGET <= v <= MAX_TARGET and int(v) not in nums
        )
        if not candidates:
            continue
        target = rng.choice(candidates)
        solution = solve(nums, target)
        assert solution is not None
        rows.append({"id": len(rows), "nums": nums, "target": target, "solution": solution})
    return rows


def build_dataset(num_examples: int = 500, seed: int = 2505, **_: Any):
    """lm-eval ``custom_dataset`` hook (receives the task's metadata as keyword arguments)."""
    import datasets

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(generate(int(num_examples), int(seed)))})


def is_reachable(nums: list[int], target: int) -> bool:
    return Fraction(target) in reachable(tuple(sorted(nums)))

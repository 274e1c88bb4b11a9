"""Seeded Countdown problems whose targets are proven reachable by exhaustive search."""

from __future__ import annotations

import json
import os
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

from reflectevo_bench.tasks.countdown.solver import reachable, solve

MIN_TARGET, MAX_TARGET = 10, 100
GENERATOR_VERSION = 1  # bump whenever generate() would produce different rows


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

    return datasets.DatasetDict({"test": datasets.Dataset.from_list(cached_generate(int(num_examples), int(seed)))})


def cached_generate(num_examples: int, seed: int) -> list[dict[str, Any]]:
    """``generate`` through a file cache (the search takes seconds); the file name carries the generator version."""
    root = Path(os.environ.get("REFLECTEVO_BENCH_CACHE", Path.home() / ".cache" / "reflectevo-bench"))
    path = root / "countdown" / f"v{GENERATOR_VERSION}-seed{seed}-n{num_examples}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    rows = generate(num_examples, seed)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(rows), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home still works, only slower
    return rows


def is_reachable(nums: list[int], target: int) -> bool:
    return Fraction(target) in reachable(tuple(sorted(nums)))

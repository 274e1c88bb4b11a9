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


def problem_key(nums: list[int], target: int) -> tuple[tuple[int, ...], int]:
    """A problem up to the order of its numbers (what train/test disjointness is checked on)."""
    return tuple(sorted(int(n) for n in nums)), int(target)


def generate(num_examples: int, seed: int, exclude: frozenset | set = frozenset()) -> list[dict[str, Any]]:
    """``num_examples`` problems, identical for the same seed; the first N are the same for any larger N.

    A drawn problem whose ``problem_key`` is in ``exclude`` is skipped (the random draws go on as if it had been
    kept, so the rows that remain do not depend on what was excluded before them)."""
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
        if problem_key(nums, target) in exclude:
            continue
        solution = solve(nums, target)
        assert solution is not None
        rows.append({"id": len(rows), "nums": nums, "target": target, "solution": solution})
    return rows


def build_splits(num_examples: int = 500, seed: int = 2505, num_train_examples: int = 1000,
                 train_seed: int = 2506) -> dict[str, list[dict[str, Any]]]:
    """The test split (``num_examples`` from ``seed``) and a train split from ``train_seed`` holding no test problem."""
    test = cached_generate(num_examples, seed)
    train = cached_generate(num_train_examples, train_seed, exclude_split=(num_examples, seed))
    return {"train": train, "test": test}


def build_dataset(num_examples: int = 500, seed: int = 2505, num_train_examples: int = 1000,
                  train_seed: int = 2506, **_: Any):
    """lm-eval ``custom_dataset`` hook (receives the task's metadata as keyword arguments)."""
    import datasets

    splits = build_splits(int(num_examples), int(seed), int(num_train_examples), int(train_seed))
    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})


def cached_generate(num_examples: int, seed: int, exclude_split: tuple[int, int] | None = None
                    ) -> list[dict[str, Any]]:
    """``generate`` through a file cache (the search takes seconds); the file name carries the generator version.

    ``exclude_split=(n, seed)`` leaves out every problem of ``generate(n, seed)`` (how train avoids test)."""
    root = Path(os.environ.get("REFLECTEVO_BENCH_CACHE", Path.home() / ".cache" / "reflectevo-bench"))
    name = f"v{GENERATOR_VERSION}-seed{seed}-n{num_examples}"
    if exclude_split is not None:
        name += f"-without-seed{exclude_split[1]}-n{exclude_split[0]}"
    path = root / "countdown" / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    exclude: frozenset = frozenset()
    if exclude_split is not None:
        held_out = cached_generate(*exclude_split)
        exclude = frozenset(problem_key(r["nums"], r["target"]) for r in held_out)
    rows = generate(num_examples, seed, exclude)
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

"""Seeded Countdown problems whose targets are proven reachable by exhaustive search.

The generator's parameters are the task's metadata (set in a task YAML or with ``run --metadata``, e.g.
``--metadata '{"numbers": [4], "max_number": 50, "max_target": 500, "num_examples": 2000}'``):

- ``numbers``: how many numbers a problem has, one count or a list drawn from uniformly (default [3, 4]);
- ``min_number`` / ``max_number``: the range of each number (default 1–25);
- ``min_target`` / ``max_target``: the range of targets (default 10–100);
- ``num_examples`` / ``seed``: the test split's size and seed; ``num_train_examples`` / ``train_seed``: train's.

The defaults give the same rows as before these parameters existed (the same cache files too).
"""

from __future__ import annotations

import json
import os
import random
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.countdown.solver import reachable, solve

MIN_TARGET, MAX_TARGET = 10, 100
MAX_MISSES = 1000  # draws in a row that yield no problem before the generator gives up
GENERATOR_VERSION = 1  # bump whenever generate() would produce different rows


def problem_key(nums: list[int], target: int) -> tuple[tuple[int, ...], int]:
    """A problem up to the order of its numbers (what train/test disjointness is checked on)."""
    return tuple(sorted(int(n) for n in nums)), int(target)


class Shape(NamedTuple):
    """What problems the generator draws (see the module docstring). A NamedTuple, not a dataclass: lm-eval loads
    this file by path for ``!function``, outside ``sys.modules``, where a dataclass cannot be built."""

    numbers: tuple[int, ...] = (3, 4)
    min_number: int = 1
    max_number: int = 25
    min_target: int = MIN_TARGET
    max_target: int = MAX_TARGET

    @classmethod
    def from_metadata(
        cls,
        numbers: Any = (3, 4),
        min_number: Any = 1,
        max_number: Any = 25,
        min_target: Any = MIN_TARGET,
        max_target: Any = MAX_TARGET,
    ) -> Shape:
        try:
            counts = tuple(int(n) for n in (numbers if isinstance(numbers, (list, tuple)) else [numbers]))
            shape = cls(counts, int(min_number), int(max_number), int(min_target), int(max_target))
        except (TypeError, ValueError):
            raise BenchError(
                "countdown: metadata numbers, min_number, max_number, min_target and max_target must "
                "be integers (numbers: one count or a list of counts)"
            ) from None
        if not counts or any(n < 2 or n > 5 for n in counts):
            raise BenchError(f"countdown: metadata numbers must be counts from 2 to 5, got {numbers!r}")
        if not 1 <= shape.min_number <= shape.max_number or shape.min_target > shape.max_target:
            raise BenchError("countdown: metadata needs 1 <= min_number <= max_number and min_target <= max_target")
        return shape

    def tag(self) -> str:
        """'' for the default shape (so its cache files keep their names), else a short name of the parameters."""
        if self == Shape():
            return ""
        return (
            f"-n{'_'.join(map(str, self.numbers))}-x{self.min_number}_{self.max_number}"
            f"-t{self.min_target}_{self.max_target}"
        )


def generate(
    num_examples: int, seed: int, exclude: frozenset | set = frozenset(), shape: Shape = Shape()
) -> list[dict[str, Any]]:
    """``num_examples`` problems, identical for the same seed; the first N are the same for any larger N.

    A drawn problem whose ``problem_key`` is in ``exclude`` is skipped (the random draws go on as if it had been
    kept, so the rows that remain do not depend on what was excluded before them)."""
    rng = random.Random(seed)
    rows = []
    misses = 0
    while len(rows) < num_examples:
        misses += 1
        if misses > MAX_MISSES:  # a shape with (almost) no reachable target must not hang the run
            raise BenchError(
                f"countdown: only {len(rows)} of {num_examples} problems found ({MAX_MISSES} draws in a "
                "row found none): widen the metadata ranges (min/max_number, min/max_target) or change "
                "numbers"
            )
        nums = [rng.randint(shape.min_number, shape.max_number) for _ in range(rng.choice(shape.numbers))]
        candidates = sorted(
            int(v)
            for v in reachable(tuple(sorted(nums)))
            if v.denominator == 1 and shape.min_target <= v <= shape.max_target and int(v) not in nums
        )
        if not candidates:
            continue
        target = rng.choice(candidates)
        if problem_key(nums, target) in exclude:
            continue
        solution = solve(nums, target)
        assert solution is not None
        rows.append({"id": len(rows), "nums": nums, "target": target, "solution": solution})
        misses = 0
    return rows


def build_splits(
    num_examples: int = 500,
    seed: int = 2505,
    num_train_examples: int = 1000,
    train_seed: int = 2506,
    shape: Shape = Shape(),
) -> dict[str, list[dict[str, Any]]]:
    """The test split (``num_examples`` from ``seed``) and a train split from ``train_seed`` holding no test problem."""
    test = cached_generate(num_examples, seed, shape=shape)
    train = cached_generate(num_train_examples, train_seed, exclude_split=(num_examples, seed), shape=shape)
    return {"train": train, "test": test}


def build_dataset(
    num_examples: int = 500,
    seed: int = 2505,
    num_train_examples: int = 1000,
    train_seed: int = 2506,
    numbers: Any = (3, 4),
    min_number: Any = 1,
    max_number: Any = 25,
    min_target: Any = MIN_TARGET,
    max_target: Any = MAX_TARGET,
    **_: Any,
):
    """lm-eval ``custom_dataset`` hook (receives the task's metadata as keyword arguments)."""
    import datasets

    shape = Shape.from_metadata(numbers, min_number, max_number, min_target, max_target)
    splits = build_splits(int(num_examples), int(seed), int(num_train_examples), int(train_seed), shape)
    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})


def cached_generate(
    num_examples: int, seed: int, exclude_split: tuple[int, int] | None = None, shape: Shape = Shape()
) -> list[dict[str, Any]]:
    """``generate`` through a file cache (the search takes seconds); the file name carries the generator version.

    ``exclude_split=(n, seed)`` leaves out every problem of ``generate(n, seed)`` (how train avoids test)."""
    root = Path(os.environ.get("REFLECTEVO_BENCH_CACHE", Path.home() / ".cache" / "reflectevo-bench"))
    name = f"v{GENERATOR_VERSION}{shape.tag()}-seed{seed}-n{num_examples}"
    if exclude_split is not None:
        name += f"-without-seed{exclude_split[1]}-n{exclude_split[0]}"
    path = root / "countdown" / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    exclude: frozenset = frozenset()
    if exclude_split is not None:
        held_out = cached_generate(*exclude_split, shape=shape)
        exclude = frozenset(problem_key(r["nums"], r["target"]) for r in held_out)
    rows = generate(num_examples, seed, exclude, shape)
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

"""Exhaustive search over Countdown expressions: every value reachable using all numbers exactly once."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from itertools import combinations


@lru_cache(maxsize=4096)
def reachable(numbers: tuple[int, ...]) -> dict[Fraction, str]:
    """Map each value reachable with all of ``numbers`` (each exactly once) to one expression for it."""
    return dict(_reach(tuple(sorted(numbers))))


@lru_cache(maxsize=65536)
def _reach(nums: tuple[int, ...]) -> tuple[tuple[Fraction, str], ...]:
    if len(nums) == 1:
        return ((Fraction(nums[0]), str(nums[0])),)
    out: dict[Fraction, str] = {}
    idx = range(len(nums))
    for size in range(1, len(nums) // 2 + 1):
        for left_idx in combinations(idx, size):
            if size * 2 == len(nums) and 0 not in left_idx:
                continue  # the same split seen from the other side
            left = tuple(nums[i] for i in left_idx)
            right = tuple(nums[i] for i in idx if i not in left_idx)
            for a, ea in _reach(left):
                for b, eb in _reach(right):
                    for value, expr in _combine(a, ea, b, eb):
                        out.setdefault(value, expr)
    return tuple(out.items())


def _combine(a: Fraction, ea: str, b: Fraction, eb: str):
    yield a + b, f"({ea} + {eb})"
    yield a * b, f"({ea} * {eb})"
    yield a - b, f"({ea} - {eb})"
    yield b - a, f"({eb} - {ea})"
    if b != 0:
        yield a / b, f"({ea} / {eb})"
    if a != 0:
        yield b / a, f"({eb} / {ea})"


def solve(numbers: list[int], target: int) -> str | None:
    """One expression using every number once that equals ``target``, or None if there is none."""
    expr = reachable(tuple(sorted(numbers))).get(Fraction(target))
    return expr[1:-1] if expr and expr.startswith("(") and len(numbers) > 1 else expr

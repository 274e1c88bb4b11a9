"""Seeded arithmetic problems (+ - * / over small whole numbers) whose answers are computed exactly.

Every intermediate value is a whole number >= 0 (subtraction never goes below zero, division is always exact),
so the answer is a non-negative integer. Problems are unique within a split, and the train split never holds a
problem of the test split, up to reordering the operands of + and * (``canonical``).
"""

from __future__ import annotations

import ast
import random
from typing import Any

from reflectevo_bench.tasks.countdown.expression import evaluate, parse

LEVELS = (1, 2, 3)  # number of operations
_MAX_DRAWS = 200  # random draws per requested problem (levels 2-3) before giving up with an error


def one_op_problems() -> list[tuple[str, int]]:
    """Level 1, the whole space: a + b (1-40), a - b (b < a <= 40), a * b (2-12 times 2-20), a / b (b 2-12,
    quotient 2-20); one entry per problem up to operand order. About 2,000 problems: level 1 is drawn from them
    without replacement, so its mix of operations follows their counts (mostly + and -)."""
    out = [(f"{a} + {b}", a + b) for a in range(1, 41) for b in range(a, 41)]
    out += [(f"{a} - {b}", a - b) for a in range(2, 41) for b in range(1, a)]
    out += [(f"{a} * {b}", a * b) for a in range(2, 13) for b in range(a, 21)]
    out += [(f"{b * q} / {b}", q) for b in range(2, 13) for q in range(2, 21)]
    return out


def _shown(rng: random.Random, problem: tuple[str, int]) -> tuple[str, int]:
    """The operands of + and * in a random order (the space lists each pair once, smaller first)."""
    text, value = problem
    a, op, b = text.split()
    if op in "+*" and rng.random() < 0.5:
        a, b = b, a
    return f"{a} {op} {b}", value


def _apply(op: str, a: int, b: int) -> int | None:
    """a op b when it stays a whole number >= 0 and products stay within 144; else None."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b if b <= a else None
    if op == "*":
        return a * b if a * b <= 144 else None
    return a // b if b >= 2 and a % b == 0 else None


def _expression(rng: random.Random, ops: int) -> tuple[str, int, str | None] | None:
    """(text, value, top operator) of a random expression with ``ops`` operations over the numbers 1-20, or None
    when a step would leave the whole numbers >= 0. Parentheses keep the grouping the value was computed with."""
    if ops == 0:
        n = rng.randint(1, 20)
        return str(n), n, None
    left_ops = rng.randint(0, ops - 1)
    left, right = _expression(rng, left_ops), _expression(rng, ops - 1 - left_ops)
    if left is None or right is None:
        return None
    op = rng.choice("+-*/")
    value = _apply(op, left[1], right[1])
    if value is None:
        return None
    low = ("+", "-")
    if op in "*/":
        wrap_left, wrap_right = left[2] in low, right[2] is not None  # a * (b * c) keeps its grouping too
    else:
        wrap_left, wrap_right = False, op == "-" and right[2] in low
    text = f"{f'({left[0]})' if wrap_left else left[0]} {op} {f'({right[0]})' if wrap_right else right[0]}"
    return text, value, op


def canonical(expression: str) -> str:
    """The problem up to the order of the operands of + and * (so train never holds '3 + 4' when test has '4 + 3')."""

    def canon(node: ast.AST) -> str:
        if isinstance(node, ast.Constant):
            return str(node.value)
        assert isinstance(node, ast.BinOp)
        left, right = canon(node.left), canon(node.right)
        sym = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(node.op)]
        if sym in "+*":
            left, right = sorted((left, right))
        return f"({left} {sym} {right})"

    return canon(parse(expression).body)


def generate(
    num_examples: int, seed: int, level: int, exclude: set[str] | frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """``num_examples`` distinct problems, identical for the same arguments; the first N are the same for any
    larger N. Problems whose ``canonical`` form is in ``exclude`` are skipped.

    Level 1 walks a seeded shuffle of the whole one-operation space; levels 2 and 3 draw random expressions.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level}")
    rng = random.Random(f"arith-{level}-{seed}")
    if level == 1:
        space = one_op_problems()
        rng.shuffle(space)
        draws = (_shown(rng, p) for p in space)
    else:
        draws = (e and e[:2] for e in (_expression(rng, level) for _ in range(_MAX_DRAWS * max(1, num_examples))))
    seen = set(exclude)
    rows: list[dict[str, Any]] = []
    for problem in draws:
        if len(rows) == num_examples:
            break
        if problem is None or canonical(problem[0]) in seen:
            continue
        expression, answer = problem
        assert evaluate(parse(expression)) == answer  # proven by an independent exact evaluation
        seen.add(canonical(expression))
        rows.append({"id": len(rows), "level": level, "expression": expression, "answer": answer})
    if len(rows) < num_examples:
        raise ValueError(
            f"arith level {level} has fewer than {num_examples} distinct problems left "
            f"({len(rows)} after excluding {len(exclude)})"
        )
    return rows


def build_splits(
    level: int, num_examples: int, seed: int, num_train_examples: int, train_seed: int
) -> dict[str, list[dict[str, Any]]]:
    test = generate(num_examples, seed, level)
    train = generate(num_train_examples, train_seed, level, exclude={canonical(r["expression"]) for r in test})
    return {"train": train, "test": test}


def build_dataset(
    level: int = 1,
    num_examples: int = 500,
    seed: int = 8,
    num_train_examples: int = 1000,
    train_seed: int = 9,
    **_: Any,
):
    """lm-eval ``custom_dataset`` hook (receives the task's metadata as keyword arguments)."""
    import datasets

    splits = build_splits(int(level), int(num_examples), int(seed), int(num_train_examples), int(train_seed))
    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})

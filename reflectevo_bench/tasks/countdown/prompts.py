"""Countdown prompt, Reflect-Retry-Reward style."""

from __future__ import annotations

from typing import Any


def doc_to_text(doc: dict[str, Any]) -> str:
    nums = ", ".join(str(n) for n in doc["nums"])
    return (
        f"Using the numbers [{nums}], create an equation that equals {doc['target']}. "
        "You can use the basic arithmetic operations (+, -, *, /) and parentheses, and each number must be "
        "used exactly once. Think step by step, then give your final answer on the last line in the form "
        "`Answer: <expression>`, for example `Answer: (1 + 2) * 3`."
    )

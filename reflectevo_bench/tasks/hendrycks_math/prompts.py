"""MATH prompt: the problem, step-by-step reasoning, the final answer in \\boxed{}."""

from __future__ import annotations

from typing import Any

ANSWER_FORMAT = "Put your final answer within \\boxed{}."


def doc_to_text(doc: dict[str, Any]) -> str:
    return (
        "Solve the following math problem. Think step by step, and put your final answer within \\boxed{}.\n\n"
        f"Problem: {doc['problem'].strip()}"
    )


def doc_to_target(doc: dict[str, Any]) -> str:
    from reflectevo_bench.tasks.hendrycks_math.verifier import gold_answer

    return gold_answer(doc) or ""

"""GSM8K prompt: the question, think step by step, a final numeric answer line."""

from __future__ import annotations

from typing import Any

ANSWER_FORMAT = "End with the line `Answer: <number>` (digits only, no units)."


def doc_to_text(doc: dict[str, Any]) -> str:
    return (
        "Solve the following math word problem. Think step by step, then give the final numeric answer on the "
        "last line in the form `Answer: <number>`, for example `Answer: 42`.\n\n"
        f"Question: {doc['question'].strip()}"
    )


def doc_to_target(doc: dict[str, Any]) -> str:
    from reflectevo_bench.tasks.gsm8k.verifier import gold_answer

    return gold_answer(doc)

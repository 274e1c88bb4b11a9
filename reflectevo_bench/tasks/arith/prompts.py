"""Arith prompt: the expression and the answer format, nothing else (short answers)."""

from __future__ import annotations

from typing import Any


def doc_to_text(doc: dict[str, Any]) -> str:
    return f"Calculate {doc['expression']}. Give your final answer on the last line in the form `Answer: <number>`."


def gold_response(doc: dict[str, Any]) -> str:
    """A right answer in the task's format (the ``gold_response`` hook: training rows for ``data build --kind qa``)."""
    return f"{doc['expression']} = {doc['answer']}\nAnswer: {doc['answer']}"

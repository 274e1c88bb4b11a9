"""HumanEval prompt (chat, zero-shot): the function's signature and docstring in a fence, asking for the whole
function back in a ```python block. Nothing of ``check`` is shown beyond the docstring's own examples."""

from __future__ import annotations

from typing import Any

ANSWER_FORMAT = "Give the complete function (its signature, body and any imports it needs) in one ```python code block."


def doc_to_text(doc: dict[str, Any]) -> str:
    return (
        f"Complete the following Python function `{doc['entry_point']}`. {ANSWER_FORMAT}\n\n"
        f"```python\n{doc['prompt'].strip(chr(10))}\n```"
    )


def doc_to_target(doc: dict[str, Any]) -> str:
    """The canonical solution appended to the prompt (informative: the verifier runs the tests)."""
    return doc["prompt"] + doc["canonical_solution"]

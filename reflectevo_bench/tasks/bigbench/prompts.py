"""BIG-bench prompts: the input, lettered options for multiple choice, and a final `Answer:` line."""

from __future__ import annotations

from typing import Any

from reflectevo_bench.tasks.bigbench.docs import LETTERS
from reflectevo_bench.tasks.common.extract import parse_options

MC_INSTRUCTION = (
    "Think step by step, then give your final answer on the last line in the form `Answer: X`, "
    "where X is the letter of the correct option."
)
FREE_INSTRUCTION = (
    "Think step by step, then give your final answer on the last line in the form "
    "`Answer: <answer>`, with the answer as short as possible."
)


def doc_to_text(doc: dict[str, Any]) -> str:
    text = str(doc["input"]).strip()
    if doc["kind"] == "mc":
        options = "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(doc["choices"]))
        return f"{text}\n\nOptions:\n{options}\n\n{MC_INSTRUCTION}"
    return f"{text}\n\n{FREE_INSTRUCTION}"


def doc_to_target(doc: dict[str, Any]) -> str:
    if doc["kind"] == "mc":
        return f"({LETTERS[doc['gold'][0]]})"
    return doc["targets"][0] if doc["targets"] else ""


def reflectevo_is_mc(doc: dict[str, Any]) -> bool:
    """A ReflectEvo BIG-bench item is multiple choice when its question lists options (its answer is a letter)."""
    return len(parse_options(str(doc.get("question", "")))) >= 2


def reflectevo_doc_to_text(doc: dict[str, Any]) -> str:
    instruction = MC_INSTRUCTION if reflectevo_is_mc(doc) else FREE_INSTRUCTION
    return f"{str(doc['question']).strip()}\n\n{instruction}"


def reflectevo_doc_to_target(doc: dict[str, Any]) -> str:
    answer = str(doc["answer"]).strip()
    return answer.upper() if len(answer) == 1 and reflectevo_is_mc(doc) else answer

"""LogiQA prompts: passage, question, options A-D, step-by-step reasoning, one final letter."""

from __future__ import annotations

from typing import Any

LETTERS = "ABCD"
INSTRUCTION = (
    "Think step by step, then give your final answer on the last line in the form `Answer: X`, "
    "where X is one of A, B, C or D."
)


def doc_to_text(doc: dict[str, Any]) -> str:
    options = "\n".join(f"{letter}. {text.strip()}" for letter, text in zip(LETTERS, doc["options"]))
    return (
        "Read the passage and answer the question by choosing exactly one option.\n\n"
        f"Passage: {doc['context'].strip()}\n\nQuestion: {doc['query'].strip()}\n\nOptions:\n{options}\n\n"
        + INSTRUCTION
    )


def doc_to_target(doc: dict[str, Any]) -> str:
    return LETTERS[int(doc["correct_option"])]


def reflectevo_doc_to_text(doc: dict[str, Any]) -> str:
    return (
        "Read the passage and answer the question by choosing exactly one option.\n\n"
        f"{doc['question'].strip()}\n\n" + INSTRUCTION
    )


def reflectevo_doc_to_target(doc: dict[str, Any]) -> str:
    return str(doc["answer"]).strip().upper()

"""MBPP prompts: the problem statement and its asserts (Austin et al.'s wording), zero-shot, chat.

The asserts the verifier runs are exactly the ones the prompt shows (``test_list``); ``challenge_test_list`` is
never used. ``mbpp``/``mbpp_full``/``mbpp_sanitized`` ask for a ```python fence, ``mbpp_reflectevo`` for
ReflectEvo's ``[BEGIN]``/``[END]``; the verifier accepts either in every task.
"""

from __future__ import annotations

from typing import Any

FENCE_FORMAT = "Give the complete Python code (the function and any imports it needs) in one ```python code block."
BEGIN_END_FORMAT = "Give the complete Python code (the function and any imports it needs) between [BEGIN] and [END]."


def problem(doc: dict[str, Any]) -> str:
    """The statement: ``text`` (MBPP) or ``prompt`` (sanitized MBPP)."""
    return str(doc.get("text") or doc.get("prompt") or "").strip()


def tests(doc: dict[str, Any]) -> list[str]:
    return [str(t) for t in doc["test_list"]]


def setup(doc: dict[str, Any]) -> str:
    """Code the tests need after the program: ``test_setup_code`` (MBPP) or ``test_imports`` (sanitized)."""
    parts = [str(doc.get("test_setup_code") or "")] + [str(i) for i in doc.get("test_imports") or []]
    return "\n".join(p for p in parts if p.strip())


def _statement(doc: dict[str, Any]) -> str:
    shown = "\n".join(t.strip() for t in tests(doc))
    return (
        f"You are an expert Python programmer, and here is your task: {problem(doc)} "
        f"Your code should pass these tests:\n\n{shown}\n\n"
    )


def doc_to_text(doc: dict[str, Any]) -> str:
    return _statement(doc) + FENCE_FORMAT


def reflectevo_doc_to_text(doc: dict[str, Any]) -> str:
    return _statement(doc) + BEGIN_END_FORMAT


def doc_to_target(doc: dict[str, Any]) -> str:
    """The reference solution (informative: the verifier runs the tests)."""
    return str(doc.get("code") or "").replace("\r\n", "\n")

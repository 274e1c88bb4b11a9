"""LogiQA verifiers: one option letter A-D, extracted robustly (``A``, ``(A)``, ``A.``, ``answer is A``,
``Finish[A]``, ``**A**``); two different letters as the final answer are ambiguous and wrong. ReflectEvo's own
strict match counts ``A.`` as wrong; this one does not. An answer that quotes an option's text also counts."""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.extract import parse_options
from reflectevo_bench.tasks.common.mc import choice_verdict
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

LETTERS = "ABCD"


def verify(doc: dict[str, Any], response: str) -> Verdict:
    """``logiqa`` (hub schema: context, query, options, correct_option)."""
    try:
        gold = LETTERS[int(doc["correct_option"])]
        options = dict(zip(LETTERS, doc["options"]))
    except (KeyError, ValueError, IndexError, TypeError):
        raise BenchError(
            "logiqa doc needs 'options' and an integer 'correct_option' 0-3 (lucasmccabe/logiqa schema)"
        ) from None
    return choice_verdict(response, [gold], LETTERS, options)


def verify_reflectevo(doc: dict[str, Any], response: str) -> Verdict:
    """``logiqa_reflectevo`` (ReflectEvo schema: question with inline options, answer a-d)."""
    gold = str(doc.get("answer", "")).strip().upper()
    if gold not in set(LETTERS):
        raise BenchError(f"logiqa_reflectevo doc has answer {doc.get('answer')!r}; expected a letter a-d")
    return choice_verdict(response, [gold], LETTERS, parse_options(str(doc.get("question", ""))))


process_results = process_results_from(verify)
process_results_reflectevo = process_results_from(verify_reflectevo)

"""Multiple-choice verdicts from option letters (shared by LogiQA, BIG-bench, BBH)."""

from __future__ import annotations

from typing import Iterable

from reflectevo_bench.tasks.common.extract import extract_choice
from reflectevo_bench.tasks.verdict import Verdict


def letters_list(letters: str) -> str:
    items = list(letters)
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else items[0]


def choice_verdict(response: str, gold: Iterable[str], letters: str, options: dict[str, str] | None = None,
                   answer_line: str = "Answer: X") -> Verdict:
    """Correct iff the response's single final letter is a gold letter; two different letters are ambiguous."""
    gold_set = {g.upper() for g in gold}
    choice = extract_choice(response, letters, options)
    details = {"source": choice.source, "letters": list(choice.letters)}
    if not choice.letters:
        return Verdict(False, 0.0, f"No final answer was found: end with the line `{answer_line}`, where X is one "
                       f"of {letters_list(letters)}.", None, {"reason": "no_answer", **details})
    if choice.ambiguous:
        named = ", ".join(choice.letters)
        return Verdict(False, 0.0, f"Your final answer names more than one option ({named}); give exactly one.",
                       "/".join(choice.letters), {"reason": "ambiguous", **details})
    letter = choice.letter
    if letter not in gold_set:
        return Verdict(False, 0.0, f"Your final answer ({letter}) is incorrect.", letter,
                       {"reason": "wrong_choice", **details})
    return Verdict(True, 1.0, "", letter, {"reason": "ok", **details})

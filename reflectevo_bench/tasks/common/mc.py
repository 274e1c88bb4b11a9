"""Multiple-choice verdicts from option letters (shared by LogiQA, BIG-bench, BBH)."""

from __future__ import annotations

from collections.abc import Iterable

from reflectevo_bench.tasks.common.extract import extract_choice
from reflectevo_bench.tasks.verdict import Verdict


def letters_list(letters: str) -> str:
    items = list(letters)
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else items[0]


def choice_verdict(
    response: str,
    gold: Iterable[str],
    letters: str,
    options: dict[str, str] | None = None,
    answer_line: str = "Answer: X",
    require_marker: bool = False,
) -> Verdict:
    """Correct iff the response's single final letter is a gold letter; two different letters are ambiguous.

    ``require_marker``: only a final-answer marker counts (no bare-line fallback), as in BBH's own scoring."""
    gold_set = {g.upper() for g in gold}
    choice = extract_choice(response, letters, options, require_marker=require_marker)
    details = {"source": choice.source, "letters": list(choice.letters)}
    if not choice.letters and choice.source == "marker_without_option":
        return Verdict(
            False,
            0.0,
            f'No final answer was found: your final answer ("{_short(choice.segment)}") '
            f"names none of the options; end with the line `{answer_line}`, where X is one of {letters_list(letters)}.",
            None,
            {"reason": "no_option", **details},
        )
    if not choice.letters:
        return Verdict(
            False,
            0.0,
            f"No final answer was found: end with the line `{answer_line}`, where X is one of {letters_list(letters)}.",
            None,
            {"reason": "no_answer", **details},
        )
    if choice.ambiguous:
        named = ", ".join(choice.letters)
        return Verdict(
            False,
            0.0,
            f"Your final answer names more than one option ({named}); give exactly one.",
            "/".join(choice.letters),
            {"reason": "ambiguous", **details},
        )
    letter = choice.letter
    if letter not in gold_set:
        return Verdict(
            False, 0.0, f"Your final answer ({letter}) is incorrect.", letter, {"reason": "wrong_choice", **details}
        )
    return Verdict(True, 1.0, "", letter, {"reason": "ok", **details})


def _short(text: str | None, limit: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"

"""Arith verifier: the final number of the response must equal the exact value of the expression.

Extraction is the shared numeric policy (``common.extract.extract_number``: ``Answer: N`` and the other final-answer
markers, else the last number of the response) over the last 4,000 characters of the response. Feedback names the
answer read, whether it is too large or too small, and how it was read; it never states the value.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from reflectevo_bench.tasks.common.extract import extract_number, format_number
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

ANSWER_FORMAT = "End with the line `Answer: <number>`."
_SHOWN_MAX = 24  # characters of the answer repeated in the feedback
# Only the end of a response is read: the final answer is there, and the shared extractor's scan for \boxed{...}
# is quadratic in the number of unbalanced "\boxed{" (a 70 kB response of them took 90 s under load). 4,000
# characters hold more than 512 tokens of working.
_TAIL = 4000


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN_MAX else f"{text[:12]}... ({len(text)} characters)"


def verify(doc: dict[str, Any], response: str) -> Verdict:
    gold, expression = int(doc["answer"]), str(doc["expression"])
    value, _raw, source = extract_number(response[-_TAIL:] if isinstance(response, str) else "")
    if value is None:
        return Verdict(False, 0.0, f"No final answer was found. {ANSWER_FORMAT}", None, {"reason": "no_answer"})
    shown = _short(format_number(value))
    if value == Fraction(gold):
        return Verdict(True, 1.0, "", shown, {"reason": "ok", "source": source})
    direction = "too large" if value > gold else "too small"
    note = (
        ""
        if source != "last_number"
        else (f" (No `Answer:` line was found, so the last number you wrote, {shown}, was taken as your answer.)")
    )
    whole = "" if value.denominator == 1 else " The value is a whole number."
    return Verdict(
        False,
        0.0,
        f"Your answer {shown} is not the value of {expression}: it is {direction}.{whole}{note}",
        shown,
        {"reason": "wrong_value", "direction": direction, "source": source},
    )


process_results = process_results_from(verify)  # stock lm-eval scores the task exactly as the verifier does

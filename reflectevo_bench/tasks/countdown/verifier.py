"""Countdown verifier: extract the final expression, check the numbers used and the exact value."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.extract import PARSED_CHARS
from reflectevo_bench.tasks.countdown.expression import ExpressionError, evaluate, numbers_used, parse
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

_OPEN_TAG = re.compile(r"<answer>", re.I)
_CLOSE_TAG = re.compile(r"</answer>", re.I)
_ANSWER_LINE = re.compile(r"answer[ \t]*[:：][ \t]*(.+)", re.I)
_WRAPPING = re.compile(r"^[\s*`$]+|[\s*`$.]+$")  # markdown bold/code, LaTeX $, a closing full stop
_EXPR_CHARS = re.compile(r"^[\d\s()+\-*/×÷x−=.]+$")


def extract_answer(response: str) -> str | None:
    """The final expression: last <answer>…</answer>, else last 'Answer: …' line, else last expression line (in
    the last ``PARSED_CHARS`` characters)."""
    response = (response or "")[-PARSED_CHARS:]
    tag = _last_tag(response)
    if tag is not None:
        candidate = tag
    else:
        lines = _ANSWER_LINE.findall(response)
        if lines:
            candidate = lines[-1]
        else:
            exprs = [ln for ln in response.splitlines() if ln.strip() and _EXPR_CHARS.match(ln.strip().strip("`$"))]
            if not exprs:
                return None
            candidate = exprs[-1]
    candidate = _WRAPPING.sub("", candidate)
    return candidate or None


def _last_tag(response: str) -> str | None:
    """Content of the last ``<answer>...</answer>`` (the last close tag and the last open tag before it), found in
    one linear pass: a lazy regex rescans the rest of the text from every unclosed ``<answer>``."""
    close = None
    for close in _CLOSE_TAG.finditer(response):  # noqa: B007  (keep the last)
        pass
    if close is None:
        return None
    start = None
    for start in _OPEN_TAG.finditer(response, 0, close.start()):  # noqa: B007  (keep the last)
        pass
    return None if start is None else response[start.end() : close.start()]


def _drop_equation_side(expr: str, target: int) -> str:
    """'(3 + 5) * 3 = 24' → '(3 + 5) * 3': keep the side that is not just the target."""
    if "=" not in expr:
        return expr
    sides = [s.strip() for s in expr.split("=") if s.strip()]
    if not sides:  # "Answer: ="
        return ""
    non_target = [s for s in sides if s.strip("() ") != str(target)]
    return non_target[0] if non_target else sides[0]


def verify(doc: dict[str, Any], response: str) -> Verdict:
    try:
        nums, target = [int(n) for n in doc["nums"]], int(doc["target"])
    except (KeyError, TypeError, ValueError):
        raise BenchError("countdown doc needs integer 'nums' (a list) and an integer 'target'") from None
    answer = extract_answer(response)
    if answer is None:
        return Verdict(
            False,
            0.0,
            "No final answer was found: end with a line `Answer: <expression>`.",
            None,
            {"reason": "no_answer"},
        )
    expr = _drop_equation_side(answer, target)
    try:
        tree = parse(expr)
    except ExpressionError as exc:
        return Verdict(False, 0.0, f"Your answer `{expr}` could not be parsed: {exc}.", expr, {"reason": "unparsable"})
    used = numbers_used(tree)
    if Counter(used) != Counter(nums):
        return Verdict(
            False,
            0.0,
            f"Your expression uses the numbers {used}, but it must use each of {sorted(nums)} exactly once.",
            expr,
            {"reason": "wrong_numbers", "used": used},
        )
    try:
        value = evaluate(tree)
    except ZeroDivisionError:
        return Verdict(False, 0.0, "Your expression divides by zero.", expr, {"reason": "division_by_zero"})
    if value != Fraction(target):
        shown = str(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
        return Verdict(
            False,
            0.0,
            f"Your expression evaluates to {shown}, not the target {target}.",
            expr,
            {"reason": "wrong_value", "value": shown},
        )
    return Verdict(True, 1.0, "", expr, {"reason": "ok"})


process_results = process_results_from(verify)  # lm-eval hook: stock lm-eval scores it as the verifier does

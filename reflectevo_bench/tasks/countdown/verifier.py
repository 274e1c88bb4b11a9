"""Countdown verifier: extract the final expression, check the numbers used and the exact value."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from typing import Any

from reflectevo_bench.tasks.countdown.expression import ExpressionError, evaluate, numbers_used, parse
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_ANSWER_LINE = re.compile(r"answer\s*[:：]\s*(.+)", re.I)
_WRAPPING = re.compile(r"^[\s*`$]+|[\s*`$.]+$")  # markdown bold/code, LaTeX $, a closing full stop
_EXPR_CHARS = re.compile(r"^[\d\s()+\-*/×÷x−=.]+$")


def extract_answer(response: str) -> str | None:
    """The final expression: last <answer>…</answer>, else last 'Answer: …' line, else last expression line."""
    tags = _ANSWER_TAG.findall(response)
    if tags:
        candidate = tags[-1]
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


def _drop_equation_side(expr: str, target: int) -> str:
    """'(3 + 5) * 3 = 24' → '(3 + 5) * 3': keep the side that is not just the target."""
    if "=" not in expr:
        return expr
    sides = [s.strip() for s in expr.split("=") if s.strip()]
    non_target = [s for s in sides if s.strip("() ") != str(target)]
    return non_target[0] if non_target else sides[0]


def verify(doc: dict[str, Any], response: str) -> Verdict:
    nums, target = [int(n) for n in doc["nums"]], int(doc["target"])
    answer = extract_answer(response)
    if answer is None:
        return Verdict(False, 0.0, "No final answer was found: end with a line `Answer: <expression>`.", None,
                       {"reason": "no_answer"})
    expr = _drop_equation_side(answer, target)
    try:
        tree = parse(expr)
    except ExpressionError as exc:
        return Verdict(False, 0.0, f"Your answer `{expr}` could not be parsed: {exc}.", expr, {"reason": "unparsable"})
    used = numbers_used(tree)
    if Counter(used) != Counter(nums):
        return Verdict(
            False, 0.0,
            f"Your expression uses the numbers {used}, but it must use each of {sorted(nums)} exactly once.",
            expr, {"reason": "wrong_numbers", "used": used},
        )
    try:
        value = evaluate(tree)
    except ZeroDivisionError:
        return Verdict(False, 0.0, "Your expression divides by zero.", expr, {"reason": "division_by_zero"})
    if value != Fraction(target):
        shown = str(value) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
        return Verdict(False, 0.0, f"Your expression evaluates to {shown}, not the target {target}.", expr,
                       {"reason": "wrong_value", "value": shown})
    return Verdict(True, 1.0, "", expr, {"reason": "ok"})


process_results = process_results_from(verify)  # lm-eval hook: stock lm-eval scores it as the verifier does

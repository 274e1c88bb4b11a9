"""MATH verifier: the final answer (last ``\\boxed{}``, else a "final answer"/"Answer:" line) is checked against the
gold answer with math-verify (``parse`` + ``verify``), so ``\\frac12``, ``0.5`` and ``\\dfrac{1}{2}`` are equal.

Gold: the ``answer`` field (MATH-500), else the last ``\\boxed{}`` of ``solution`` (MATH, ReflectEvo).
If math-verify cannot parse the *gold* answer at all, the two answers are compared as whitespace-free strings.

Bounds: math-verify (sympy) can stall for seconds on a short answer (``\\boxed{`` + 50 nested parentheses) or for
ever inside one C call (``9^{9^{9^{9}}}``), and its own ``signal.alarm`` timeout works only on the main thread. So
math-verify runs with its own timeout off in a forked child of a worker process (``tasks.guard.Isolated``),
killed after ``LIMIT_S`` CPU seconds, on any thread: such a row is wrong with reason ``verifier_error``. An answer longer than
``MAX_ANSWER_CHARS``, nested deeper than ``MAX_DEPTH`` brackets or holding a power tower (``9^{9^{9}}``) is not
given to math-verify: it is compared as a string.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.extract import clean, last_boxed, marker_segments
from reflectevo_bench.tasks.guard import Isolated, IsolatedTimeout, error_verdict
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

LIMIT_S = 0.5  # CPU seconds one math-verify comparison may use (MATH gold vs itself: 13 ms mean, 0.25 s max)
MAX_ANSWER_CHARS = 200  # the longest gold answer of MATH (1,000 checked) has 53 characters, depth 2
MAX_DEPTH = 6
_TOWER = re.compile(r"\^\s*\{[^{}]*\^|\^[\w.]*\^|\*\*[\w.]*\*\*")  # a power in an exponent: sympy computes it
logging.getLogger("math_verify").setLevel(logging.ERROR)
_MODULE = "reflectevo_bench.tasks.hendrycks_math.verifier"  # not __name__: lm-eval may load this file as "verifier"
_WORKER = Isolated(preload=("math_verify", _MODULE), warm_up=f"{_MODULE}:warm_up")


def warm_up() -> None:
    """Run in the worker before it forks: math-verify's lazy imports and grammar load once, not per call."""
    equivalent_unbounded("\\frac{1}{2}", "0.5")
    equivalent_unbounded("(1, 2]", "x^2+\\sqrt{3}")


def gold_answer(doc: dict[str, Any]) -> str | None:
    if isinstance(doc.get("answer"), str) and doc["answer"].strip():
        return doc["answer"].strip()
    solution = doc.get("solution")
    if isinstance(solution, str):
        return last_boxed(solution)
    return None


def extract_answer(response: str) -> tuple[str | None, str]:
    """(answer text, source): the last ``\\boxed{}``, else the last final-answer marker's line."""
    boxed = last_boxed(response)
    if boxed is not None and boxed.strip():
        return boxed.strip(), "boxed"
    segments = [s.strip() for _, s in marker_segments(response) if s.strip()]
    if segments:
        seg = segments[-1]
        seg = re.sub(r"\.?\s*I hope it is correct\.?\s*$", "", seg, flags=re.I).strip()
        return seg.rstrip(".").strip(), "final_answer_line"
    return None, "none"


def _parse(text: str, wrap: bool) -> list:
    from math_verify import parse

    delimited = re.search(r"(?<!\\)\$", text) or "\\(" in text or "\\[" in text
    candidate = f"${text}$" if wrap and not delimited else text
    return parse(candidate, parsing_timeout=None)


def _plain(text: str) -> str:
    text = clean(text)
    text = re.sub(r"\\(?:left|right|!|,|;|quad)", "", text).replace("dfrac", "frac").replace("tfrac", "frac")
    return re.sub(r"[\s$]", "", text).rstrip(".")


def _depth(text: str) -> int:
    depth = deepest = 0
    for ch in text:
        if ch in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")}]":
            depth = max(0, depth - 1)
    return deepest


def equivalent_unbounded(gold: str, answer: str) -> tuple[bool, str]:
    """(equal, method) using math-verify with no time limit: call :func:`equivalent` (run in the worker)."""
    from math_verify import verify

    gold_parsed = _parse(gold, wrap=True)
    if not gold_parsed:
        return _plain(gold) == _plain(answer), "string"
    pred_parsed = _parse(answer, wrap=True) or _parse(answer, wrap=False)
    if not pred_parsed:
        return _plain(gold) == _plain(answer), "string"
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None)), "math_verify"


def equivalent(gold: str, answer: str) -> tuple[bool, str]:
    """(equal, method): math-verify in the worker process under ``LIMIT_S`` (raises ``IsolatedTimeout`` past it);
    a string comparison for answers beyond ``MAX_ANSWER_CHARS`` / ``MAX_DEPTH``."""
    if len(answer) > MAX_ANSWER_CHARS or _depth(answer) > MAX_DEPTH or _TOWER.search(answer):
        return _plain(gold) == _plain(answer), "string_bounded"
    ok, method = _WORKER.call(f"{_MODULE}:equivalent_unbounded", gold, answer, limit_s=LIMIT_S)
    return bool(ok), str(method)


def verify(doc: dict[str, Any], response: str) -> Verdict:
    gold = gold_answer(doc)
    if gold is None:
        raise BenchError("math doc has neither an 'answer' nor a \\boxed{} answer in 'solution'")
    answer, source = extract_answer(response)
    if answer is None:
        return Verdict(
            False,
            0.0,
            "No final answer was found: put your final answer within \\boxed{}.",
            None,
            {"reason": "no_answer"},
        )
    try:
        ok, method = equivalent(gold, answer)
    except IsolatedTimeout as exc:
        return error_verdict(f"timeout: math-verify {exc}", answer)
    if not ok:
        return Verdict(
            False,
            0.0,
            f"Your final answer ${answer}$ is incorrect.",
            answer,
            {"reason": "wrong_value", "source": source, "method": method},
        )
    return Verdict(True, 1.0, "", answer, {"reason": "ok", "source": source, "method": method})


process_results = process_results_from(verify)  # stock lm-eval scores the task exactly as the verifier does

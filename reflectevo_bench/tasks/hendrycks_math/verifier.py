"""MATH verifier: the final answer (last ``\\boxed{}``, else a "final answer"/"Answer:" line) is checked against the
gold answer with math-verify (``parse`` + ``verify``), so ``\\frac12``, ``0.5`` and ``\\dfrac{1}{2}`` are equal.

Gold: the ``answer`` field (MATH-500), else the last ``\\boxed{}`` of ``solution`` (MATH, ReflectEvo).
math-verify times out with ``signal.alarm``, which only works in the main thread: elsewhere (a threaded server,
a thread pool) the timeout is switched off instead of failing. If math-verify cannot parse the *gold* answer at
all, the two answers are compared as whitespace-free strings.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.extract import clean, last_boxed, marker_segments
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

TIMEOUT_S = 5
logging.getLogger("math_verify").setLevel(logging.ERROR)


def _timeout() -> int | None:
    return TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


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
    return parse(candidate, parsing_timeout=_timeout())


def _plain(text: str) -> str:
    text = clean(text)
    text = re.sub(r"\\(?:left|right|!|,|;|quad)", "", text).replace("dfrac", "frac").replace("tfrac", "frac")
    return re.sub(r"[\s$]", "", text).rstrip(".")


def equivalent(gold: str, answer: str) -> tuple[bool, str]:
    """(equal, method) using math-verify; string equality only when math-verify cannot read the gold answer."""
    from math_verify import verify

    gold_parsed = _parse(gold, wrap=True)
    if not gold_parsed:
        return _plain(gold) == _plain(answer), "string"
    pred_parsed = _parse(answer, wrap=True) or _parse(answer, wrap=False)
    if not pred_parsed:
        return _plain(gold) == _plain(answer), "string"
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=_timeout())), "math_verify"


def verify(doc: dict[str, Any], response: str) -> Verdict:
    gold = gold_answer(doc)
    if gold is None:
        raise BenchError("math doc has neither an 'answer' nor a \\boxed{} answer in 'solution'")
    answer, source = extract_answer(response)
    if answer is None:
        return Verdict(False, 0.0, "No final answer was found: put your final answer within \\boxed{}.", None,
                       {"reason": "no_answer"})
    ok, method = equivalent(gold, answer)
    if not ok:
        return Verdict(False, 0.0, f"Your final answer ${answer}$ is incorrect.", answer,
                       {"reason": "wrong_value", "source": source, "method": method})
    return Verdict(True, 1.0, "", answer, {"reason": "ok", "source": source, "method": method})


process_results = process_results_from(verify)  # stock lm-eval scores the task exactly as the verifier does

"""Reveal verifier: the response (leading spaces dropped) must START with the hidden digit. The feedback REVEALS
the digit (this task is a positive control: see ``generator``); real tasks' feedback never does.

Strict on purpose: a passing response begins with the digit, so the D+ retries the chain trains on carry the
answer at their first token instead of somewhere in the random model's noise (with "the first digit anywhere",
one-stage D+ SFT learned the noise and scored 0 of 100).
"""

from __future__ import annotations

import re
from typing import Any

from reflectevo_bench.tasks.verdict import Verdict, process_results_from

_DIGIT = re.compile(r"\s*([0-9])")


def verify(doc: dict[str, Any], response: str) -> Verdict:
    gold = str(doc["answer"])
    found = _DIGIT.match(response if isinstance(response, str) else "")
    shown = found.group(1) if found else None
    if shown == gold:
        return Verdict(True, 1.0, "", shown, {"reason": "ok"})
    return Verdict(
        False, 0.0, f"The answer is {gold}.", shown, {"reason": "wrong_digit" if shown else "no_digit_first"}
    )


process_results = process_results_from(verify)

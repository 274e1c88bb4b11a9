"""GSM8K verifier: the final number of the response equals the gold number exactly (as a rational number).

Extraction: ``#### N``, then ``\\boxed{N}``, then an ``Answer: N`` / ``the answer is N`` marker, then the last number
in the response. Commas, ``$``, a trailing period and ``%`` are ignored; ``18.00`` equals ``18``.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.extract import extract_number, format_number, parse_number
from reflectevo_bench.tasks.verdict import Verdict, process_results_from


def gold_answer(doc: dict[str, Any]) -> str:
    answer = doc.get("answer")
    if not isinstance(answer, str):
        raise BenchError("gsm8k doc has no string 'answer' (expected the GSM8K schema: question, answer)")
    return answer.split("####")[-1].strip().replace(",", "")


def verify(doc: dict[str, Any], response: str) -> Verdict:
    gold_text = gold_answer(doc)
    gold = parse_number(gold_text)
    if gold is None:
        raise BenchError(f"gsm8k doc's answer ends in '#### {gold_text}', which is not a number")
    value, raw, source = extract_number(response)
    if value is None:
        return Verdict(
            False,
            0.0,
            "No final numeric answer was found: end with a line `Answer: <number>`.",
            None,
            {"reason": "no_answer"},
        )
    shown = format_number(value)
    if value != gold:
        return Verdict(
            False, 0.0, f"Your final answer {shown} is incorrect.", shown, {"reason": "wrong_value", "source": source}
        )
    return Verdict(True, 1.0, "", shown, {"reason": "ok", "source": source})


process_results = process_results_from(verify)  # stock lm-eval scores the task exactly as the verifier does

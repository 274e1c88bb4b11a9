"""Function-calling verifiers: parse the calls (JSON or Python syntax), then check them structurally.

Feedback names the first mismatch (no parseable call, unknown function, wrong number of calls, missing or
unexpected argument, wrong type or value of an argument) without revealing any expected value.
"""

from __future__ import annotations

import json
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.function_calling import bfcl_checker, xlam_checker
from reflectevo_bench.tasks.function_calling.calls import Call, CallSyntaxError, calls_from_json, parse_calls
from reflectevo_bench.tasks.verdict import Verdict, process_results_from

FORMAT_HINT = 'Write the calls as a JSON list [{"name": ..., "arguments": {...}}] or as Python calls [f(x=1)].'


def _load(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise BenchError(f"function-calling doc: '{what}' is not valid JSON") from None
    return value


def _verdict(problem: Any, calls: list[Call], form: str) -> Verdict:
    extracted = json.dumps([c.to_dict() for c in calls], ensure_ascii=False, default=str)
    if problem is None:
        return Verdict(True, 1.0, "", extracted, {"reason": "ok", "form": form, "n_calls": len(calls)})
    return Verdict(
        False, 0.0, problem.message, extracted, {"reason": problem.kind, "form": form, "n_calls": len(calls)}
    )


def _no_call(error: str | None) -> Verdict:
    """The verdict of a response in which no call could be read (``error``: what the parser said, if anything)."""
    why = f" ({error})" if error else ""
    return Verdict(
        False,
        0.0,
        f"No function call could be read from your response{why}. {FORMAT_HINT}",
        None,
        {"reason": "no_call"},
    )


def verify_xlam(doc: dict[str, Any], response: str) -> Verdict:
    tools = _load(doc.get("tools"), "tools")
    try:
        expected = calls_from_json(_load(doc.get("answers"), "answers"))
    except CallSyntaxError as exc:
        raise BenchError(f"xlam doc's answers are not calls: {exc}") from None
    parsed = parse_calls(response)
    if parsed.calls is None:
        return _no_call(parsed.error)
    return _verdict(
        xlam_checker.check(parsed.calls, expected, tools if isinstance(tools, list) else []), parsed.calls, parsed.form
    )


def ground_truth(doc: dict[str, Any]) -> list[dict[str, Any]]:
    gt = doc.get("ground_truth")
    if gt is None:
        if "irrelevance" in str(doc.get("id", "")):
            return []
        raise BenchError("bfcl doc has no 'ground_truth': merge the possible_answer record into the question record")
    return _load(gt, "ground_truth")


def verify_bfcl(doc: dict[str, Any], response: str) -> Verdict:
    functions = _load(doc.get("function"), "function")
    gt = ground_truth(doc)
    parsed = parse_calls(response)
    if parsed.calls is None:
        if not gt:  # no call expected, none made
            return Verdict(True, 1.0, "", "[]", {"reason": "ok", "form": "none", "n_calls": 0})
        return _no_call(parsed.error)
    return _verdict(bfcl_checker.check(parsed.calls, gt, functions), parsed.calls, parsed.form)


process_results_xlam = process_results_from(verify_xlam)
process_results_bfcl = process_results_from(verify_bfcl)

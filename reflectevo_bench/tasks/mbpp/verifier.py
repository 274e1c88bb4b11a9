"""MBPP verifier: extract the program, run it against the doc's asserts in the sandbox, report the first failure.

Feedback names the first failing assert (the prompt showed it already) and a trimmed error, e.g.
``Test failed: assert f(3) == 9`` / ``AssertionError: f(3) returned 8``; or the load error (``SyntaxError: …``),
a timeout, or "no code found". ``verify_many`` checks many docs in one parallel batch of the shared executor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common import code_execution as execution
from reflectevo_bench.tasks.common.code_extraction import called_function, extract_code
from reflectevo_bench.tasks.mbpp.prompts import BEGIN_END_FORMAT, FENCE_FORMAT, setup, tests
from reflectevo_bench.tasks.verdict import FunctionVerifier, Verdict, process_results_from


def _show_test(outcome: Any) -> tuple[str, str]:
    """MBPP shows its asserts in the prompt: the failing assert and its error may be shown as they are."""
    return execution.trim(outcome.source, execution.SOURCE_CHARS), execution.trim(outcome.error)


def _check_doc(doc: dict[str, Any]) -> None:
    if not isinstance(doc.get("test_list"), list) or not doc["test_list"]:
        raise BenchError("mbpp doc has no 'test_list' (expected the MBPP schema: text/prompt, code, test_list)")


def verify_many(
    docs: Sequence[dict[str, Any]], responses: Sequence[str], answer_format: str = FENCE_FORMAT
) -> list[Verdict]:
    """Verdicts for many (doc, response) pairs; the programs run in parallel on the shared sandbox pool."""
    if len(docs) != len(responses):
        raise ValueError("verify_many needs as many responses as docs")
    verdicts: list[Verdict | None] = [None] * len(docs)
    jobs: list[tuple[int, str, str]] = []
    items: list[dict[str, Any]] = []
    for i, (doc, response) in enumerate(zip(docs, responses)):
        _check_doc(doc)
        found = extract_code(response or "", called_function(tests(doc)))
        if found is None:
            verdicts[i] = execution.no_code_verdict(answer_format)
            continue
        jobs.append((i, found.code, found.source))
        items.append({"program": found.code, "tests": tests(doc), "setup": setup(doc)})
    timeout = execution.settings()["timeout_s"] if items else None
    for (i, code, source), result in zip(jobs, execution.run_programs(items)):
        verdicts[i] = execution.verdict_from(result, code, source, _show_test, timeout)
    return [v for v in verdicts if v is not None]


def _verify(doc: dict[str, Any], response: str) -> Verdict:
    return verify_many([doc], [response])[0]


def _verify_reflectevo(doc: dict[str, Any], response: str) -> Verdict:
    return verify_many([doc], [response], BEGIN_END_FORMAT)[0]


def verify_many_reflectevo(docs: Sequence[dict[str, Any]], responses: Sequence[str]) -> list[Verdict]:
    return verify_many(docs, responses, BEGIN_END_FORMAT)


# Verifiers (tasks.verdict): one program, a batch on the sandbox pool, and the pool started before a run generates
verify = FunctionVerifier(_verify, verify_many, prepare=execution.executor)
verify_reflectevo = FunctionVerifier(_verify_reflectevo, verify_many_reflectevo, prepare=execution.executor)


# lm-eval hooks: stock lm-eval scores the tasks exactly as the verifiers do (through the sandbox)
process_results = process_results_from(verify, metric="pass@1")
process_results_reflectevo = process_results_from(verify_reflectevo, metric="pass@1")

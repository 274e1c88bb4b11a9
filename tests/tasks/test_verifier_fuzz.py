"""Fuzz every shipped task's verifier and every extractor with hostile model outputs (issue 17).

Tasks are discovered from the registry (every task YAML under ``reflectevo_bench/tasks``), loaded on the mini
fixture data (or ``fixtures/fuzz_data``), else on the shared real data, else on the raw rows of a task of the same family (same schema). Each
row goes through ``EvalTask.verify_batch``, the guarded path every harness call site uses, and must give a Verdict
within ``ROW_BOUND_S``; a ``verifier_error`` is allowed only for a time limit (math-verify's hard limit), never for an
exception: the verifiers are bounded by construction, the guard is only the backstop. Code tasks run in the sandbox
with few examples. Hypothesis runs derandomized with fixed example counts, so CI time stays fixed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hostile import WORST_CASES, hostile_text
from hypothesis import HealthCheck, given, settings
from task_helpers import MINI_DATA, TASK_FIXTURES

from reflectevo_bench.tasks.catalog import catalog

ROW_BOUND_S = float(os.environ.get("REFLECTEVO_FUZZ_ROW_BOUND_S", "1.0"))  # wall seconds per row (2 free cores)
SHARED = Path(os.environ.get("REFLECTEVO_DATA_DIR", "/nonexistent"))
FUZZ_DATA = TASK_FIXTURES / "fuzz_data"  # one-row files for tasks whose schema no mini-data sibling shares
CODE_FAMILIES = ("mbpp", "humaneval")
FUZZ = settings(
    max_examples=12, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
FUZZ_CODE = settings(FUZZ, max_examples=3)
FUZZ_SEEN = settings(FUZZ, max_examples=4)  # a task whose verifier another task already exercised in full
_FULL: dict[str, str] = {}  # verifier name -> the task that ran the whole list for it


TASKS = [info.name for info in catalog() if info.kind == "task"]  # every shipped task, sorted
_LOADED: dict[str, object] = {}


def _family(name: str) -> str:
    return name.split("_")[0] if not name.startswith("xlam") else "bfcl"


def load(name: str):
    """The task with one doc: mini fixture data, else the shared data, else built on a sibling's raw rows."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.tasks.eval_task import EvalTask
    from reflectevo_bench.tasks.registry import load_eval_tasks, load_lm_eval_task_on_rows

    if name in _LOADED:
        return _LOADED[name]
    task = None
    for data in (MINI_DATA, FUZZ_DATA, SHARED if SHARED.is_dir() else None):
        if data is None:
            continue
        try:
            task = load_eval_tasks(name, str(data), 1)[0]
            break
        except BenchError:
            continue
    if task is None:
        sibling = next((load(t) for t in TASKS if t != name and _family(t) == _family(name) and _loads_alone(t)), None)
        if sibling is None:
            pytest.skip(f"no data for {name} or a task of its family")
        raw = sibling.task.dataset[sibling.split][:1]
        rows = [dict(zip(raw, values)) for values in zip(*raw.values())]
        task = EvalTask.from_lm_eval(*load_lm_eval_task_on_rows(name, rows))
    _LOADED[name] = task
    return task


def _loads_alone(name: str) -> bool:
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.tasks.registry import load_eval_tasks

    try:
        load_eval_tasks(name, str(MINI_DATA), 1)
        return True
    except BenchError:
        return False


def check_row(task, response: str) -> None:
    from reflectevo_bench.tasks.verdict import Verdict

    start = time.perf_counter()
    verdicts = task.verify_batch([task.docs[0]], [response])
    took = time.perf_counter() - start
    assert len(verdicts) == 1 and isinstance(verdicts[0], Verdict)
    verdict = verdicts[0]
    assert took < ROW_BOUND_S, f"{task.name}: {took:.2f} s on a {len(response)}-character response"
    if verdict.details.get("reason") == "verifier_error":
        assert verdict.details["error"].startswith("timeout"), (task.name, verdict.details)
        assert not verdict.correct
    if len(response) > 32_768:
        assert verdict.details.get("cut") == {"kept_chars": 32_768, "response_chars": len(response)}


def _task_for(name: str, request):
    if _family(name) in CODE_FAMILIES:
        request.getfixturevalue("sandbox_pool")
    task = load(name)
    task.verify_batch([task.docs[0]], ["warm up: \\boxed{1}"])  # worker processes and imports start here
    return task


def _seen(task) -> bool:
    """Whether another task with the same verifier ran the full lists (then this one runs a quarter of them)."""
    return _FULL.setdefault(task.verifier_name, task.name) != task.name


@pytest.mark.parametrize("name", TASKS)
def test_worst_cases_give_a_verdict_in_time(name, request):
    task = _task_for(name, request)
    cases = list(WORST_CASES.items())
    if _family(name) in CODE_FAMILIES:
        cases = cases[::6]
    elif _seen(task):
        cases = cases[::4]
    for _case, response in cases:
        check_row(task, response)


@pytest.mark.parametrize("name", TASKS)
def test_generated_hostile_outputs_give_a_verdict_in_time(name, request):
    task = _task_for(name, request)

    @(FUZZ_CODE if _family(name) in CODE_FAMILIES else FUZZ_SEEN if _seen(task) else FUZZ)
    @given(hostile_text())
    def run(response):
        check_row(task, response)

    run()


# ----------------------------------------------------------------------------------------------- extractors


def _extractors():
    from reflectevo_bench.tasks.common import code_extraction, extract
    from reflectevo_bench.tasks.countdown.verifier import extract_answer as countdown_answer
    from reflectevo_bench.tasks.function_calling.calls import parse_calls
    from reflectevo_bench.tasks.hendrycks_math.verifier import extract_answer as math_answer

    return {
        "markers": extract.markers,
        "final_segment": lambda t: extract.final_segment(t),
        "final_segment_strict": lambda t: extract.final_segment(t, require_marker=True),
        "extract_choice": lambda t: extract.extract_choice(t, "ABCDE", {"A": "yes", "B": "no"}),
        "extract_number": extract.extract_number,
        "last_boxed": extract.last_boxed,
        "parse_options": extract.parse_options,
        "normalize_text": extract.normalize_text,
        "countdown": countdown_answer,
        "math": math_answer,
        "calls": parse_calls,
        "code": lambda t: code_extraction.extract_code(t, "f"),
    }


EXTRACTORS = sorted(_extractors())


@pytest.mark.parametrize("name", EXTRACTORS)
def test_extractors_are_bounded_on_worst_cases(name):
    fn = _extractors()[name]
    for case, response in WORST_CASES.items():
        start = time.perf_counter()
        fn(response)
        took = time.perf_counter() - start
        assert took < ROW_BOUND_S, f"{name} on {case}: {took:.2f} s"


@pytest.mark.parametrize("name", EXTRACTORS)
def test_extractors_are_bounded_on_generated_outputs(name):
    fn = _extractors()[name]

    @FUZZ
    @given(hostile_text())
    def run(response):
        start = time.perf_counter()
        fn(response)
        assert time.perf_counter() - start < ROW_BOUND_S

    run()


# ----------------------------------------------------------------------------------------------- the guard itself


def test_guard_turns_exceptions_and_stalls_into_wrong_verdicts_off_the_main_thread(monkeypatch):
    import threading

    from reflectevo_bench.tasks import guard
    from reflectevo_bench.tasks.verdict import FunctionVerifier, Verdict

    def crash(doc, response):
        if response == "boom":
            raise RecursionError("maximum recursion depth exceeded")
        if response == "loop":
            while True:
                pass
        return Verdict(True, 1.0, "")

    verifier = FunctionVerifier(crash)
    out = {}
    monkeypatch.setattr(guard, "ROW_BUDGET_S", 0.5)

    def work():
        start = time.perf_counter()
        out["verdicts"] = guard.guarded_many(verifier, [{}] * 3, ["boom", "fine", "loop"])
        out["took"] = time.perf_counter() - start

    guard_budget = guard.ROW_BUDGET_S
    thread = threading.Thread(target=work)
    thread.start()
    thread.join(guard_budget + 10)
    assert not thread.is_alive()
    boom, fine, loop = out["verdicts"]
    assert (boom.correct, boom.details["reason"]) == (False, "verifier_error") and "RecursionError" in boom.details[
        "error"
    ]
    assert fine.correct
    assert (loop.correct, loop.details["reason"]) == (False, "verifier_error") and loop.details["error"].startswith(
        "timeout"
    )
    assert out["took"] < guard_budget + 2 * ROW_BOUND_S


def test_math_hard_limit_holds_off_the_main_thread():
    import threading

    from reflectevo_bench.tasks.hendrycks_math.verifier import verify

    out = {}

    def work():
        verify({"answer": "2"}, "\\boxed{2}")  # the worker starts
        start = time.perf_counter()
        out["tower"] = verify({"answer": "2"}, "\\boxed{(10^{10})!}")  # sympy computes the factorial in C
        out["took"] = time.perf_counter() - start
        out["after"] = verify({"answer": "2"}, "\\boxed{\\frac{4}{2}}")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert out["tower"].details["reason"] == "verifier_error" and out["took"] < ROW_BOUND_S
    assert out["after"].correct  # the worker survives a killed call


def test_verifier_errors_are_counted_in_results():
    from reflectevo_bench.harness.metrics import verifier_errors

    def rec(reason):
        return {
            "turns": [
                {"kind": "attempt", "verdict": {"correct": False, "details": {"reason": reason}}},
                {"kind": "reflection"},
            ]
        }

    assert verifier_errors([rec("verifier_error"), rec("wrong_value"), rec("verifier_error")]) == 2

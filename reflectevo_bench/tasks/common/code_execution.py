"""One long-lived sandbox executor per process for the code tasks, and verdicts built from sandbox results.

Model-written code only ever runs through :mod:`reflectevo_bench.sandbox`; pass/fail is the sandbox's
``SandboxResult.passed`` (it compares ``assert f(args) == expected`` values outside the candidate's process).

Settings (environment, or :func:`configure` which wins over the environment):

- ``REFLECTEVO_SANDBOX``: ``auto`` (default: bwrap if it works here, else unshare), ``bwrap``, ``unshare``,
  ``docker`` or ``none`` (no isolation, explicit opt-in only).
- ``REFLECTEVO_SANDBOX_WORKERS``: parallel sandboxed workers of the pool (default: the number of CPUs, at most 8;
  workers start lazily, so one-at-a-time verification starts one).
- ``REFLECTEVO_SANDBOX_TIMEOUT``: seconds of wall clock per program, all its tests included (default 5, as in
  ReflectEvo's MBPP environment).

The executor is created on first use (``mode="pool"``: sandboxed workers that fork a fresh child per program)
and closed at interpreter exit, so a run over many docs starts its sandboxes once.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Sequence
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.sandbox import BACKENDS as SANDBOX_BACKENDS
from reflectevo_bench.tasks.verdict import Verdict

BACKEND_ENV = "REFLECTEVO_SANDBOX"
WORKERS_ENV = "REFLECTEVO_SANDBOX_WORKERS"
TIMEOUT_ENV = "REFLECTEVO_SANDBOX_TIMEOUT"
BACKENDS = ("auto", *SANDBOX_BACKENDS)
DEFAULT_TIMEOUT_S = 5.0
MAX_DEFAULT_WORKERS = 8
ERROR_CHARS = 300  # one error message in feedback, at most
SOURCE_CHARS = 300  # one test's source in feedback, at most

_settings: dict[str, Any] = {"backend": None, "workers": None, "timeout_s": None}
_lock = threading.Lock()
_executor = None
_atexit_registered = False


def configure(backend: str | None = None, workers: int | None = None, timeout_s: float | None = None) -> None:
    """Set the sandbox backend / workers / timeout for this process (None: back to the environment/default).

    A live executor with other settings is closed; the next verification starts a new one.
    """
    global _executor
    if backend is not None and backend not in BACKENDS:
        raise BenchError(f"unknown sandbox backend '{backend}': choose one of {', '.join(BACKENDS)}")
    with _lock:
        _settings.update(backend=backend, workers=workers, timeout_s=timeout_s)
        old, _executor = _executor, None
    if old is not None:
        old.close()


def settings() -> dict[str, Any]:
    """The effective settings: module setting, else environment, else default."""
    backend = _settings["backend"] or os.environ.get(BACKEND_ENV, "").strip().lower() or "auto"
    if backend not in BACKENDS:
        raise BenchError(f"{BACKEND_ENV}={backend} is not a sandbox backend: choose one of {', '.join(BACKENDS)}")
    workers = _settings["workers"] or _env_number(WORKERS_ENV, int)
    if workers is None:
        workers = max(1, min(MAX_DEFAULT_WORKERS, os.cpu_count() or 1))
    timeout = _settings["timeout_s"] or _env_number(TIMEOUT_ENV, float) or DEFAULT_TIMEOUT_S
    if workers < 1 or timeout <= 0:
        raise BenchError(f"{WORKERS_ENV} must be at least 1 and {TIMEOUT_ENV} positive")
    return {"backend": backend, "workers": int(workers), "timeout_s": float(timeout)}


def _env_number(name: str, kind: type) -> Any:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise BenchError(f"{name}={raw} is not a number") from None


def executor():
    """The process-wide pool executor (created on first use, closed at exit)."""
    global _executor, _atexit_registered
    with _lock:
        if _executor is not None:
            return _executor
        from reflectevo_bench.sandbox import Limits, SandboxUnavailable, get_executor

        cfg = settings()
        try:
            _executor = get_executor(
                cfg["backend"], limits=Limits(timeout_s=cfg["timeout_s"]), mode="pool", workers=cfg["workers"]
            )
        except (SandboxUnavailable, ValueError) as exc:
            reason = " ".join(str(exc).split())[:400]
            raise BenchError(f"code tasks need a sandbox ({BACKEND_ENV}={cfg['backend']}): {reason}") from None
        if not _atexit_registered:
            atexit.register(close_executor)
            _atexit_registered = True
        return _executor


def close_executor() -> None:
    global _executor
    with _lock:
        ex, _executor = _executor, None
    if ex is not None:
        ex.close()


def run_programs(items: Sequence[dict[str, Any]]) -> list[Any]:
    """Sandbox results for ``{program, tests, setup, entry_point}`` items, in order (parallel when many)."""
    if not items:
        return []
    ex = executor()
    if len(items) == 1:
        it = items[0]
        return [ex.run(it["program"], it["tests"], setup=it.get("setup") or "", entry_point=it.get("entry_point"))]
    return ex.run_many(list(items))


# ------------------------------------------------------------------------------------------------ feedback


def trim(text: str | None, limit: int = ERROR_CHARS) -> str:
    """One message, at most ``limit`` characters, at most 6 lines (tracebacks keep their last lines)."""
    text = (text or "").strip()
    lines = text.splitlines()
    if len(lines) > 6:
        text = "\n".join(["..."] + lines[-5:])
    return text if len(text) <= limit else text[: limit - 3] + "..."


LIMIT_HEADS = {
    "timeout": "Timed out",
    "memory": "Ran out of memory",
    "output-limit": "Printed too much output",
    "killed": "The program was killed",
}


def feedback_for(result: Any, show_test: Any, timeout_s: float | None = None) -> str:
    """The reflection feedback for a failed sandbox result.

    ``show_test(outcome) -> (shown source, shown error)`` decides what of a failing test may be shown (MBPP shows
    the assert, which the prompt showed too; HumanEval hides expected values).
    """
    first = result.first_failure
    if result.status == "error":  # the program (or its setup) raised while loading: no test ran
        return f"Your code raised an error before any test ran:\n{trim(result.error)}"
    if result.status in LIMIT_HEADS:
        head = LIMIT_HEADS[result.status]
        if result.status == "timeout" and timeout_s:
            head += f" (limit {timeout_s:g} s)"
        if first is not None:
            shown, _ = show_test(first)
            return f"{head} while running the test: {shown}"
        return f"{head}: {trim(result.error)}" if result.error else head + "."
    if first is None:  # failed with every test passing: the report channel was tampered with
        return f"The tests could not be checked: {trim(result.error)}"
    shown, error = show_test(first)
    if first.error and first.error.startswith("not run:"):
        why = trim(result.error) or first.error[len("not run: ") :]
        return f"Your program stopped before this test ran ({why}): {shown}"
    return f"Test failed: {shown}\n{error}" if error else f"Test failed: {shown}"


def verdict_from(result: Any, code: str, source: str, show_test: Any, timeout_s: float | None = None) -> Verdict:
    tests = result.tests
    details = {
        "reason": "passed" if result.passed else result.status,
        "status": result.status,
        "tests_passed": sum(t.passed for t in tests),
        "tests_total": len(tests),
        "first_failure": None if result.passed or result.first_failure is None else result.first_failure.index,
        "sandbox_error": result.error,
        "backend": result.backend,
        "duration_s": result.duration_s,
        "extraction": source,
    }
    if result.passed:
        return Verdict(True, 1.0, "", code, details)
    return Verdict(False, 0.0, feedback_for(result, show_test, timeout_s), code, details)


def no_code_verdict(answer_format: str) -> Verdict:
    return Verdict(
        False,
        0.0,
        f"No Python code was found in your answer. {answer_format}",
        None,
        {"reason": "no_code", "status": None, "tests_passed": 0},
    )

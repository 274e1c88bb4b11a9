"""The one guard around every verifier call (run, score, ``results --rescore``, GRPO rewards, ``data build --kind qa``).

A verifier judges untrusted model text, so the guard makes three promises per row, whatever the verifier does:

- **size**: only the last ``TAIL_CHARS`` characters of a response are handed to the verifier (the final answer is at
  the end); ``details["cut"]`` says so when a response was cut. A response over ``MAX_RESPONSE_CHARS`` is not
  verified at all.
- **exceptions**: an exception raised for one row (RecursionError, ValueError, ...) makes that row wrong; the
  batch goes on.
- **time**: a row that runs past ``ROW_BUDGET_S`` is interrupted (an asynchronous exception in the verifying
  thread, so the budget holds off the main thread too, where ``signal.alarm`` does not). Work that can stall inside
  one C call (sympy's big-integer powers) runs in a worker process that is killed at a CPU-time limit (the same
  verdict on a busy and an idle host): :class:`Isolated`.

Every such row gets ``Verdict(correct=False, details={"reason": "verifier_error", "error": ...})``; results count
them per task (``verifier_errors``). The verifiers themselves are bounded by construction (linear extraction,
depth and size limits); the guard is the backstop, not the mechanism.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.extract import PARSED_CHARS
from reflectevo_bench.tasks.verdict import FunctionVerifier, Verdict, batch_form

TAIL_CHARS = PARSED_CHARS  # characters of a response a verifier sees: the final answer is in the last 32 K
MAX_RESPONSE_CHARS = 16_000_000  # beyond this a response is not verified at all
ROW_BUDGET_S = 5.0  # wall-clock seconds one row may take in a pure (non-sandbox) verifier
VERIFIER_ERROR = "verifier_error"


class VerifierTimeout(Exception):
    """Raised (asynchronously) in a verifying thread whose row ran past its budget."""


def error_verdict(error: str, extracted: str | None = None) -> Verdict:
    """A wrong verdict that says the verifier could not judge the row (and why)."""
    return Verdict(
        False,
        0.0,
        "Your response could not be checked; write a short final answer in the requested format.",
        extracted,
        {"reason": VERIFIER_ERROR, "error": error},
    )


def is_verifier_error(verdict: dict[str, Any] | Verdict | None) -> bool:
    details = (verdict.details if isinstance(verdict, Verdict) else (verdict or {}).get("details")) or {}
    return details.get("reason") == VERIFIER_ERROR


def tail(response: Any) -> tuple[str, dict[str, int] | None]:
    """(the text a verifier sees, the cut note or None): the last ``TAIL_CHARS`` characters of the response."""
    text = response if isinstance(response, str) else ("" if response is None else str(response))
    if len(text) <= TAIL_CHARS:
        return text, None
    return text[-TAIL_CHARS:], {"kept_chars": TAIL_CHARS, "response_chars": len(text)}


def _noted(verdict: Verdict, cut: dict[str, int] | None) -> Verdict:
    if cut is not None:
        verdict.details["cut"] = cut
    return verdict


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


# ------------------------------------------------------------------------------------------------ time budget


def _raise_in(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(VerifierTimeout))


def call_with_budget(fn: Callable[..., Any], *args: Any, budget_s: float = ROW_BUDGET_S) -> Any:
    """``fn(*args)``, interrupted with :class:`VerifierTimeout` after ``budget_s`` seconds, on any thread.

    The interrupt is delivered between Python bytecodes; a single C call that never returns (a huge ``pow``) is
    not interrupted: such work belongs in :class:`Isolated`."""
    lock = threading.Lock()
    state = {"done": False, "fired": False}
    target = threading.get_ident()

    def fire() -> None:
        with lock:
            if not state["done"]:
                state["fired"] = True
                _raise_in(target)

    timer = threading.Timer(budget_s, fire)
    timer.daemon = True
    try:
        timer.start()
        try:
            result = fn(*args)
        finally:
            with lock:
                state["done"] = True
            timer.cancel()
    except VerifierTimeout:
        raise VerifierTimeout(f"ran past its {budget_s:g} s budget") from None
    return result


# ------------------------------------------------------------------------------------------------ the guard


def guarded(
    verifier: Callable[[dict, str], Verdict], doc: dict[str, Any], response: Any, budget_s: float | None = None
) -> Verdict:
    """One row's verdict, whatever the verifier does (see the module docstring); ``budget_s`` defaults to
    ``ROW_BUDGET_S``."""
    budget_s = ROW_BUDGET_S if budget_s is None else budget_s
    text, cut = _checked_input(response)
    if text is None:
        return error_verdict(f"response of {len(response)} characters is over the {MAX_RESPONSE_CHARS} limit")
    try:
        verdict = call_with_budget(verifier, doc, text, budget_s=budget_s)
    except BenchError:
        raise  # the doc or the task is wrong (not the model's output): the run must say so
    except VerifierTimeout as exc:
        return _noted(error_verdict(f"timeout: {exc}"), cut)
    except (Exception, RecursionError, MemoryError) as exc:  # noqa: BLE001 - any failure on model text is a verdict
        return _noted(error_verdict(_describe(exc)), cut)
    if not isinstance(verdict, Verdict):
        return _noted(error_verdict(f"returned {type(verdict).__name__}, not a Verdict"), cut)
    return _noted(verdict, cut)


def _checked_input(response: Any) -> tuple[str | None, dict[str, int] | None]:
    if isinstance(response, str) and len(response) > MAX_RESPONSE_CHARS:
        return None, None
    return tail(response)


def guarded_many(verifier: Any, docs: list[dict[str, Any]], responses: list[Any]) -> list[Verdict]:
    """Verdicts for many rows: the verifier's batch form where it has a real one (code tasks: the sandbox pool,
    which bounds each program itself), every row guarded; one failing row never stops the batch."""
    if len(docs) != len(responses):
        raise BenchError(f"{len(docs)} docs but {len(responses)} responses to verify")
    batch = batch_form(verifier)
    if batch is None or (isinstance(verifier, FunctionVerifier) and verifier.many is None):
        return [guarded(verifier, d, r) for d, r in zip(docs, responses)]
    inputs = [_checked_input(r) for r in responses]
    keep = [i for i, (text, _) in enumerate(inputs) if text is not None]
    out: list[Verdict | None] = [None] * len(docs)
    for i, (text, _) in enumerate(inputs):
        if text is None:
            out[i] = error_verdict(f"response of {len(responses[i])} characters is over the {MAX_RESPONSE_CHARS} limit")
    try:
        verdicts = list(batch([docs[i] for i in keep], [inputs[i][0] for i in keep]))
        if len(verdicts) != len(keep) or not all(isinstance(v, Verdict) for v in verdicts):
            raise TypeError("the batch form did not return one Verdict per response")
    except BenchError:
        raise
    except (Exception, RecursionError) as exc:  # noqa: BLE001 - one row broke the batch: judge each row alone
        del exc
        verdicts = [guarded(verifier, docs[i], responses[i]) for i in keep]
        for i, v in zip(keep, verdicts):
            out[i] = v
        return out  # type: ignore[return-value]
    for i, v in zip(keep, verdicts):
        out[i] = _noted(v, inputs[i][1])
    return out  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------ hard limits


class IsolatedTimeout(Exception):
    """An :class:`Isolated` call ran past its hard limit; its worker was killed."""


class Isolated:
    """Call one importable function (``"module:name"``, JSON arguments and result) under a hard limit of
    ``limit_s`` CPU seconds (and a wall-clock backstop): the limit holds on any thread and inside C calls.

    A worker process (started on first use, ``preload`` modules imported once) forks a child per call and kills it
    at the limit, so a killed call costs no fresh imports (a fork: ~ms). Should the worker itself stop answering,
    it is killed and a spare replaces it. Calls are serialised (one lock)."""

    def __init__(self, preload: tuple[str, ...] = (), warm_up: str | None = None) -> None:
        self.preload = preload + ((f"warm:{warm_up}",) if warm_up else ())
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._spare: subprocess.Popen | None = None
        self._owner = os.getpid()

    def _start(self) -> subprocess.Popen:
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        code = "from reflectevo_bench.tasks.guard import _worker_main; _worker_main()"
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *self.preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        return proc

    def _ready(self, proc: subprocess.Popen) -> subprocess.Popen:
        line = _read_line(proc, 120.0)
        if line is None or json.loads(line) != {"ready": True}:
            _kill(proc)
            raise BenchError("the verifier worker process did not start")
        return proc

    def _worker(self) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            if self._spare is not None and self._spare.poll() is None:
                self._proc, self._spare = self._ready(self._spare), None
            else:
                self._proc = self._ready(self._start())
        return self._proc

    def call(self, ref: str, *args: Any, limit_s: float) -> Any:
        with self._lock:
            if self._owner != os.getpid():  # a forked copy of this process: never share the parent's pipes
                self._proc = self._spare = None
                self._owner = os.getpid()
            proc = self._worker()
            assert proc.stdin is not None
            try:
                proc.stdin.write((json.dumps({"fn": ref, "args": list(args), "limit_s": limit_s}) + "\n").encode())
                proc.stdin.flush()
                line = _read_line(proc, max(ROW_BUDGET_S, 4 * limit_s) + 5.0)  # the worker kills its child: backstop
            except BaseException:  # interrupted (the guard's budget) or a broken pipe: never leave a reply unread
                _kill(proc)
                self._proc = None
                raise
            if line is None:
                _kill(proc)
                self._proc = None
                if self._spare is None:
                    self._spare = self._start()  # imports while the caller goes on
                raise IsolatedTimeout(f"ran past its {limit_s:g} s hard limit")
        reply = json.loads(line)
        if reply.get("timeout"):
            raise IsolatedTimeout(f"ran past its {limit_s:g} s hard limit")
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["ok"]

    def close(self) -> None:
        for proc in (self._proc, self._spare):
            if proc is not None:
                _kill(proc)
        self._proc = self._spare = None


def _kill(proc: subprocess.Popen) -> None:
    try:
        proc.kill()
        proc.wait(timeout=5)
    except Exception:  # noqa: BLE001 - already gone
        pass


def _read_line(proc: subprocess.Popen, timeout_s: float) -> bytes | None:
    """One line from the worker within ``timeout_s`` seconds, else None."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout_s
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return None
        buf += chunk
    return buf


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a child has used so far (``/proc``), so the limit counts the work itself, not
    the wait on a loaded host: the same answer gets the same verdict on a busy and an idle machine."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0  # no /proc: the wall-clock backstop applies


def _worker_main() -> None:  # pragma: no cover - runs in the worker process
    """Read one JSON request a line; run each in a forked child killed at the request's limit; write one reply a
    line. The worker itself (its imports done once) never runs the untrusted work, so it never has to die."""
    import importlib
    import signal

    for module in sys.argv[1:]:
        if module.startswith("warm:"):  # a call that fills lazy imports and caches once, before any fork
            ref = module[len("warm:") :]
            getattr(importlib.import_module(ref.partition(":")[0]), ref.partition(":")[2])()
        else:
            importlib.import_module(module)
    out = sys.stdout.buffer
    out.write(b'{"ready": true}\n')
    out.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: compute, reply through the pipe, exit without cleanup
            os.close(read_fd)
            module, _, name = request["fn"].partition(":")
            try:
                fn = getattr(importlib.import_module(module), name)
                reply = {"ok": fn(*request["args"])}
            except BaseException as exc:  # noqa: BLE001 - reported to the caller
                reply = {"error": _describe(exc)}
            with os.fdopen(write_fd, "wb") as fh:
                fh.write((json.dumps(reply) + "\n").encode())
            os._exit(0)
        os.close(write_fd)
        limit = float(request["limit_s"])
        wall_deadline = time.monotonic() + max(ROW_BUDGET_S, 4 * limit)  # backstop if the host is starved
        chunks = []
        with os.fdopen(read_fd, "rb", buffering=0) as fh:
            while True:
                ready = select.select([fh], [], [], 0.02)[0]
                if not ready:
                    if _cpu_seconds(pid) > limit or time.monotonic() > wall_deadline:
                        os.kill(pid, signal.SIGKILL)
                        chunks = [json.dumps({"timeout": True}).encode() + b"\n"]
                        break
                    continue
                chunk = fh.read(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        os.waitpid(pid, 0)
        reply_line = b"".join(chunks) or (json.dumps({"error": "the worker child died"}).encode() + b"\n")
        out.write(reply_line)
        out.flush()

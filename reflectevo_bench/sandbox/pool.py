"""Executors: run programs in ``fresh`` sandboxes or on a ``pool`` of long-lived sandboxed workers.

``fresh``: a new sandbox (new namespaces, new tmpfs, new worker) per program, torn down right after. Use it
for adversarial code and RL rewards. Non-inline verdicts are judged in yet another fresh sandbox.

``pool``: ``workers`` long-lived sandboxes; each runs every program in a fresh child of a fork server that
never held job data (per-child rlimits, seccomp, deadline, output cap; the namespace is swept of leftover
processes and the tmpfs dirs wiped after every program). A worker takes the next job only after it has
reported itself clean; one that died, hung past the backstop, answered garbage or found itself dirty is
killed and replaced before the next job, whose verdict is never made of another job's frames. Programs
share a sandbox only one after another, never concurrently. A row whose report cannot be judged fails
alone (``run_many`` always returns one result per row).

Both run programs in parallel across ``workers`` slots; each slot owns a pids+memory cgroup when root.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .backends.base import Backend, SandboxError
from .cgroups import CgroupSlot, detect
from .judge import interpret, judge_verdicts
from .limits import Limits, MiB
from .plan import make_plan
from .result import SandboxResult, TestOutcome
from .transport import SandboxBroken

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 30.0
BACKSTOP_S = 5.0


@dataclass
class RunItem:
    program: str
    tests: list[str]
    setup: str = ""
    entry_point: str | None = None


def _as_item(item: Any) -> RunItem:
    if isinstance(item, RunItem):
        return item
    if isinstance(item, Mapping):
        return RunItem(item["program"], list(item["tests"]), item.get("setup") or "", item.get("entry_point"))
    if isinstance(item, (tuple, list)):
        return RunItem(*item)
    raise TypeError(f"cannot run {type(item).__name__}: pass RunItem, a dict or a tuple")


class _Slot:
    """One lane of parallelism: a cgroup and (pool mode) a live sandbox.

    In fresh mode every sandbox gets its own new cgroup, so a finished sandbox can be reaped in the
    background (SIGKILLed at once, waited for and its cgroup removed by the executor's reaper thread).
    """

    def __init__(self, executor: Executor):
        self.executor = executor
        self.cgroup: CgroupSlot | None = None
        self.sandbox = None
        self.oom_baseline = 0
        self.use_cgroups = executor.backend.uses_cgroups() and bool(detect().version)
        if self.use_cgroups and executor.mode == "pool":
            self.cgroup = self._new_cgroup()

    def _new_cgroup(self) -> CgroupSlot:
        lim = self.executor.limits
        return CgroupSlot(lim.pids + 8, lim.memory_bytes + 256 * MiB)

    def oom_count(self) -> int:
        cgroup = self.cgroup or getattr(self, "fresh_cgroup", None)
        return cgroup.oom_kills() if cgroup is not None else 0

    def oom_since_last(self) -> bool:
        """Did the memory cgroup OOM-kill anything since the last call? (one file read)"""
        now = self.oom_count()
        seen, self.oom_baseline = now > self.oom_baseline, now
        return seen

    def start(self, preload: bool):
        ex = self.executor
        if ex.mode == "fresh" and self.use_cgroups:
            self.cgroup = self._new_cgroup()
            self.oom_baseline = 0
            try:
                sandbox = ex.backend.spawn(ex.limits, self.cgroup, preload, STARTUP_TIMEOUT)
            except BaseException:
                self.cgroup.remove()
                self.cgroup = None
                raise
            cgroup, self.cgroup = self.cgroup, None
            sandbox.owned_cgroup = cgroup  # removed once the sandbox is reaped
            self.fresh_cgroup = cgroup
            return sandbox
        return ex.backend.spawn(ex.limits, self.cgroup, preload, STARTUP_TIMEOUT)

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


class Executor:
    """Runs programs against tests in sandboxes; see :func:`reflectevo_bench.sandbox.get_executor`."""

    def __init__(self, backend: Backend, limits: Limits, mode: str, workers: int):
        if mode not in ("fresh", "pool"):
            raise ValueError(f"mode must be 'fresh' or 'pool', got {mode!r}")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.backend = backend
        self.limits = limits
        self.mode = mode
        self.workers = workers
        self.warnings = list(backend.warnings)
        self._wire = limits.to_wire()
        self._slots: queue.Queue[_Slot] = queue.Queue()
        self._all: list[_Slot] = []
        self._lock = threading.Lock()
        self._threads: ThreadPoolExecutor | None = None
        self._reaper: ThreadPoolExecutor | None = None
        self._pending: list = []
        self._closed = False

    # -- slots
    def _take(self) -> _Slot:
        if self._closed:
            raise RuntimeError("executor is closed")
        with self._lock:
            if self._slots.empty() and len(self._all) < self.workers:
                slot = _Slot(self)
                self._all.append(slot)
                return slot
        return self._slots.get()

    def _give(self, slot: _Slot) -> None:
        self._slots.put(slot)

    # -- one request, with the worker lifecycle of the mode
    def _request(self, slot: _Slot, job: dict) -> tuple[dict | None, bool, str | None]:
        """Send a job; returns (answer or None, oom seen, problem text)."""
        timeout = self.limits.timeout_s + BACKSTOP_S
        for attempt in (0, 1):
            fresh = self.mode == "fresh"
            try:
                if slot.sandbox is None or fresh:
                    slot.sandbox = slot.start(preload=not fresh)
            except SandboxBroken as exc:
                slot.sandbox = None
                if attempt == 0:
                    continue
                raise SandboxError(f"{self.backend.name} sandbox cannot start: {exc}") from None
            sandbox = slot.sandbox
            try:
                answer = sandbox.request(job, timeout)
            except SandboxBroken as exc:
                oom = slot.oom_since_last()
                self._retire(sandbox, slot)
                slot.sandbox = None
                if exc.before_job and attempt == 0:
                    continue
                return ({"end": "timeout"} if exc.timed_out else None), oom, str(exc)
            # only a program that died from a signal (or vanished) can have been OOM-killed
            suspicious = answer.get("sig") is not None or answer.get("end") not in ("exit", "closed")
            oom = slot.oom_since_last() if suspicious else False
            if fresh or answer.get("end") in ("worker-error", "lost") or "end" not in answer:
                self._retire(sandbox, slot)
                slot.sandbox = None
            return answer, oom, None
        return None, False, "sandbox unavailable"

    def _retire(self, sandbox, slot: _Slot) -> None:
        """Kill a sandbox now (SIGKILL to everything in it); reap it and remove its cgroup in the background."""
        owned = getattr(sandbox, "owned_cgroup", None)
        if owned is None:
            sandbox.kill()
            return
        sandbox.kill_now()
        if getattr(slot, "fresh_cgroup", None) is owned:
            slot.fresh_cgroup = None

        def reap() -> None:
            sandbox.kill()
            owned.remove()

        with self._lock:
            if self._reaper is None:
                self._reaper = ThreadPoolExecutor(1, thread_name_prefix="sandbox-reaper")
            self._pending.append(self._reaper.submit(reap))

    def _judge(self, slot: _Slot, job: dict) -> dict | None:
        nonce = secrets.token_hex(16)
        job = dict(job, nonce=nonce)
        answer, _, _ = self._request(slot, job)
        return judge_verdicts(answer, nonce, len(job["items"]))

    # -- public API
    def run(self, program: str, tests: Sequence[str], setup: str = "", entry_point: str | None = None) -> SandboxResult:
        """Run ``program`` then ``setup`` then each test unit; the harness alone decides pass/fail."""
        if not isinstance(program, str):
            raise TypeError("program must be a string")
        plan = make_plan(program, list(tests), setup or "", entry_point)
        nonce = secrets.token_hex(16)
        job = {
            "kind": "candidate",
            "nonce": nonce,
            "limits": self._wire,
            "program": program,
            "setup": plan.setup,
            "units": plan.candidate_units(),
        }
        slot = self._take()
        start = time.monotonic()
        try:
            answer, oom, problem = self._request(slot, job)
            if answer is None:
                answer = {"end": "lost", "msg": problem}
            duration = time.monotonic() - start
            try:
                return interpret(
                    plan,
                    nonce,
                    answer,
                    self.backend.name,
                    self.mode,
                    duration,
                    oom,
                    lambda j: self._judge(slot, j),
                    self._wire,
                    self.warnings,
                )
            except SandboxError:
                raise
            except Exception as exc:  # whatever the program sent must fail its own row, never the batch
                log.warning("could not judge a program's report: %s", exc, exc_info=True)
                return SandboxResult(
                    status="failed",
                    tests=[TestOutcome(u.index, u.source, False, "not judged", u.split) for u in plan.units],
                    duration_s=round(duration, 4),
                    backend=self.backend.name,
                    mode=self.mode,
                    error=f"the program's report could not be judged ({type(exc).__name__})",
                    warnings=list(self.warnings),
                )
        finally:
            self._give(slot)

    def run_many(self, items: Iterable[Any]) -> list[SandboxResult]:
        """Run many programs in parallel across ``workers`` slots; results come back in input order.

        Items are :class:`RunItem`, dicts with ``program``/``tests`` (optional ``setup``/``entry_point``) or
        tuples in that order.
        """
        batch = [_as_item(i) for i in items]
        if self._threads is None:
            # long-lived threads: pool sandboxes die with the thread that started them (--die-with-parent)
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")
        return list(self._threads.map(self._run_row, batch))

    def _run_row(self, item: RunItem) -> SandboxResult:
        """One row of a batch: an exception caused by this row fails this row only."""
        try:
            return self.run(item.program, item.tests, item.setup, item.entry_point)
        except (ValueError, RecursionError, MemoryError) as exc:  # infrastructure (SandboxError) stays loud
            return SandboxResult(
                status="error",
                tests=[],
                backend=self.backend.name,
                mode=self.mode,
                error=f"the sandbox could not run this program: {type(exc).__name__}: {str(exc)[:300]}",
                warnings=list(self.warnings),
            )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._threads is not None:
            self._threads.shutdown(wait=True)
        for slot in self._all:
            slot.close()
        if self._reaper is not None:
            self._reaper.shutdown(wait=True)  # every retired sandbox reaped, every cgroup removed
        self.backend.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


__all__ = ["Executor", "RunItem", "TestOutcome"]

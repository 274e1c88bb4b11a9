"""Run model-written code in a real sandbox and judge it so that the verdict cannot be forged.

Usage::

    from reflectevo_bench.sandbox import get_executor

    with get_executor("auto", mode="pool", workers=2) as ex:
        r = ex.run("def add(a, b):\\n    return a + b", ["assert add(1, 2) == 3"])          # MBPP style
        r = ex.run(prompt + completion, [humaneval["test"]], entry_point="add")            # HumanEval style
        results = ex.run_many([{"program": p, "tests": t} for p, t in pairs])
    r.passed, r.status, r.tests[0].error, r.feedback

Tests are Python statements. MBPP: one ``assert`` string per test (``setup`` = ``test_setup_code``, run after
the program). HumanEval: pass the ``test`` source that defines ``check(candidate)`` as the only test and set
``entry_point``; every assert inside ``check`` becomes one :class:`TestOutcome`.

Isolation (see ``backends/``): ``bwrap`` (default; all namespaces, read-only minimal root, tmpfs work dir,
uid 65534, no capabilities, no network), ``unshare`` (fallback, root only; namespaces, uid 65534 and a
minimal root like bwrap's entered with pivot_root: host files are absent), ``docker`` (``[docker]`` extra),
``none`` (explicit opt-in, loud warning). Every backend adds rlimits, a seccomp filter (x86_64), a pids+memory cgroup when root, a wall-clock deadline, an
output cap and a sweep of every leftover process. ``auto`` = bwrap if a probe works, else unshare.

Verdicts. Only the harness decides; exit codes and stdout count for nothing. The program's process reports
on a dedicated fd with a per-run nonce; a run passes only if the program loaded, every unit reported once,
in order, followed by an end record, and every unit was judged correct. For asserts of the shape
``assert f(args) == expected`` (and most other single asserts, see :mod:`.plan`) the program's process only
evaluates ``f(args)`` and returns a builtin value (no subclasses, no custom ``__eq__``); ``expected`` is never
sent to it, and the comparison runs in the harness or in a separate trusted judge process. So ``sys.exit(0)``,
``os._exit(0)``, raising SystemExit/KeyboardInterrupt, replacing ``AssertionError``/builtins/``sys.modules``,
always-equal objects, fake success markers, reading the test source and killing the runner all fail.

General units (statements that cannot be split into program values and a verdict: HumanEval checks with
loops or helpers, 6 of 164; asserts using ``or``, ``if/else``, comprehensions or lambdas around program
calls; comparisons whose every side comes from the program) run in a **trusted check process**, forked
before the program is loaded. There the statement's names are the real builtins and standard-library
modules (a program cannot rebind ``range``, ``AssertionError`` or ``math`` for the check), the test's own
code, and, for the program's names, values fetched from the program's process through the exact codec or
stubs whose calls run there (arguments go over as copies). Only the check process holds the channel its
verdicts are read from (fd 4; it is non-dumpable, so no ``/proc/<pid>/fd``, no ptrace under seccomp):
nothing the program can find in its own memory (``gc``, frames, the runner's reporter, the nonce) or write
to its own descriptors can pass a general unit. A program exception reaches the check as the same builtin
exception type (``StopIteration`` excepted: it would end a check's loop early), with the program's message.

What remains, honestly:

* A general test that needs a program object other than builtin values and functions
  (``f(x) == Pair(1, 2)``) fails with "cannot compare a value of type Pair outside the program" (no
  shipped task has one). Helpers the check calls (``poly`` for HumanEval/32) are the program's: a program
  that redefines the prompt's helper is judged with its own version, as in every HumanEval harness.
* The values a split unit returns are whatever the program computes: a program that knows the test inputs
  (MBPP prompts show the asserts) can hard-code answers. That is a task-design issue, not a sandbox one.
* Names the program really binds are taken at face value inside holes: a test such as
  ``assert f(x) == EXPECTED`` where the program itself defines ``EXPECTED`` is decided by the program (it is
  judged general).

Pool mode keeps programs apart: each runs in a fresh child of a fork server that never held job data, /dev
is read-only (bwrap), IPC objects are refused (seccomp), and a worker takes the next job only after it has
shown itself clean (else it is replaced). Judging untrusted output is bounded (nesting, sizes, hash
collisions, Decimal, costly builtins go to the sandboxed judge) and fails only that row; values arrive
exactly (lone surrogates, subclass members that would collapse in a set are refused with a reason).
"""

from __future__ import annotations

from typing import Any

from .auto import explain_auto
from .backends import NAMES as BACKENDS
from .backends import SandboxError, SandboxUnavailable
from .limits import Limits
from .pool import Executor, RunItem
from .result import STATUSES, SandboxResult, TestOutcome


def default_workers() -> int:
    import os

    return max(1, os.cpu_count() or 1)


def get_executor(
    backend: str = "auto",
    limits: Limits | None = None,
    mode: str = "fresh",
    workers: int | None = None,
    **backend_options: Any,
) -> Executor:
    """An executor with ``run``, ``run_many``, ``close`` (also a context manager).

    ``backend``: auto|bwrap|unshare|docker|none. ``mode``: ``fresh`` (new sandbox per program: adversarial code,
    RL rewards) or ``pool`` (long-lived sandboxed workers forking a child per program: bulk evaluation).
    ``workers`` defaults to the number of CPUs. Raises SandboxUnavailable when the backend cannot run here.
    """
    from .auto import resolve
    from .backends import make_backend

    if mode not in ("fresh", "pool"):
        raise ValueError(f"mode must be 'fresh' or 'pool', got {mode!r}")
    if backend_options:
        chosen = make_backend(backend, **backend_options)
        reason = chosen.unavailable_reason()
        if reason:
            raise SandboxUnavailable(f"sandbox backend {backend!r} is unavailable: {reason}")
    else:
        chosen = resolve(backend)
    return Executor(chosen, limits or Limits(), mode, workers or default_workers())


__all__ = [
    "BACKENDS",
    "STATUSES",
    "Executor",
    "Limits",
    "RunItem",
    "SandboxError",
    "SandboxResult",
    "SandboxUnavailable",
    "TestOutcome",
    "explain_auto",
    "get_executor",
]

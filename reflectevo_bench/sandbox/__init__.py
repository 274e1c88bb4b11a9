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

What remains forgeable, honestly:

* "General" units run inside the program's process: HumanEval checks with loops/helpers (6 of 164),
  asserts that compare program-defined objects (``f(x) == Pair(1, 2)``), and asserts using ``or``,
  ``if/else``, comprehensions or lambdas around program calls. A determined program can patch what such a
  statement calls (builtins, ``math``) or find the runner's reporter in its own memory (``gc``, frames) and
  write forged records. The nonce and the one-record-per-unit rule stop naive forgery only.
  ``TestOutcome.judged_outside`` tells the two kinds apart. A program cannot *add* general units: only
  names it binds with unconditional module-level statements count (``if 0: tuple = ...`` does not).
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


def get_executor(backend: str = "auto", limits: Limits | None = None, mode: str = "fresh",
                 workers: int | None = None, **backend_options: Any) -> Executor:
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


__all__ = ["BACKENDS", "STATUSES", "Executor", "Limits", "RunItem", "SandboxError", "SandboxResult",
           "SandboxUnavailable", "TestOutcome", "explain_auto", "get_executor"]

"""Choosing a backend: ``auto`` is bwrap when a probe sandbox works, else unshare, never ``none``.

The probe starts one real sandbox and runs a tiny program through it, so a bwrap that is installed but
blocked (no user namespaces, seccomp'd container, ...) is detected rather than assumed. Results are cached
per process.
"""

from __future__ import annotations

import threading

from .backends import SandboxUnavailable, make_backend
from .backends.base import Backend
from .limits import Limits

_cache: dict[str, str | None] = {}
_lock = threading.Lock()
AUTO_ORDER = ("bwrap", "unshare")


def probe(name: str) -> str | None:
    """None when backend ``name`` runs a program correctly here; else the reason it does not."""
    with _lock:
        if name in _cache:
            return _cache[name]
        _cache[name] = reason = _probe(name)
        return reason


def _probe(name: str) -> str | None:
    from .pool import Executor

    try:
        backend = make_backend(name)
    except (ValueError, SandboxUnavailable) as exc:
        return str(exc)
    reason = backend.unavailable_reason()
    if reason:
        return reason
    try:
        with Executor(backend, Limits(timeout_s=10), "fresh", 1) as ex:
            result = ex.run("def f(x):\n    return x + 1\n", ["assert f(1) == 2"])
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable here"
        return f"probe sandbox failed: {exc}"
    if not result.passed:
        return f"probe program did not pass ({result.status}: {result.error or result.stderr.strip()[:200]})"
    return None


def choose_auto() -> tuple[str, str]:
    """(backend name, why). Raises SandboxUnavailable when no isolating backend works."""
    reasons = []
    for name in AUTO_ORDER:
        reason = probe(name)
        if reason is None:
            why = f"{name}: probe sandbox ran a test program correctly"
            if reasons:
                why += " (" + "; ".join(reasons) + ")"
            return name, why
        reasons.append(f"{name} unusable: {reason}")
    from .container import container_problem

    problem = container_problem()
    if problem:
        raise SandboxUnavailable(problem)
    raise SandboxUnavailable(
        "no sandbox backend works here: "
        + "; ".join(reasons)
        + ". Install bubblewrap (apt-get install bubblewrap), or pass --sandbox docker;"
        " 'none' runs code unsandboxed and must be chosen explicitly."
    )


def explain_auto() -> str:
    """One line: which backend ``auto`` picks on this machine and why."""
    try:
        name, why = choose_auto()
        return f"auto -> {name} ({why})"
    except SandboxUnavailable as exc:
        return f"auto -> nothing: {exc}"


def resolve(name: str) -> Backend:
    """A ready backend for ``name`` (``auto`` included); SandboxUnavailable with a clear reason if not."""
    if name == "auto":
        name, _ = choose_auto()
        return make_backend(name)
    backend = make_backend(name)
    reason = backend.unavailable_reason()
    if reason:
        raise SandboxUnavailable(f"sandbox backend {name!r} is unavailable: {reason}")
    return backend

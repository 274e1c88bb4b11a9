"""The attack suite: every hostile program in reflectevo_bench.sandbox.attacks, against every backend/mode.

Each attack's tests pass only if the attack worked; containment additionally checks the host (canaries,
listeners, decoy process, files and processes carrying the run's marker) and a follow-up program. bwrap
and unshare always run here; docker runs when an engine is reachable (scripts/ci-docker.sh starts one).
"""

from __future__ import annotations

import os

import pytest

from reflectevo_bench.sandbox.attacks import ATTACKS, by_name
from reflectevo_bench.sandbox.auto import probe
from reflectevo_bench.sandbox.checks import run_suite

BACKENDS = ("bwrap", "unshare", "docker")
MODES = ("fresh", "pool")
_reports: dict[tuple[str, str], dict] = {}


def _skip_reason(backend: str) -> str | None:
    if backend == "docker":
        reason = probe("docker")
        return f"docker backend unavailable: {reason}" if reason else None
    if os.geteuid() != 0 and backend == "unshare":
        return "the unshare backend needs root"
    reason = probe(backend)
    return f"{backend} unavailable: {reason}" if reason else None


def reports_for(backend: str, mode: str) -> dict:
    key = (backend, mode)
    if key not in _reports:
        reason = _skip_reason(backend)
        _reports[key] = {"skip": reason} if reason else {r.attack.name: r for r in run_suite(backend, mode)}
    return _reports[key]


@pytest.mark.parametrize("backend,mode,name", [(b, m, a.name) for b in BACKENDS for m in MODES for a in ATTACKS])
def test_attack_is_contained(backend: str, mode: str, name: str) -> None:
    reports = reports_for(backend, mode)
    if "skip" in reports:
        pytest.skip(reports["skip"])
    rep = reports[name]
    if rep.skipped:
        pytest.skip(rep.skipped)
    if rep.weak:
        pytest.xfail(f"documented weakness of {backend}: {rep.attack.description} ({'; '.join(rep.problems)})")
    assert not rep.problems, (
        f"{name} ({rep.attack.description}) escaped {backend}/{mode}: "
        f"{rep.problems}; status={rep.status} error={rep.error}"
    )
    assert rep.status != "passed"


def test_catalogue_is_large_and_distinct() -> None:
    assert len(ATTACKS) >= 40
    assert len(by_name()) == len(ATTACKS)
    assert {a.category for a in ATTACKS} >= {
        "resources",
        "network",
        "secrets",
        "filesystem",
        "processes",
        "kernel",
        "forgery",
    }


def test_checker_detects_escapes_without_a_sandbox(caplog) -> None:
    """The same checker against backend 'none' must report escapes: the containment tests can fail."""
    wanted = [
        "scan_all_environ",
        "read_host_tmp_canary",
        "write_host_tmp",
        "proc_find_host_process",
        "read_env_canary",
        "net_host_loopback",
        "setsid_daemon",
        "os_exit_before_tests",
    ]
    reports = {r.attack.name: r for r in run_suite("none", "fresh", attacks=[by_name()[n] for n in wanted])}
    escaped = {n for n, r in reports.items() if r.escaped}
    assert escaped >= {"scan_all_environ", "read_host_tmp_canary", "write_host_tmp", "proc_find_host_process"}, {
        n: r.problems for n, r in reports.items()
    }
    # what 'none' still keeps: a clean environment and the seccomp filter (no AF_INET sockets)
    assert not reports["read_env_canary"].escaped and not reports["net_host_loopback"].escaped
    # verdict forgery stays impossible even unsandboxed: it is the harness that judges
    assert not reports["os_exit_before_tests"].escaped
    # the daemon escaped the (absent) pid namespace but the worker's subreaper sweep still killed it
    assert not reports["setsid_daemon"].escaped, reports["setsid_daemon"].problems
    assert any("NOT SANDBOXED" in m for m in caplog.messages)

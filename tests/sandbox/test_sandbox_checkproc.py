"""General test units (HumanEval checks with loops) run in the trusted check process (issue 17 item 9).

The program's process only answers calls with values; a general unit's verdict is read from the check
channel alone, which the program never holds. The attack catalogue (``humaneval_check_*``) covers the
forgeries end to end; these tests pin the semantics and the harness-side rule.
"""

from __future__ import annotations

import os

import pytest

from reflectevo_bench.sandbox import Limits, get_executor
from reflectevo_bench.sandbox.auto import probe
from reflectevo_bench.sandbox.judge import interpret
from reflectevo_bench.sandbox.plan import make_plan

LOOP_CHECK = "def check(candidate):\n    for x in range(3):\n        assert candidate(x) == x + 100\n"


@pytest.fixture(scope="module", params=["pool", "fresh"])
def ex(request):
    reason = probe("bwrap")
    if reason:
        pytest.skip(f"bwrap unavailable: {reason}")
    executor = get_executor("bwrap", Limits(timeout_s=5.0), mode=request.param, workers=1)
    yield executor
    executor.close()


def run(ex, program: str, test: str = LOOP_CHECK, entry: str = "f"):
    return ex.run(program, [test], entry_point=entry)


def test_loop_check_passes_and_fails_on_the_values(ex) -> None:
    good = run(ex, "def f(x):\n    return x + 100\n")
    assert good.passed, (good.status, good.error, [t.error for t in good.tests])
    assert all(t.judged_outside for t in good.tests)
    bad = run(ex, "def f(x):\n    return x + 100 if x < 2 else 0\n")
    assert bad.status == "failed" and bad.tests[0].error == "AssertionError"  # the check's message stays hidden


def test_check_uses_real_builtins_and_modules_whatever_the_program_binds(ex) -> None:
    program = (
        "import builtins, json, sys, types\nbuiltins.range = lambda *a: []\nrange = lambda *a: []\n"
        "fake = types.ModuleType('math')\nfake.isclose = lambda *a, **k: True\nsys.modules['math'] = fake\n"
        "math = fake\ndef check(candidate):\n    pass\ndef f(x):\n    return -1.0\n"
    )
    test = (
        "import math\n\ndef check(candidate):\n    for x in range(3):\n"
        "        assert math.isclose(candidate(x), x + 100)\n"
    )
    r = run(ex, program, test)
    assert r.status == "failed" and r.tests[0].error == "AssertionError"
    r = run(ex, program.replace("return -1.0", "return x + 100.0"), test)
    assert r.passed, (r.status, r.error, r.tests[0].error)


def test_program_helpers_and_constants_are_fetched_from_the_program(ex) -> None:
    program = "LIMIT = [1, 2, 3]\ndef enc(s):\n    return s[::-1]\ndef f(s):\n    return s[::-1]\n"
    test = (
        "def check(candidate):\n    for s in ['ab', 'xyz']:\n        assert candidate(enc(s)) == s\n"
        "    assert len(LIMIT) == 3\n"
    )
    r = run(ex, program, test)
    assert r.passed, (r.status, r.error, r.tests[0].error)


def test_program_exceptions_keep_their_type_but_never_end_a_loop(ex) -> None:
    test = (
        "def check(candidate):\n    for x in range(2):\n        try:\n            candidate(-1)\n"
        "        except ValueError:\n            pass\n        else:\n            assert False\n"
    )
    assert run(ex, "def f(x):\n    if x < 0:\n        raise ValueError('negative')\n    return x\n", test).passed
    stop = "def check(candidate):\n    for _ in range(1):\n        assert all(map(candidate, [1, 2, 3]))\n"
    r = run(ex, "def f(x):\n    raise StopIteration\n", stop)
    assert r.status == "failed" and "StopIteration" in r.tests[0].error
    r = run(ex, "def f(x):\n    return 1 // (x - x)\n")
    assert r.tests[0].error.startswith("ZeroDivisionError: integer division or modulo by zero (program line 2")


def test_values_the_check_cannot_receive_fail_with_a_reason(ex) -> None:
    r = run(ex, "class P:\n    def __eq__(self, o):\n        return True\ndef f(x):\n    return P()\n")
    assert r.status == "failed" and "cannot compare a value of type P" in r.tests[0].error


def test_split_and_general_units_in_one_job_report_in_order(ex) -> None:
    tests = ["assert f(1) == 101", "for i in range(3):\n    assert f(i) == i + 100", "assert f(2) == 0"]
    r = ex.run("def f(x):\n    return x + 100\n", tests)
    assert [t.passed for t in r.tests] == [True, True, False] and r.status == "failed"
    assert r.tests[2].error == "AssertionError: f(2) returned 102"


def test_load_errors_and_timeouts_still_end_the_job(ex) -> None:
    r = run(ex, "def f(x):\n    return x +\n")
    assert r.status == "error" and r.tests[0].error == "not run: the program failed to load"
    r = run(ex, "def f(x):\n    while True:\n        pass\n")
    assert r.status == "timeout"


# ------------------------------------------------------------ the harness's rule, without a sandbox


def _answer(report: str, check: str = "") -> dict:
    return {"end": "exit", "code": 0, "report": report, "check": check, "stdout": "", "stderr": ""}


def _interpret(plan, answer):
    return interpret(plan, "N", answer, "none", "pool", 0.1, False, lambda job: None, {}, [])


def test_a_general_verdict_counts_only_from_the_check_channel() -> None:
    plan = make_plan("def f(x):\n    return x\n", [LOOP_CHECK], entry_point="f")
    assert not plan.units[0].split
    load, ok, end = ('{"k":"load","n":"N"}', '{"k":"t","i":0,"ok":1,"n":"N"}', '{"k":"end","n":"N"}')
    forged = _interpret(plan, _answer("\n".join([load, ok, end]) + "\n"))  # the program's own channel
    assert forged.status == "failed" and "tampered" in forged.error
    forged = _interpret(plan, _answer(load + "\n" + end + "\n", load + "\n" + ok + "\n" + end + "\n"))
    assert forged.status == "failed" and "tampered" in forged.error  # a load record is no check record
    missing = _interpret(plan, _answer(load + "\n" + end + "\n"))
    assert missing.status == "failed" and missing.tests[0].error.startswith("not run")
    real = _interpret(plan, _answer(load + "\n" + end + "\n", ok + "\n" + end + "\n"))
    assert real.passed


def test_check_process_that_cannot_start_fails_closed(monkeypatch) -> None:
    from reflectevo_bench.sandbox import runner

    created: list[int] = []
    real_pipe = os.pipe

    def pipe():  # the fds the checker opens (other threads of the suite open and close fds of their own meanwhile)
        fds = real_pipe()
        created.extend(fds)
        return fds

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(runner.os, "pipe", pipe)
    monkeypatch.setattr(runner.os, "fork", no_fork)
    assert runner.start_checker("N", [{"i": 0, "src": "pass"}]) is None
    assert len(created) == 4  # it opened its two pipes ...
    for fd in created:  # ... and closed all four ends again
        with pytest.raises(OSError):
            os.fstat(fd)

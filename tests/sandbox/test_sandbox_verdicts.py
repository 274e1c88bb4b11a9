"""Pure (no sandbox) tests of how verdicts are split, transported and judged."""

from __future__ import annotations

import collections
import json

import pytest

from reflectevo_bench.sandbox.codec import CodecError, Snapshot, decode, encode
from reflectevo_bench.sandbox.judge import NotSafe, interpret, parse_report, safe_eval
from reflectevo_bench.sandbox.plan import make_plan
from reflectevo_bench.sandbox.runner import dumps


def units(program, tests, **kw):
    return make_plan(program, tests, **kw).units


def test_equality_assert_is_split() -> None:
    (u,) = units("def f(a, b):\n    return a + b\n", ["assert f(1, 2) == 3"])
    assert u.split and u.holes == ["f(1, 2)"] and u.verdict == "__h0 == 3"


@pytest.mark.parametrize(
    "test,holes,verdict",
    [
        ("assert math.isclose(area(2), 12.5, rel_tol=0.001)", ["area(2)"], "math.isclose(__h0, 12.5, rel_tol=0.001)"),
        ("assert sorted(f(x)) == [1, 2]", ["f(x)"], "sorted(__h0) == [1, 2]"),
        ("assert set(f([1])) == set([1])", ["f([1])"], "set(__h0) == set([1])"),
        ("assert sorted(f(1), key=lambda t: t[1]) == []", ["f(1)"], "sorted(__h0, key=lambda t: t[1]) == []"),
        ("assert f(1)[0] == 2 and not f(2)", ["f(1)[0]", "f(2)"], "__h0 == 2 and (not __h1)"),
        ("assert Solution().run(3) is None", ["Solution().run(3)"], "__h0 is None"),
        ("assert f(1)", ["f(1)"], "__h0"),
    ],
)
def test_split_shapes(test: str, holes: list[str], verdict: str) -> None:
    program = "import math\nx = 1\ndef f(v):\n    return v\ndef area(r):\n    return r\nclass Solution:\n    pass\n"
    (u,) = units(program, [test])
    assert u.holes == holes and u.verdict == verdict


@pytest.mark.parametrize(
    "test",
    [
        "assert f(1) == Pair(1, 2)",  # every side comes from the program
        "assert all(f(x) for x in range(3))",  # program call per comprehension item
        "assert f(1) == 1 or f(2) == 2",  # conditional evaluation
        "for i in range(3):\n    assert f(i) == i",  # not a single assert
    ],
)
def test_general_shapes(test: str) -> None:
    (u,) = units("def f(v):\n    return v\nclass Pair:\n    pass\n", [test])
    assert not u.split and u.general


def test_program_cannot_shadow_test_modules_or_builtins() -> None:
    (u,) = units("class math:\n    isclose = None\ndef f():\n    return 1\n", ["assert math.isclose(f(), 1)"])
    assert u.holes == ["f()"]  # math stays the real module, judged outside
    (u,) = units("def sorted(x):\n    return x\ndef f():\n    return [2, 1]\n", ["assert sorted(f()) == [1, 2]"])
    assert u.holes == ["sorted(f())"]  # the program's own sorted is part of what it answers


def test_humaneval_check_is_decomposed() -> None:
    test = (
        "METADATA = {'x': 1}\n\ndef check(candidate):\n    print\n    assert candidate(1) == 2\n"
        "    lst = list(range(3))\n    total = sum([i for i in lst])\n    assert candidate(lst) == total\n"
    )
    plan = make_plan("def inc(x):\n    return x + 1\n", [test], entry_point="inc")
    assert [u.holes for u in plan.units] == [["inc(1)"], ["inc(lst)"]]
    assert plan.units[1].verdict == "__h0 == total"
    assert "lst = list(range(3))" in plan.setup and "METADATA" in plan.setup
    assert "total = sum([i for i in lst])" in plan.imports


def test_expected_values_never_reach_the_candidate() -> None:
    plan = make_plan("def f(x):\n    return x\n", ["assert f(2) == 31337", "assert sorted(f([1])) == [98765]"])
    job = json.dumps(plan.candidate_units())
    assert "31337" not in job and "98765" not in job


def test_codec_roundtrip_and_rejections() -> None:
    for value in (
        None,
        True,
        -(2**200),
        0.1,
        float("inf"),
        1 + 2j,
        "é\udc80",
        b"\x00",
        [1, (2, {3})],
        {(1, 2): frozenset({4})},
        collections.Counter("aab"),
        collections.deque([1]),
    ):
        assert decode(json.loads(dumps(encode(value)))) == value or value != value
    assert list(decode(encode(i for i in range(3)))) == [0, 1, 2]
    assert decode(encode(iter([1]))) != [1] and isinstance(decode(encode(range(2))), Snapshot)

    class Liar(int):
        def __eq__(self, other):
            return True

    assert decode(encode(Liar(0))) == 0 and decode(encode(Liar(0))) != 42
    for bad in (object(), lambda: 1, type):
        with pytest.raises(CodecError):
            encode(bad)
    loop: list = []
    loop.append(loop)
    with pytest.raises(CodecError):
        encode(loop)
    for tree in (["x"], ["i", "zz"], ["d", [[["l", []], ["n"]]]], ["l", "notalist"], "str", ["f", "1" * 50]):
        with pytest.raises(CodecError):
            decode(tree)


def test_safe_eval() -> None:
    assert safe_eval("math.isclose(__h0, 3.14, rel_tol=0.01)", [3.141])
    assert safe_eval("abs(__h0 - 1) < 1e-6 and isinstance(__h0, float)", [1.0])
    assert safe_eval("sorted(__h0) == [1, 2]", [Snapshot((2, 1))])
    with pytest.raises(NotSafe):
        safe_eval("__import__('os')", [])
    with pytest.raises(NotSafe):
        safe_eval("__h0 ** 10 ** 10", [7])


def _rec(nonce, **kw):
    return json.dumps(dict(kw, n=nonce))


def test_report_channel_rules() -> None:
    n = "abc"
    ok = "\n".join([_rec(n, k="load"), _rec(n, k="t", i=0, ok=1), _rec(n, k="end")])
    assert parse_report(ok, n, 1)[2:] == (True, None)
    cases = {
        "foreign nonce": "\n".join([_rec("zzz", k="load")]),
        "duplicate": "\n".join([_rec(n, k="load"), _rec(n, k="t", i=0, ok=1), _rec(n, k="t", i=0, ok=1)]),
        "early end": "\n".join([_rec(n, k="load"), _rec(n, k="end")]),
        "garbage": "not json",
        "after end": "\n".join([_rec(n, k="load"), _rec(n, k="t", i=0, ok=1), _rec(n, k="end"), _rec(n, k="end")]),
    }
    for name, raw in cases.items():
        _, _, complete, tamper = parse_report(raw, n, 1)
        assert not complete and tamper, name


def test_split_unit_needs_values_not_ok() -> None:
    plan = make_plan("def f():\n    return 0\n", ["assert f() == 3"])
    n = "nonce"
    raw = "\n".join([_rec(n, k="load"), _rec(n, k="t", i=0, ok=1), _rec(n, k="end")])
    r = interpret(plan, n, {"end": "closed", "report": raw}, "bwrap", "fresh", 0.1, False, lambda j: None, {}, [])
    assert r.status == "failed" and not r.passed
    raw = "\n".join([_rec(n, k="load"), _rec(n, k="t", i=0, v=[["i", "3"]]), _rec(n, k="end")])
    r = interpret(plan, n, {"end": "closed", "report": raw}, "bwrap", "fresh", 0.1, False, lambda j: None, {}, [])
    assert r.passed  # the claim "f() returned 3" is judged by the harness: 3 == 3

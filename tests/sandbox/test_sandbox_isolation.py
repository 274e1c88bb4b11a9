"""Issue 13: no program reaches another program's verdict, and no output crashes or stalls the judge.

The attack catalogue (test_sandbox_attacks.py) holds one or more hostile programs per class; these tests
pin the mechanisms directly: the pool's fork server and ready/bye protocol, the planner's live bindings,
exact transport, bounded judging, a verdict for every row of a hostile batch, and the shared runner copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from reflectevo_bench.sandbox import Limits, get_executor
from reflectevo_bench.sandbox.auto import probe
from reflectevo_bench.sandbox.codec import CodecError, decode, encode
from reflectevo_bench.sandbox.judge import clean_text, parse_report
from reflectevo_bench.sandbox.plan import make_plan

P61 = 2**61 - 1


def _backend() -> str:
    reason = probe("bwrap")
    if reason:
        pytest.skip(f"bwrap unavailable: {reason}")
    return "bwrap"


@pytest.fixture(scope="module")
def pool():
    with get_executor(_backend(), Limits(timeout_s=3.0, memory_bytes=256 << 20), mode="pool", workers=1) as ex:
        yield ex


# ------------------------------------------------------------------------------ class 3: the planner


@pytest.mark.parametrize(
    "program",
    [
        "if 0:\n    tuple = sorted = None\n",
        "try:\n    tuple = None\nexcept Exception:\n    pass\n",
        "def g():\n    global tuple\n    tuple = None\n",
        "tuple = None\ndel tuple\n",
        "for tuple in []:\n    pass\n",
    ],
)
def test_dead_or_conditional_bindings_do_not_widen_trust(program: str) -> None:
    (u,) = make_plan(program + "def f(x):\n    return x\n", ["assert f(1) == tuple([1, 2])"]).units
    assert u.split and u.verdict == "__h0 == tuple([1, 2])"


def test_live_bindings_still_count() -> None:
    (u,) = make_plan("tuple = list\ndef f(x):\n    return x\n", ["assert f(1) == tuple([1, 2])"]).units
    assert not u.split  # the program really rebinds tuple: the assert means the program's tuple
    (u,) = make_plan("def sum(a, b):\n    return a\n", ["assert sum(10, 15) == 6"]).units  # MBPP task 126
    assert u.split and u.holes == ["sum(10, 15)"]


def test_check_data_names_bound_in_dead_code_keep_the_check_split() -> None:
    test = "def check(candidate):\n    lst = [1, 2]\n    assert candidate(lst) == [2, 1]\n"
    (u,) = make_plan("if 0:\n    lst = None\ndef g(l):\n    return l\n", [test], entry_point="g").units
    assert u.split


def test_unparseable_program_widens_nothing() -> None:
    (u,) = make_plan("def f(:\n", ["assert f(1) == tuple([1])"]).units
    assert u.split


# ------------------------------------------------------------------------- class 4: exact transport


@pytest.mark.parametrize("value", ["\ud83d\ude00", "\U0001f600", "a\udc80b", "\u2028\x85\x1c", "é" * 3, ""])
def test_strings_round_trip_exactly(value: str) -> None:
    tree = encode(value)
    line = json.dumps({"v": tree}, ensure_ascii=False)  # what the report channel carries
    assert decode(json.loads(line)["v"]) == value
    assert len(decode(json.loads(line)["v"])) == len(value)


def test_collapsing_or_colliding_members_are_refused() -> None:
    with pytest.raises(CodecError, match="equal as plain values"):
        decode(["S", [["i", "1"], ["i", "1"]]])
    with pytest.raises(CodecError, match="equal as plain values"):
        decode(["d", [[["s", "a"], ["i", "1"]], [["s", "a"], ["i", "2"]]]])
    start = time.monotonic()
    with pytest.raises(CodecError, match="share one hash"):
        decode(["S", [["i", format(k * P61, "x")] for k in range(100_000)]])
    assert time.monotonic() - start < 2.0
    assert decode(["S", [["i", "-1"], ["i", "-2"]]]) == {-1, -2}  # a few equal hashes are fine


def test_records_split_only_on_newline() -> None:
    nonce = "n0"
    raw = "\n".join(
        json.dumps(r, ensure_ascii=False)
        for r in (
            {"k": "load", "n": nonce},
            {"k": "t", "i": 0, "v": [["s", "a\u2028b\x85c"]], "n": nonce},
            {"k": "end", "n": nonce},
        )
    )
    load, recs, complete, tamper = parse_report(raw, nonce, 1)
    assert complete and tamper is None and recs[0]["v"] == [["s", "a\u2028b\x85c"]]


def test_exactness_end_to_end(pool) -> None:
    cases = [
        ("def f():\n    return 'a\u2028b'\n", "assert f() == 'a\u2028b'", True),
        ("def f():\n    return '\\ud83d\\ude00'\n", "assert f() == '\\U0001F600'", False),
        ("def f():\n    return '\\ud83d\\ude00'\n", "assert f() == '\\ud83d\\ude00'", True),
        (
            "class I(int):\n    def __eq__(s, o):\n        return s is o\n    __hash__ = int.__hash__\n"
            "def f():\n    return {1, I(1)}\n",
            "assert f() == {1}",
            False,
        ),
    ]
    for program, test, ok in cases:
        r = pool.run(program, [test])
        assert r.passed is ok, (test, r.status, r.error, r.tests[0].error)
    r = pool.run(cases[3][0], [cases[3][1]])
    assert "equal as plain values" in r.tests[0].error


# ------------------------------------------------------------------- class 6: bounded judge-side work

HOSTILE = [
    ("import os\nos.write(3, b'[' * 200000 + b'\\n')\ndef f():\n    return 1\n", ["assert f() == 1"]),
    ("def f():\n    raise ValueError('\\udc80\\ud800')\n", ["assert f() == 1"]),
    ("raise ValueError('\\udfff' * 10)\n", ["assert f() == 1"]),
    (
        "from decimal import Decimal\ndef f():\n    return Decimal('1e999999999')\n",
        ["assert int(f()) == 1", "assert round(f()) == 1"],
    ),
    ("def f():\n    return {k * (2 ** 61 - 1) for k in range(3000)}\n", ["assert f() == {0}"]),
    ("def g():\n    return [k * (2 ** 61 - 1) for k in range(8000)]\n", ["assert set(g()) == {0}"]),
    (
        "import gc, os\nfor o in gc.get_objects():\n    if callable(o) and getattr(o, '__name__', '') == 'report'"
        " and getattr(o, '__closure__', None):\n        o({'k': 'load', 'err': [[[1]]]})\n        os._exit(0)\n",
        ["assert f() == 1"],
    ),
    ("import os\nos.kill(-1, 9)\ndef f():\n    return 1\n", ["assert f() == 2"]),
    ("import os\nfor _ in range(2000):\n    os.mkdir('d')\n    os.chdir('d')\n", ["assert 1 == 2"]),
]
CORRECT = ("def f(x):\n    return x * 2\n", ["assert f(2) == 4", "assert f(-1) == -2"])


def test_a_hostile_batch_gets_a_result_for_every_row(pool) -> None:
    items = []
    for program, tests in HOSTILE:
        items += [{"program": program, "tests": tests}, {"program": CORRECT[0], "tests": CORRECT[1]}]
    start = time.monotonic()
    results = pool.run_many(items)
    assert len(results) == len(items)
    assert time.monotonic() - start < 120
    for item, result in zip(items, results):
        correct = item["program"] == CORRECT[0]
        assert result.passed is correct, (item["program"][:60], result.status, result.error)
        json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # every text is writable as UTF-8


def test_a_judging_exception_fails_only_its_row(pool, monkeypatch) -> None:
    from reflectevo_bench.sandbox import pool as pool_module

    real = pool_module.interpret

    def flaky(plan, *args, **kwargs):
        if "boom" in plan.units[0].source:
            raise RuntimeError("judge bug")
        return real(plan, *args, **kwargs)

    monkeypatch.setattr(pool_module, "interpret", flaky)
    results = pool.run_many(
        [{"program": CORRECT[0], "tests": ["assert f(1) == 2 or 'boom'"]}, {"program": CORRECT[0], "tests": CORRECT[1]}]
    )
    assert results[0].status == "failed" and "could not be judged" in results[0].error
    assert results[1].passed


def test_clean_text_escapes_lone_surrogates_only() -> None:
    assert clean_text("a\udc80b") == "a\\udc80b"
    assert clean_text("é\U0001f600") == "é\U0001f600"
    assert clean_text(None) is None


def test_mbpp_verdicts_for_hostile_rows_are_writable(sandbox_pool_bwrap) -> None:
    from reflectevo_bench.tasks.mbpp.verifier import verify_many

    doc = {"task_id": 1, "text": "double", "code": CORRECT[0], "test_list": CORRECT[1], "test_setup_code": ""}
    responses = [f"```python\n{p}\n```" for p, _ in HOSTILE] + [f"```python\n{CORRECT[0]}```"]
    verdicts = verify_many([doc] * len(responses), responses)
    assert len(verdicts) == len(responses) and verdicts[-1].correct
    assert not any(v.correct for v in verdicts[:-1])
    for v in verdicts:
        json.dumps({"feedback": v.feedback, "details": v.details}, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def sandbox_pool_bwrap():
    from reflectevo_bench.tasks.common import code_execution as execution

    _backend()
    execution.configure(backend="bwrap", workers=1, timeout_s=3.0)
    yield
    execution.configure()


# ---------------------------------------------------------- class 1-2: the pool's worker protocol


def test_fork_server_children_never_see_earlier_jobs(pool) -> None:
    secret = "SECRET-" + os.urandom(6).hex()
    pool.run(f"KEEP = {secret!r}\ndef f():\n    return 0\n", [f"assert f() == {secret!r}.lower()"])
    probe_program = textwrap.dedent(f"""
        import ctypes
        def f():
            needle, before = {secret[:7]!r}.encode() + {secret[7:]!r}.encode(), b"KEEP = " + b"'"
            for line in open('/proc/self/maps'):
                fields = line.split()
                lo, hi = (int(x, 16) for x in fields[0].split('-'))
                if fields[1][0] != 'r' or hi - lo > (512 << 20) or fields[5:6] not in ([], ['[heap]'], ['[stack]']):
                    continue
                data = ctypes.string_at(lo, hi - lo)
                i = data.find(needle)
                while i >= 0:
                    if data[i - len(before):i] == before:
                        return 'found'
                    i = data.find(needle, i + 1)
            return 'clean'
    """)
    r = pool.run(probe_program, ["assert f() == 'clean'"])
    assert r.passed, r.tests[0].error


def test_a_dirty_worker_is_replaced_before_the_next_job(pool) -> None:
    for hostile in (
        "import os\nfor _ in range(40):\n    os.mkdir('x' * 250)\n    os.chdir('x' * 250)\n",
        "import os, signal\nfor p in os.listdir('/proc'):\n"
        "    if p.isdigit() and int(p) not in (1, os.getpid()):\n"
        "        os.kill(int(p), signal.SIGSTOP)\n",
    ):
        pool.run(hostile, ["assert 1 == 2"])
        r = pool.run(CORRECT[0], CORRECT[1])
        assert r.passed, (r.status, r.error)


# ------------------------------------------------------------------------------------- class 5, 7


def test_unshare_hides_the_host_file_system() -> None:
    if os.geteuid() != 0:
        pytest.skip("the unshare backend needs root")
    reason = probe("unshare")
    if reason:
        pytest.skip(reason)
    with get_executor("unshare", Limits(timeout_s=5), mode="fresh", workers=1) as ex:
        r = ex.run(
            "import os\ndef f():\n    return [p for p in ('/work', '/etc/passwd', '/home', %r) "
            "if os.path.exists(p)], open('/proc/cmdline').read()\n" % __file__,
            ["assert f() == 0"],
        )
    assert "returned ([], '')" in r.tests[0].error, r.tests[0].error


@pytest.fixture
def open_tmp():
    """A fresh temporary directory uid 65534 can traverse (pytest's tmp_path sits below a 0700 dir)."""
    import shutil
    import tempfile
    from pathlib import Path

    path = tempfile.mkdtemp(prefix="reflectevo-test-", dir="/tmp")
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path, ignore_errors=True)


def test_a_killed_harness_leaves_no_new_runner_copy(open_tmp) -> None:
    _backend()
    tmp_path = open_tmp
    env = dict(os.environ, TMPDIR=str(tmp_path))
    code = (
        "from reflectevo_bench.sandbox import get_executor\nimport os, sys\n"
        "ex = get_executor('bwrap', mode='pool', workers=1)\n"
        "assert ex.run('def f():\\n    return 1\\n', ['assert f() == 1']).passed\n"
        "print('ready', flush=True)\nimport time\ntime.sleep(60)\n"
    )
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
        )
        assert proc.stdout.readline().strip() == b"ready"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    copies = [p.name for p in tmp_path.iterdir() if p.name.startswith("reflectevo-runner-")]
    assert len(copies) == 1 and copies[0].startswith(f"reflectevo-runner-{os.geteuid()}-"), copies


# ------------------------------------------------- class 2: the harness side of the protocol, no sandbox


class FakeChannel:
    """A JobChannel whose worker is a script of frames (what a worker would write after each job)."""

    def __init__(self, script):
        from reflectevo_bench.sandbox.transport import JobChannel

        class Channel(JobChannel):
            pass

        self.channel = Channel()
        self.sent: list[dict] = []
        self.script = script
        self.channel._recv = self._recv
        self.channel._send_job = self._send
        self.channel._idle_frame_pending = lambda: False

    def _send(self, data, deadline):
        import marshal

        self.sent.append(marshal.loads(data[4:]))

    def _recv(self, deadline):
        from reflectevo_bench.sandbox.transport import SandboxBroken

        if not self.script:
            raise SandboxBroken("sandbox exited")
        frame = self.script.pop(0)
        return (
            frame(self.sent[-1]["id"], self.sent[-2]["id"] if len(self.sent) > 1 else None)
            if callable(frame)
            else frame
        )


def test_protocol_reads_an_answer_only_after_the_previous_ready() -> None:
    from reflectevo_bench.sandbox.transport import SandboxBroken

    answer = lambda jid, prev: {"end": "exit", "id": jid}  # noqa: E731
    ready = lambda jid, prev: {"ready": prev}  # noqa: E731
    fake = FakeChannel([answer, ready, answer])
    assert fake.channel.exchange({"k": 1}, 1.0)["end"] == "exit"
    assert fake.channel.exchange({"k": 2}, 1.0)["id"] == fake.sent[-1]["id"]
    # a worker that retires after the job: the next job never ran there (before_job), whatever follows
    fake = FakeChannel([answer, {"bye": "dirty", "id": "x"}, answer])
    fake.channel.exchange({"k": 1}, 1.0)
    with pytest.raises(SandboxBroken) as info:
        fake.channel.exchange({"k": 2}, 1.0)
    assert info.value.before_job and "dirty" in str(info.value)
    # a frame of another job is never taken as this job's answer
    fake = FakeChannel([{"end": "exit", "id": "someone else"}])
    with pytest.raises(SandboxBroken) as info:
        fake.channel.exchange({"k": 1}, 1.0)
    assert not info.value.before_job
    # silence instead of ready: replaced before the job counts as sent
    fake = FakeChannel([answer])
    fake.channel.exchange({"k": 1}, 1.0)
    with pytest.raises(SandboxBroken) as info:
        fake.channel.exchange({"k": 2}, 1.0)
    assert info.value.before_job

"""Sandbox soak: many pool executions mixing hostile and correct programs; prints the resource trend.

    python benchmarks/sandbox_soak.py [--n 10000] [--hostile-every 5] [--backend bwrap] [--workers 2]

Correct programs are the 500 MBPP reference programs of the ReflectEvo test split (cycled); every
``--hostile-every``-th execution is one of the hostile programs below (fork bomb, kill(-1), cleanup traps,
/dev and IPC planting, daemons, floods, judge-side bombs, forgeries), and every ``--probe-every``-th a probe
that reports what the next program finds in its sandbox (processes, tmpfs root, /dev, /dev/shm, System V
objects, descriptors). After each ``--report-every`` executions one line: executions, correct passed /
total, hostile passed (must stay 0), probe mismatches (must stay 0), and the harness's RSS, open
descriptors, descendant processes, its reflectevo entries in /tmp and its sandbox cgroups. Exit 1 if a
correct program failed, a hostile one passed, a probe saw leftovers, or a resource grew between the first
and the last report (RSS by more than ``--rss-slack`` MiB, anything else at all).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reflectevo_bench.sandbox import Limits, SandboxUnavailable, get_executor  # noqa: E402
from reflectevo_bench.sandbox.cgroups import detect  # noqa: E402

NEVER = ["assert f() == 'never'"]
HOSTILE: list[tuple[str, str, list[str]]] = [
    ("kill_all", "import os\nos.kill(-1, 9)\ndef f():\n    return 1\n", NEVER),
    ("deep_dirs", "import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n", NEVER),
    ("long_path", "import os\nfor _ in range(24):\n    os.mkdir('x' * 250)\n    os.chdir('x' * 250)\n", NEVER),
    (
        "fill_dev",
        "def f():\n    n = 0\n    for d in ('/dev', '/dev/shm'):\n        k = 0\n        try:\n"
        "            while n < (64 << 20):\n                k += 1\n"
        "                open('%s/fill%d' % (d, k), 'wb').write(b'x' * (4 << 20))\n                n += 4 << 20\n"
        "        except OSError:\n            pass\n    return n\n",
        ["assert f() >= 64 << 20"],
    ),
    (
        "ipc_plant",
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def f():\n    return libc.mq_open(b'/soak', 0o100 | 2, 0o666, None), libc.syscall(68, 0x51, 0o1666)\n",
        ["assert min(f()) >= 0"],
    ),
    (
        "daemon",
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.closerange(0, 64)\n"
        "        time.sleep(1000)\n    os._exit(0)\ndef f():\n    return 1\n",
        NEVER,
    ),
    (
        "stop_others",
        "import os, signal\nfor p in os.listdir('/proc'):\n    if p.isdigit() and int(p) not in (1, os.getpid()):\n"
        "        os.kill(int(p), signal.SIGSTOP)\ndef f():\n    return 1\n",
        NEVER,
    ),
    (
        "locked_dirs",
        "import os\nos.makedirs('a/b')\nos.chmod('a/b', 0)\nos.chmod('a', 0)\nos.chmod('..', 0o500)\n"
        "os.utime('..', (42, 42))\ntry:\n    os.setxattr('..', 'user.x', b'1')\nexcept OSError:\n    pass\n",
        NEVER,
    ),
    ("output_flood", "while True:\n    print('A' * 10000)\n", NEVER),
    ("memory_bomb", "x = []\nwhile True:\n    x.append(b'x' * (64 << 20))\n", NEVER),
    ("nested_report", "import os\nos.write(3, b'[' * 200000 + b'\\n')\ndef f():\n    return 1\n", ["assert f() == 1"]),
    ("surrogates", "def f():\n    raise ValueError('\\udc80\\ud800')\n", ["assert f() == 1"]),
    (
        "huge_decimal",
        "from decimal import Decimal\ndef f():\n    return Decimal('1e999999999')\n",
        ["assert int(f()) == 1"],
    ),
    ("hash_collisions", "def f():\n    return {k * (2 ** 61 - 1) for k in range(3000)}\n", ["assert f() == {0}"]),
    (
        "forge_reporter",
        "import gc, os\nfor o in gc.get_objects():\n    if callable(o) and getattr(o, '__name__', '') == 'report'"
        " and getattr(o, '__closure__', None):\n        o({'k': 'load'})\n        o({'k': 't', 'i': 0, 'ok': 1})\n"
        "        o({'k': 'end'})\n        os._exit(0)\ndef add(a, b):\n    return 0\n",
        ["assert add(1, 2) == 3"],
    ),
    ("fork_bomb", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", NEVER),
    ("sleep", "import time\ntime.sleep(1000)\n", NEVER),
]
# what a program finds in a clean pool sandbox, summarised in one short string
PROBE = (
    "import os\ndef f():\n    procs = sum(p.isdigit() for p in os.listdir('/proc'))\n"
    "    tmp = sorted(os.listdir('..'))\n    st = os.stat('..')\n"
    "    xattrs = len(os.listxattr('..')) if hasattr(os, 'listxattr') else 0\n"
    "    sysv = 0\n    for k in ('msg', 'sem', 'shm'):\n        try:\n"
    "            sysv += len(open('/proc/sysvipc/' + k).read().splitlines()) - 1\n        except OSError:\n"
    "            pass\n    return 'procs=%d tmp=%s mode=%o x=%d dev=%d shm=%d sysv=%d fds=%d' % (\n"
    "        procs, ','.join(tmp), st.st_mode & 0o7777, xattrs, len(os.listdir('/dev')),\n"
    "        len(os.listdir('/dev/shm')), sysv, len(os.listdir('/proc/self/fd')))\n"
)


def descendants() -> int:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    stat = f.read()
                parents[int(name)] = int(stat[stat.rfind(b")") + 2 :].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    mine, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - mine
        mine |= frontier
    return len(mine)


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cgroup_dirs() -> int:
    """This process's sandbox cgroups (slot directories are named ``<pid>-<random>``)."""
    support = detect()
    n = 0
    for parent in support.parents:
        try:
            n += sum(1 for e in os.scandir(parent) if e.is_dir() and e.name.startswith(f"{os.getpid()}-"))
        except OSError:
            pass
    return n


def host_tmp_entries() -> int:
    """Entries in the host's temporary directory that sandboxes of any harness leave (``reflectevo-*``)."""
    import tempfile

    return sum(1 for n in os.listdir(tempfile.gettempdir()) if n.startswith("reflectevo-"))


def snapshot() -> dict[str, float]:
    """Resource counts between batches; processes as the minimum of a few samples (a sandbox being replaced
    or reaped in the background shows up for a moment)."""
    procs = []
    for _ in range(5):
        procs.append(descendants())
        time.sleep(0.1)
    return {
        "rss_mib": round(rss_mib(), 1),
        "fds": len(os.listdir("/proc/self/fd")),
        "procs": min(procs),
        "tmp": host_tmp_entries(),
        "cgroups": cgroup_dirs(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--backend", default="bwrap")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n", type=int, default=10_000, help="executions in all (default 10,000)")
    ap.add_argument("--hostile-every", type=int, default=5)
    ap.add_argument("--probe-every", type=int, default=50)
    ap.add_argument("--report-every", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--rss-slack", type=float, default=32.0)
    ap.add_argument("--json", metavar="PATH", help="also write the report rows as JSON")
    args = ap.parse_args(argv)

    path = Path(args.data_dir) / "reflectevo" / "mbpp_test.jsonl"
    if not path.exists():
        print(f"error: MBPP data not found at {path}; pass --data-dir", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in path.open()]
    rows = [r for r in rows if r["task_id"] != 123]  # ~2.5 s of CPU alone: a timeout risk on a loaded machine
    items: list[tuple[str, dict]] = []
    k = h = 0
    for i in range(1, args.n + 1):
        if i % args.probe_every == 0:
            items.append(("probe", {"program": PROBE, "tests": ["assert f() == BASELINE"]}))
        elif i % args.hostile_every == 0:
            name, program, tests = HOSTILE[h % len(HOSTILE)]
            h += 1
            items.append(("hostile:" + name, {"program": program, "tests": tests}))
        else:
            r = rows[k % len(rows)]
            k += 1
            items.append(("correct", {"program": r["code"], "tests": r["test_list"], "setup": r["test_setup_code"]}))

    limits = Limits(timeout_s=args.timeout, memory_bytes=256 << 20)
    try:
        ex = get_executor(args.backend, limits, mode="pool", workers=args.workers)
    except SandboxUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failures: list[str] = []
    report: list[dict] = []
    counts = {"correct": 0, "correct_passed": 0, "hostile": 0, "hostile_passed": 0, "probes": 0, "probe_bad": 0}
    with ex:
        first = ex.run(PROBE, ["assert f() == ''"])
        baseline = first.tests[0].error.split(" returned ", 1)[1].strip("'") if first.tests[0].error else "?"
        print(
            f"{args.n} pool executions on {args.backend}, {args.workers} workers, 1 in {args.hostile_every} "
            f"hostile ({len(HOSTILE)} kinds), probe every {args.probe_every}; clean sandbox: {baseline}"
        )
        print(
            f"{'done':>6} {'correct ok':>12} {'hostile ok':>10} {'probe bad':>9} {'rss MiB':>8} {'fds':>4} "
            f"{'procs':>5} {'/tmp':>4} {'cgrp':>4} {'prog/s':>7}"
        )
        started = time.monotonic()
        done = 0
        for at in range(0, len(items), args.report_every):
            chunk = items[at : at + args.report_every]
            batch = [dict(it, tests=[t.replace("BASELINE", repr(baseline)) for t in it["tests"]]) for _, it in chunk]
            results = ex.run_many(batch)
            for (kind, _item), result in zip(chunk, results):
                if kind == "correct":
                    counts["correct"] += 1
                    counts["correct_passed"] += result.passed
                    if not result.passed:
                        failures.append(f"correct program failed: {result.status}: {result.feedback[:160]}")
                elif kind == "probe":
                    counts["probes"] += 1
                    if not result.passed:
                        counts["probe_bad"] += 1
                        failures.append(
                            f"probe saw leftovers: {result.tests[0].error if result.tests else result.error}"
                        )
                else:
                    counts["hostile"] += 1
                    counts["hostile_passed"] += result.passed
                    if result.passed:
                        failures.append(f"hostile program passed: {kind}")
            done += len(chunk)
            snap = snapshot()
            rate = done / (time.monotonic() - started)
            row = {"done": done, **counts, **snap, "programs_per_s": round(rate, 1)}
            report.append(row)
            print(
                f"{done:>6} {counts['correct_passed']:>5}/{counts['correct']:<6} {counts['hostile_passed']:>10} "
                f"{counts['probe_bad']:>9} {snap['rss_mib']:>8} {snap['fds']:>4} {snap['procs']:>5} "
                f"{snap['tmp']:>4} {snap['cgroups']:>4} {rate:>7.1f}",
                flush=True,
            )
    after = snapshot()
    print(
        f"after close: rss {after['rss_mib']} MiB, fds {after['fds']}, processes {after['procs']}, "
        f"/tmp entries {after['tmp']}, cgroups {after['cgroups']}"
    )
    if len(report) >= 2:
        # a slot whose last program left its sandbox dirty has no sandbox until its next job, so counts move
        # by one sandbox's worth between reports: compare the highest of the first and of the last reports
        k = max(1, min(3, len(report) // 2))
        head, tail = report[:k], report[-k:]
        a, b = head[0]["rss_mib"], tail[-1]["rss_mib"]
        if b - a > args.rss_slack:
            failures.append(f"harness RSS grew {a} -> {b} MiB")
        for key in ("fds", "procs", "tmp", "cgroups"):
            first, last = max(r[key] for r in head), max(r[key] for r in tail)
            if last > first:
                failures.append(f"{key} grew {first} -> {last}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": report, "after": after, "failures": failures}, indent=2))
    for line in failures[:20]:
        print("FAIL:", line)
    print("no leaks, no changed verdicts" if not failures else f"{len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

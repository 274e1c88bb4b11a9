"""Sandbox throughput: programs per second on the 500 MBPP reference programs of the ReflectEvo test split.

    python benchmarks/sandbox_throughput.py [--data-dir ../shared/data] [--workers 2] [--backends bwrap,unshare]

Runs, in one process and on the same programs: a human-eval-style baseline (a multiprocessing.Process and a
Manager per program, the ``reliability_guard``, a thread pool; UNSANDBOXED, written here for comparison
only), then every requested backend in ``fresh`` and ``pool`` mode. Prints a table of backend, mode, workers,
programs/s and passed count. Exit 2 with one line if the data is missing or a backend is unavailable.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import json
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reflectevo_bench.sandbox import Limits, SandboxUnavailable, get_executor  # noqa: E402

# ------------------------------------------------------------------ human-eval-style baseline (unsandboxed)


class TimeoutException(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    def handler(signum, frame):
        raise TimeoutException("Timed out!")

    signal.setitimer(signal.ITIMER_REAL, seconds)
    signal.signal(signal.SIGALRM, handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def reliability_guard(maximum_memory_bytes: int | None = None) -> None:
    """human-eval's guard, condensed: NOT a sandbox (``import posix; posix.unlink`` still works)."""
    if maximum_memory_bytes is not None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (maximum_memory_bytes, maximum_memory_bytes))
        resource.setrlimit(resource.RLIMIT_DATA, (maximum_memory_bytes, maximum_memory_bytes))
    faulthandler.disable()
    import builtins
    import shutil
    import subprocess

    builtins.exit = None
    builtins.quit = None
    os.environ["OMP_NUM_THREADS"] = "1"
    for name in (
        "kill",
        "system",
        "putenv",
        "remove",
        "removedirs",
        "rmdir",
        "fchdir",
        "setuid",
        "fork",
        "forkpty",
        "killpg",
        "rename",
        "renames",
        "truncate",
        "replace",
        "unlink",
        "fchmod",
        "fchown",
        "chmod",
        "chown",
        "chroot",
        "lchown",
        "getcwd",
        "chdir",
    ):
        setattr(os, name, None)
    shutil.rmtree = None
    shutil.move = None
    shutil.chown = None
    subprocess.Popen = None
    builtins.help = None
    for mod in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
        sys.modules[mod] = None


def _unsafe_execute(program: str, timeout: float, result) -> None:
    with tempfile.TemporaryDirectory() as dirname:
        import shutil

        rmtree, rmdir, chdir = shutil.rmtree, os.rmdir, os.chdir
        os.chdir(dirname)
        reliability_guard()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                with time_limit(timeout):
                    exec(program, {})
            result.append("passed")
        except TimeoutException:
            result.append("timed out")
        except BaseException as exc:  # noqa: BLE001
            result.append(f"failed: {exc}")
        shutil.rmtree, os.rmdir, os.chdir = rmtree, rmdir, chdir
        os.chdir("/")


def check_correctness(program: str, timeout: float) -> bool:
    manager = multiprocessing.Manager()
    result = manager.list()
    p = multiprocessing.Process(target=_unsafe_execute, args=(program, timeout, result))
    p.start()
    p.join(timeout=timeout + 1)
    if p.is_alive():
        p.kill()
    ok = len(result) > 0 and result[0] == "passed"
    manager.shutdown()
    return ok


def run_baseline(rows: list[dict], workers: int, timeout: float) -> int:
    programs = [r["code"] + "\n" + r["test_setup_code"] + "\n" + "\n".join(r["test_list"]) for r in rows]
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(lambda p: check_correctness(p, timeout), programs))


# ------------------------------------------------------------------------------------------ the sandbox


def run_sandbox(rows: list[dict], backend: str, mode: str, workers: int, timeout: float) -> int:
    items = [{"program": r["code"], "tests": r["test_list"], "setup": r["test_setup_code"]} for r in rows]
    with get_executor(backend, Limits(timeout_s=timeout), mode=mode, workers=workers) as ex:
        return sum(r.passed for r in ex.run_many(items))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data-dir",
        default=str(REPO.parent / "shared" / "data"),
        help="benchmark data root (default: ../shared/data relative to the repository)",
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--backends",
        default="bwrap,unshare",
        help="comma-separated: bwrap, unshare, docker, none (default: bwrap,unshare)",
    )
    ap.add_argument("--modes", default="fresh,pool")
    ap.add_argument("--limit", type=int, default=500, help="number of MBPP programs (default: all 500)")
    ap.add_argument(
        "--exclude",
        type=int,
        action="append",
        default=[],
        metavar="TASK_ID",
        help="leave out an MBPP task (repeatable); e.g. 123 alone needs ~2.5 s of CPU, which caps "
        "every configuration at about 500/2.5 s",
    )
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = ap.parse_args(argv)

    path = Path(args.data_dir) / "reflectevo" / "mbpp_test.jsonl"
    if not path.exists():
        print(
            f"error: MBPP data not found at {path}; pass --data-dir pointing at the shared data root", file=sys.stderr
        )
        return 2
    rows = [json.loads(line) for line in path.open()][: args.limit]
    rows = [r for r in rows if r["task_id"] not in set(args.exclude)]
    configs: list[tuple[str, str]] = []
    if not args.no_baseline:
        configs.append(("human-eval style (unsandboxed)", "process+manager"))
    configs += [
        (b.strip(), m.strip())
        for b in args.backends.split(",")
        if b.strip()
        for m in args.modes.split(",")
        if m.strip()
    ]

    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(
        f"{len(rows)} MBPP reference programs, {args.workers} workers, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    table = Table(title="sandbox throughput (MBPP reference programs)")
    for col in ("backend", "mode", "workers", "programs/s", "passed", "x baseline"):
        table.add_column(col, justify="right" if col not in ("backend", "mode") else "left")
    results = []
    base_rate = None
    for backend, mode in configs:
        start = time.perf_counter()
        try:
            if mode == "process+manager":
                passed = run_baseline(rows, args.workers, args.timeout)
            else:
                passed = run_sandbox(rows, backend, mode, args.workers, args.timeout)
        except SandboxUnavailable as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        rate = len(rows) / (time.perf_counter() - start)
        if mode == "process+manager":
            base_rate = rate
        ratio = f"{rate / base_rate:.1f}x" if base_rate else "-"
        results.append(
            {
                "backend": backend,
                "mode": mode,
                "workers": args.workers,
                "programs_per_s": round(rate, 1),
                "passed": passed,
                "total": len(rows),
            }
        )
        table.add_row(backend, mode, str(args.workers), f"{rate:.1f}", f"{passed}/{len(rows)}", ratio)
        console.print(f"  {backend} {mode}: {rate:.1f} programs/s, {passed}/{len(rows)} passed")
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One writer per run dir and per shard: a second process with the same --output (and --shard) is refused at once,
in one line naming the holder; the lock is the OS's, so a process killed with -9 holds nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from kill_resume import run_cmd

from reflectevo_bench.cli import main
from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness import run_dir as rd
from reflectevo_bench.harness.shard import Shard

ARGS = ["--tasks", "countdown", "--limit", "4", "--gen-kwargs", "max_gen_toks=8"]
HOLDER = (
    "import os, sys, time; from pathlib import Path; from reflectevo_bench.harness import run_dir as rd; "
    "from reflectevo_bench.harness.shard import parse_shard; "
    "shard = parse_shard(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != '-' else None\n"
    "with rd.hold(Path(sys.argv[1]), shard):\n"
    "    if len(sys.argv) > 3 and os.fork() == 0:\n        time.sleep(600); os._exit(0)\n"
    "    print('held', flush=True); time.sleep(600)"
)


def _holder(out: Path, *shard: str) -> subprocess.Popen:
    """Another process holding ``out`` (or a shard of it), as a `run` would while it writes (``shard`` "-", "fork":
    the whole dir, by a process that forked a child, as a verifier pool or a backend's worker would)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out), *shard],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def _run(tiny_model: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        main, ["run", "--model-args", f"pretrained={tiny_model}", *ARGS, "--output", str(out), *extra]
    )


def _refused(res, *needles: str) -> None:
    assert res.exit_code == 2, res.output + repr(res.exception)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "is being written by another process" in lines[0], res.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_hold_is_exclusive_across_processes_and_dies_with_its_holder(tmp_path):
    out = tmp_path / "run"
    proc = _holder(out)
    try:
        with pytest.raises(
            BenchError,
            match=rf"^--output {out} is being written by another process \(host .*, "
            rf"pid {proc.pid}, since ",
        ):
            with rd.hold(out):
                pass
        with rd.hold(out, Shard(0, 2, "--shard")):  # a shard lock is another lock
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (out / rd.LOCK).exists()  # kill -9 left its file behind, but no lock
    with rd.hold(out):
        assert json.loads((out / rd.LOCK).read_text())["pid"] == os.getpid()
    assert not any(out.iterdir())  # the lock file goes with a holder that ends normally
    with rd.hold(tmp_path / "new" / "run"):
        assert (tmp_path / "new" / "run" / rd.LOCK).exists()
    assert not (tmp_path / "new").exists()  # dirs made only to hold it (a refused start) are not left behind


def test_a_child_of_a_killed_holder_does_not_keep_the_lock(tmp_path):
    out = tmp_path / "run"
    proc = _holder(out, "-", "fork")
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert len(children) == 1
    try:
        with pytest.raises(BenchError, match=f"pid {proc.pid}"):
            with rd.hold(out):
                pass
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert Path(f"/proc/{children[0]}").exists()  # the child lives on, holding the lock file open
        with rd.hold(out):
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.kill(int(children[0]), signal.SIGKILL)


def test_hold_in_one_process_is_released_for_the_next(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    with rd.hold(out):
        with pytest.raises(BenchError, match="being written by another process"):
            with rd.hold(out):  # even from this process
                pass
        assert (out / rd.LOCK).exists()
    with rd.hold(out):
        pass
    assert out.is_dir() and not any(out.iterdir())  # the dir existed before: kept


@pytest.mark.timeout(600)
def test_second_run_on_the_same_output_or_shard_is_refused_at_once(tiny_model, tmp_path):
    for out, shard in ((tmp_path / "plain", ()), (tmp_path / "sharded", ("--shard", "1/2"))):
        proc = _holder(out, *shard[1:])
        try:
            start = time.monotonic()
            _refused(_run(tiny_model, out, *shard), f"pid {proc.pid}", *(["shard 1/2"] if shard else []))
            assert time.monotonic() - start < 30  # before any model is loaded
            assert not (out / rd.MANIFEST).exists()
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        res = _run(tiny_model, out, *shard)  # the holder died with kill -9: the lock went with it
        assert res.exit_code == 0, res.output + repr(res.exception)
        work = out / "shards" / "1" if shard else out
        lines = (work / "samples_countdown.jsonl").read_text().splitlines()
        assert sorted(json.loads(x)["doc_id"] for x in lines) == ([1, 3] if shard else [0, 1, 2, 3])


@pytest.mark.timeout(600)
def test_two_real_runs_of_one_shard(tiny_model, tmp_path):
    """Two `run --shard 1/2` processes started together: one runs, the other is refused; every doc once."""
    out = tmp_path / "out"
    cmd = run_cmd(tiny_model, out, *ARGS, "--shard", "1/2")
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=500)[0] for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outs
    refused = outs[[p.returncode for p in procs].index(2)].strip().splitlines()
    assert len(refused) == 1 and "being written by another process" in refused[0], refused
    lines = (out / "shards" / "1" / "samples_countdown.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["doc_id"] for x in lines) == [1, 3]


def test_a_refused_start_leaves_no_dir(tiny_model, tmp_path):
    out = tmp_path / "runs" / "new"
    res = _run(tiny_model, out, "--resume")
    assert res.exit_code == 2 and "holds no run to resume" in res.output, res.output
    assert not (tmp_path / "runs").exists()

"""Helpers of the kill -9 / --resume tests: the `run` command line, a kill that lands mid-run, and sample lines to
compare a resumed run dir with an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def run_cmd(model: Path, out: Path, *args: str) -> list[str]:
    """`python -m reflectevo_bench.cli run` on the HF model at ``model`` into ``out``; ``args`` go in between."""
    cli = [sys.executable, "-m", "reflectevo_bench.cli", "run"]
    return [*cli, "--model-args", f"pretrained={model}", *args, "--output", str(out)]


def kill_mid_run(cmd: list[str], samples: Path, at_least: int, timeout: float, env: dict | None = None) -> int:
    """Start ``cmd``, SIGKILL it (and its process group: engine workers go too) once ``samples`` holds ``at_least``
    lines, the process exits, or ``timeout`` seconds pass; returns the number of lines on disk then."""
    proc = subprocess.Popen(
        cmd,
        env=env or ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if samples.exists() and len(samples.read_text().splitlines()) >= at_least:
            break
        time.sleep(0.02)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return len(samples.read_text().splitlines()) if samples.exists() else 0


def sample_lines(run_dir: Path, task: str) -> list[str]:
    """The task's sample lines, sorted, without their timing (latency and cache hits differ between sessions)."""
    out = []
    for line in (run_dir / f"samples_{task}.jsonl").read_text().splitlines():
        rec = json.loads(line)
        for turn in rec["turns"]:
            turn.pop("timing")
        out.append(json.dumps(rec, sort_keys=True))
    return sorted(out)

"""kill -9 in the middle of a run, then --resume: same records and metrics as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ARGS = [
    "--tasks",
    "countdown",
    "--limit",
    "12",
    "--gen-kwargs",
    "max_gen_toks=16",
    "--batch-size",
    "1",
    "--chunk-size",
    "3",
]


def _cli(tiny_model: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "reflectevo_bench.cli",
        "run",
        "--model-args",
        f"pretrained={tiny_model}",
        *ARGS,
        "--output",
        str(out),
        *extra,
    ]


def _lines(run_dir: Path) -> set[str]:
    """Sample lines without their timing (latency and cache hits differ between sessions by nature)."""
    out = set()
    for line in (run_dir / "samples_countdown.jsonl").read_text().splitlines():
        rec = json.loads(line)
        for turn in rec["turns"]:
            turn.pop("timing")
        out.add(json.dumps(rec, sort_keys=True))
    return out


@pytest.mark.timeout(600)
def test_sigkill_then_resume_equals_uninterrupted(tiny_model, tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(_cli(tiny_model, whole), check=True, env=env, capture_output=True)

    proc = subprocess.Popen(_cli(tiny_model, killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = killed / "samples_countdown.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline:  # kill once some docs are on disk and the next chunk is under way
        if samples.exists() and len(samples.read_text().splitlines()) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(samples.read_text().splitlines())
    assert 4 <= done_before < 12, "the kill should land mid-run"
    assert not (killed / "results.json").exists()

    resumed = subprocess.run(_cli(tiny_model, killed, "--resume"), env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {done_before} docs already finished" in resumed.stdout

    assert _lines(killed) == _lines(whole)
    assert len((killed / "samples_countdown.jsonl").read_text().splitlines()) == 12  # nothing duplicated
    a = json.loads((whole / "results.json").read_text())
    b = json.loads((killed / "results.json").read_text())
    assert a["results"] == b["results"] and b["sessions"] == 2 and b["complete"] is True
    assert b["phases"]["attempt_1"]["requests"] == 12

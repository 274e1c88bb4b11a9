"""kill -9 in the middle of a run, then --resume: same records and metrics as an uninterrupted run."""

from __future__ import annotations

import json
import subprocess

import pytest
from kill_resume import ENV, kill_mid_run, run_cmd, sample_lines

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


@pytest.mark.timeout(600)
def test_sigkill_then_resume_equals_uninterrupted(tiny_model, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(run_cmd(tiny_model, whole, *ARGS), check=True, env=ENV, capture_output=True)

    # kill once some docs are on disk and the next chunk is under way
    samples = killed / "samples_countdown.jsonl"
    done_before = kill_mid_run(run_cmd(tiny_model, killed, *ARGS), samples, 4, 300)
    assert 4 <= done_before < 12, "the kill should land mid-run"
    assert not (killed / "results.json").exists()

    resumed = subprocess.run(run_cmd(tiny_model, killed, *ARGS, "--resume"), env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {done_before} docs already finished" in resumed.stdout

    assert sample_lines(killed, "countdown") == sample_lines(whole, "countdown")
    assert len((killed / "samples_countdown.jsonl").read_text().splitlines()) == 12  # nothing duplicated
    a = json.loads((whole / "results.json").read_text())
    b = json.loads((killed / "results.json").read_text())
    assert a["results"] == b["results"] and b["sessions"] == 2 and b["complete"] is True
    assert b["phases"]["attempt_1"]["requests"] == 12

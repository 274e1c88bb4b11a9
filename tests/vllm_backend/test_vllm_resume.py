"""A sampled `--model vllm` run (--reflections 2) killed with -9 and resumed writes the records of an uninterrupted
run: every sampled request carries its own seed (SamplingParams.seed, from --seed and its task/doc/phase/branch)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from vllm_helpers import CLI, cli, need_vllm, subprocess_env

need_vllm()

LIMIT = 8


def _args(model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--model",
        "vllm",
        "--model-args",
        f"pretrained={model},enforce_eager=True",
        "--tasks",
        "countdown",
        "--limit",
        str(LIMIT),
        "--reflections",
        "2",
        "--chunk-size",
        "2",
        "--seed",
        "11",
        "--gen-kwargs",
        "max_gen_toks=12,do_sample=true,temperature=1.0",
        "--output",
        str(out),
        *extra,
    ]


def _lines(run_dir: Path) -> list[str]:
    out = []
    for line in (run_dir / "samples_countdown.jsonl").read_text().splitlines():
        rec = json.loads(line)
        for turn in rec["turns"]:
            turn.pop("timing")  # latency and cache hits differ between sessions by nature
        out.append(json.dumps(rec, sort_keys=True))
    return sorted(out)


@pytest.mark.timeout(1500)
def test_sampled_vllm_run_killed_and_resumed_equals_uninterrupted(tiny_vllm_model, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    cli(*_args(tiny_vllm_model, whole))
    env = json.loads((whole / "run.json").read_text())["environment"]
    assert env["request_seeds"]["generator"].startswith("vllm: SamplingParams(seed=")

    proc = subprocess.Popen(
        [str(CLI), *_args(tiny_vllm_model, killed)],
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    samples = killed / "samples_countdown.jsonl"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:  # kill once a chunk is on disk, before the last one
        if samples.exists() and len(samples.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and vLLM's engine process with it
    proc.wait()
    done_before = len(samples.read_text().splitlines())
    assert 2 <= done_before < LIMIT, "the kill should land mid-run"

    resumed = cli(*_args(tiny_vllm_model, killed, "--resume"))
    assert f"resuming: {done_before} docs already finished" in resumed.stdout
    got, want = _lines(killed), _lines(whole)
    assert len(got) == LIMIT and got == want
    recs = [json.loads(x) for x in want]
    assert all({t["branch"] for t in r["turns"]} == {1, 2} for r in recs)  # a random model fails: 2 branches each
    # the two branches of a doc sample differently from the same conversation
    assert any(
        t1["response"] != t2["response"]
        for r in recs
        for t1 in r["turns"]
        for t2 in r["turns"]
        if t1["kind"] == t2["kind"] == "reflection" and t1["branch"] == 1 and t2["branch"] == 2
    )

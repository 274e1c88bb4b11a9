"""A sampled `--model vllm` run (--reflections 2) killed with -9 and resumed writes the records of an uninterrupted
run: every sampled request carries its own seed (SamplingParams.seed, from --seed and its task/doc/phase/branch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from kill_resume import kill_mid_run, sample_lines
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


@pytest.mark.timeout(1500)
def test_sampled_vllm_run_killed_and_resumed_equals_uninterrupted(tiny_vllm_model, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    cli(*_args(tiny_vllm_model, whole))
    env = json.loads((whole / "run.json").read_text())["environment"]
    assert env["request_seeds"]["generator"].startswith("vllm: SamplingParams(seed=")

    # kill once a chunk is on disk, before the last one (vLLM's engine process goes with the CLI's process group)
    samples = killed / "samples_countdown.jsonl"
    done_before = kill_mid_run([str(CLI), *_args(tiny_vllm_model, killed)], samples, 2, 600, env=subprocess_env())
    assert 2 <= done_before < LIMIT, "the kill should land mid-run"

    resumed = cli(*_args(tiny_vllm_model, killed, "--resume"))
    assert f"resuming: {done_before} docs already finished" in resumed.stdout
    got, want = sample_lines(killed, "countdown"), sample_lines(whole, "countdown")
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

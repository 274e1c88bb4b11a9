"""Resuming GRPO: a run resumed from a checkpoint equals the uninterrupted run (weights, rollouts, logged losses),
and logs each step's rollouts once (the rollouts that the killed run logged for the steps after its last
checkpoint are dropped before those steps are redone)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml
from click.testing import CliRunner
from mined_failures import parity_failures
from parity_task import write_parity_task
from rich.console import Console
from safetensors.torch import load_file

from reflectevo_bench.cli import main


def _steps(out: Path) -> Counter:
    return Counter(json.loads(line)["step"] for line in (out / "rollouts.jsonl").read_text().splitlines())


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def failures(tiny_model, tmp_path_factory) -> Path:
    """A `failures` data dir of a sampled single-attempt run of the tiny model on the parity task."""
    return parity_failures(tiny_model, tmp_path_factory.mktemp("grpo-resume"), "grpo_resume_toy", 12, 4)


def test_resumed_grpo_logs_each_step_once(tiny_model, failures, tmp_path):
    from reflectevo_bench.trainers.config import load_job
    from reflectevo_bench.trainers.grpo import run_grpo

    out = tmp_path / "ckpt"
    cfg = tmp_path / "grpo.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "model": str(tiny_model),
                "data": str(failures),
                "output_dir": str(out),
                "max_steps": 3,
                "num_generations": 2,
                "per_device_train_batch_size": 2,
                "max_completion_length": 4,
                "save_strategy": "steps",
                "save_steps": 1,
                "logging_steps": 1,
                "disable_tqdm": True,
            }
        )
    )
    run_grpo(load_job("grpo", cfg))
    full = _steps(out)
    assert sorted(full) == [0, 1, 2] and len(set(full.values())) == 1, full
    # as if killed after step 3's rollouts were logged, before checkpoint-3 was saved (and a torn last line)
    shutil.rmtree(out / "checkpoint-3")
    (out / "reflectevo_checkpoint.json").unlink()
    with open(out / "rollouts.jsonl", "a") as fh:
        fh.write('{"step": 2, "mode": "tra')
    run_grpo(load_job("grpo", cfg, ["resume_from_checkpoint=true"]))
    assert _steps(out) == full  # step 2 redone and logged once, steps 0 and 1 kept
    record = json.loads((out / "reflectevo_checkpoint.json").read_text())
    assert record["metrics"]["resumed_from_step"] == 2 and record["metrics"]["global_step"] == 3


# Sampled reflections and retries (rewards of both kinds, so the weights move), two steps per generation (a
# checkpoint can fall inside a generation batch) and 6 steps per epoch (the resume lands in the second epoch).
EXACT = {
    "num_generations": 2,
    "per_device_train_batch_size": 2,
    "steps_per_generation": 2,
    "max_completion_length": 4,
    "retry_temperature": 1.0,
    "retry_max_length": 4,
    "learning_rate": 0.01,
    "logging_steps": 1,
    "save_strategy": "steps",
    "disable_tqdm": True,
}
N, K = 10, 7  # steps in all; the interrupted run's last checkpoint
TIMINGS = ("step_time", "rollout/generate_s", "rollout/reflection_s", "rollout/retry_s", "rollout/verify_s")


def _logged(checkpoint: Path) -> list[dict]:
    """The per-step log entries of a checkpoint's trainer state, wall-clock timings left out."""
    history = json.loads((checkpoint / "trainer_state.json").read_text())["log_history"]
    return [{k: v for k, v in h.items() if k not in TIMINGS} for h in history if "loss" in h]


def test_resumed_grpo_equals_the_uninterrupted_run(tiny_model, failures, tmp_path, cli):
    """Killed after checkpoint-7 (inside a generation batch, in the second epoch) and resumed with `train grpo
    --set resume_from_checkpoint=true`, reflection GRPO ends bitwise where the uninterrupted run ends: the same
    weights, the same rollouts (reflections, retries, verdicts, rewards) and the same logged losses."""

    def config(name: str, save_steps: int) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "model": str(tiny_model),
                    "data": str(failures),
                    "output_dir": str(tmp_path / name),
                    "max_steps": N,
                    "save_steps": save_steps,
                    **EXACT,
                }
            )
        )
        return path

    def train(cfg: Path, *extra: str):
        return cli("train", "grpo", "--config", cfg, *extra)

    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert train(config("whole", N)).exit_code == 0  # one checkpoint, at the end: its trainer state holds the log
    assert train(config("cut", 1)).exit_code == 0
    # as if killed during step K+1: the later checkpoints and the final model never existed
    for step in range(K + 1, N + 1):
        shutil.rmtree(cut / f"checkpoint-{step}")
    for name in ("model.safetensors", "reflectevo_checkpoint.json"):
        (cut / name).unlink()
    controls = {}
    for name, drop in (
        ("no-rng", "rng_state.pth"),
        ("no-generation", "grpo_generation_state.pt"),
        ("torn-generation", "grpo_generation_state.pt"),
    ):
        controls[name] = tmp_path / name
        shutil.copytree(cut / f"checkpoint-{K}", controls[name] / f"checkpoint-{K}")
        shutil.copy(cut / "rollouts.jsonl", controls[name] / "rollouts.jsonl")
        (controls[name] / f"checkpoint-{K}" / drop).unlink()
    (controls["torn-generation"] / f"checkpoint-{K}" / "grpo_generation_state.pt").write_bytes(b"PK\x03\x04 torn")
    res = train(config("cut", 1), "--set", "resume_from_checkpoint=true")
    assert res.exit_code == 0, res.output
    record = json.loads((cut / "reflectevo_checkpoint.json").read_text())
    assert record["metrics"]["resumed_from_step"] == K and record["metrics"]["global_step"] == N

    base = load_file(str(tiny_model / "model.safetensors"))
    want, got = load_file(str(whole / "model.safetensors")), load_file(str(cut / "model.safetensors"))
    assert any(not torch.equal(want[k], base[k]) for k in base)  # training moved the weights
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    rows = _rows(whole)
    assert {r["reward"] for r in rows} == {0.0, 1.0} and max(r["step"] for r in rows) > K
    assert _rows(cut) == rows
    logged = _logged(whole / f"checkpoint-{N}")
    assert [h["step"] for h in logged] == list(range(1, N + 1))
    assert _logged(cut / f"checkpoint-{N}") == logged

    # negative controls: without the RNG states the resumed run samples other rollouts; without the generations
    # of the batch it was saved in, the resume is refused
    res = train(config("no-rng", 1), "--set", "resume_from_checkpoint=true")
    assert res.exit_code == 0, res.output
    later = [r for r in rows if r["step"] >= K]
    assert later and [r for r in _rows(controls["no-rng"]) if r["step"] >= K] != later
    no_rng = load_file(str(controls["no-rng"] / "model.safetensors"))
    assert not all(torch.equal(want[k], no_rng[k]) for k in want)
    res = train(config("no-generation", 1), "--set", "resume_from_checkpoint=true")
    assert res.exit_code == 2
    assert "inside a generation batch" in res.output and "grpo_generation_state.pt" in res.output
    res = train(config("torn-generation", 1), "--set", "resume_from_checkpoint=true")
    assert res.exit_code == 2 and "cannot read" in res.output and "grpo_generation_state.pt" in res.output
    assert "Traceback" not in res.output and res.output.strip().splitlines()[-1].startswith("error: cannot read")


def test_drop_redone_rollouts_keeps_earlier_steps_and_eval_at_the_checkpoint(tmp_path):
    from reflectevo_bench.trainers.checkpoint import drop_redone_rollouts

    path = tmp_path / "rollouts.jsonl"
    rows = [
        {"step": 0, "mode": "train"},
        {"step": 1, "mode": "train"},
        {"step": 2, "mode": "eval"},
        {"step": 2, "mode": "train"},
        {"step": 3, "mode": "eval"},
        {"step": None},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 3')
    assert drop_redone_rollouts(path, 2) == 3
    kept = [json.loads(line) for line in path.read_text().splitlines()]
    assert kept == [rows[0], rows[1], rows[2], rows[5]]
    assert drop_redone_rollouts(path, 2) == 0  # nothing left to drop: the file is unchanged
    assert drop_redone_rollouts(tmp_path / "absent.jsonl", 1) == 0

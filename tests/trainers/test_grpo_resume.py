"""A GRPO run resumed from a checkpoint logs each step's rollouts once (issue 17 item 8): the rollouts that the
killed run logged for the steps after its last checkpoint are dropped before those steps are redone."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import yaml
from click.testing import CliRunner
from parity_task import write_parity_task
from rich.console import Console

from reflectevo_bench.cli import main


def _steps(out: Path) -> Counter:
    return Counter(json.loads(line)["step"] for line in (out / "rollouts.jsonl").read_text().splitlines())


def test_resumed_grpo_logs_each_step_once(tiny_model, tmp_path):
    from reflectevo_bench.harness.run import RunOptions, run
    from reflectevo_bench.trainers.config import load_job
    from reflectevo_bench.trainers.grpo import run_grpo

    task = write_parity_task(tmp_path, "grpo_resume_toy", {"test": range(12)}, max_gen_toks=4)
    run(
        RunOptions(
            model_args=f"pretrained={tiny_model}",
            tasks=str(task),
            protocol="single",
            gen_kwargs="do_sample=true,temperature=1.0",
            output=str(tmp_path / "run"),
        ),
        Console(file=open("/dev/null", "w")),
    )
    res = CliRunner().invoke(
        main,
        [
            "data",
            "build",
            "--kind",
            "failures",
            str(tmp_path / "run"),
            "--out",
            str(tmp_path / "failures"),
            "--eval-fraction",
            "0",
        ],
    )
    assert res.exit_code == 0, res.output
    out = tmp_path / "ckpt"
    cfg = tmp_path / "grpo.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "model": str(tiny_model),
                "data": str(tmp_path / "failures"),
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

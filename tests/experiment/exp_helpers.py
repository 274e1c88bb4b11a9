"""Helpers of the experiment tests (a module with its own name: several test folders have a conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]

FAST = {
    "max_steps": 2,
    "per_device_train_batch_size": 2,
    "logging_steps": 1,
    "save_strategy": "no",
    "disable_tqdm": True,
    "dataset_num_proc": None,
}


def make_spec(tiny_model: Path, big_tiny: Path, toy_task: Path, recipes: dict | None = None, **over) -> dict:
    spec = {
        "base": {"name": "tiny", "model": "hf", "model_args": f"pretrained={tiny_model}"},
        "references": [{"name": "tiny-10x", "model": "hf", "model_args": f"pretrained={big_tiny}"}],
        "data": {
            "tasks": [str(toy_task)],
            "split": "train",
            "limit": 20,
            "reflections": 3,
            "gen_kwargs": "do_sample=true,temperature=1.0,max_gen_toks=5",
            "kinds": ["dplus", "dpm", "failures"],
            "eval_fraction": 0.0,
        },
        "recipes": recipes
        if recipes is not None
        else {
            "sft": {"trainer": "sft", "data": "dplus", "config": dict(FAST)},
            "dpo": {"trainer": "dpo", "data": "dpm", "config": dict(FAST)},
            "grpo": {
                "trainer": "grpo",
                "data": "failures",
                "config": {
                    **{k: v for k, v in FAST.items() if k != "dataset_num_proc"},
                    "num_generations": 2,
                    "max_completion_length": 5,
                },
            },
        },
        "eval": {
            "tasks": [str(toy_task)],
            "split": "test",
            "limit": 6,
            "protocol": "reflect",
            "controls": ["retry", "self-refine"],
        },
        "report": {"metric": "acc@t2", "max_drop": 1.0, "alpha": 0.05},
        "batch_size": "8",
    }
    for key, value in over.items():
        spec[key] = value
    return spec


def write_spec_file(folder: Path, spec: dict) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def refused(result, *needles: str) -> str:
    """The command was refused with exit 2 and one `error: ...` line holding every needle; that line."""
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (
        result.exit_code,
        result.stderr,
    )
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def start_experiment(spec: Path, out: Path) -> subprocess.Popen:
    """`experiment run SPEC --out OUT -q` offline in its own process group (a kill -9 takes its stages too)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "reflectevo_bench", "experiment", "run", str(spec), "--out", str(out), "-q"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def wait_running(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float, poll: float = 0.05) -> None:
    """Wait until ``ready()`` (or ``timeout`` seconds); the experiment must still be running then."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if ready():
            break
        time.sleep(poll)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]

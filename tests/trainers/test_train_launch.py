"""Launchers: `python -m reflectevo_bench`, and two processes under torchrun on the CPU (the path that
`accelerate launch --config_file ... -m reflectevo_bench train ...` takes on GPUs)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from launch import offline_env, torchrun_train
from train_datafiles import read_record


def test_python_dash_m(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "reflectevo_bench", "train", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=offline_env(),
    )
    assert r.returncode == 0 and "sft" in r.stdout and "dpo" in r.stdout


def test_torchrun_two_cpu_processes(write_config, tiny_model, data_root, tmp_path):
    out = tmp_path / "ckpt"
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(out))
    stdout, _ = torchrun_train("sft", cfg, tmp_path, timeout=240)
    assert stdout.count("checkpoint:") == 1  # only the main process reports (and writes)
    rec = read_record(out)
    # 8 rows, 2 steps x batch 2 x 2 processes: one epoch
    assert rec["metrics"]["global_step"] == 2 and rec["metrics"]["epoch"] == pytest.approx(1.0)
    assert json.loads((out / "config.json").read_text())["model_type"] == "llama"

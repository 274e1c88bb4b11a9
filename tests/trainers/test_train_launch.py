"""Launchers: `python -m reflectevo_bench`, and two processes under torchrun on the CPU (the path that
`accelerate launch --config_file ... -m reflectevo_bench train ...` takes on GPUs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from train_datafiles import read_record


def _env() -> dict[str, str]:
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


def test_python_dash_m(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "reflectevo_bench", "train", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert r.returncode == 0 and "sft" in r.stdout and "dpo" in r.stdout


def test_torchrun_two_cpu_processes(write_config, tiny_model, data_root, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun not installed")
    out = tmp_path / "ckpt"
    cfg = write_config(model=str(tiny_model), data=str(data_root / "dplus"), output_dir=str(out))
    proc = subprocess.Popen(
        [
            torchrun,
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "reflectevo_bench",
            "train",
            "sft",
            "--config",
            str(cfg),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and the two workers it started
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr[-3000:]
    assert stdout.count("checkpoint:") == 1  # only the main process reports (and writes)
    rec = read_record(out)
    # 8 rows, 2 steps x batch 2 x 2 processes: one epoch
    assert rec["metrics"]["global_step"] == 2 and rec["metrics"]["epoch"] == pytest.approx(1.0)
    assert json.loads((out / "config.json").read_text())["model_type"] == "llama"

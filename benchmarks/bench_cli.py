"""What the CLI-driven benchmarks share: offline settings and one timed `reflectevo-bench` step."""

from __future__ import annotations

import os
import subprocess
import sys
import time

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CLI = [sys.executable, "-m", "reflectevo_bench"]


def step(label: str, args: list[str], python: str | None = None) -> float:
    """Run `reflectevo-bench ARGS` (with another venv's ``python`` if given), echoing the command; its wall time."""
    print(f"\n== {label}\n$ reflectevo-bench {' '.join(args)}", flush=True)
    start = time.perf_counter()
    subprocess.run(([python, "-m", "reflectevo_bench"] if python else CLI) + args, check=True)
    took = time.perf_counter() - start
    print(f"({took:.0f} s)", flush=True)
    return took

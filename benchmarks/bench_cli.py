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


def eval_on_test(
    out,
    name: str,
    pretrained: str,
    task: str,
    limit: int,
    protocol: str,
    gen_kwargs: str,
    model_flag: tuple[str, ...] = (),
    python: str | None = None,
):
    """One model on the task's TEST split under ``protocol`` into ``out/eval-NAME-PROTOCOL`` (resumed, or skipped
    when finished); returns (run dir, seconds or None when it was already done)."""
    run_dir = out / f"eval-{name}-{protocol}"
    if (run_dir / "results.json").exists():
        return run_dir, None
    args = [
        "run",
        *model_flag,
        "--model-args",
        f"pretrained={pretrained}",
        "--tasks",
        task,
        "--split",
        "test",
        "--limit",
        str(limit),
        "--protocol",
        protocol,
        "--gen-kwargs",
        gen_kwargs,
        "--output",
        str(run_dir),
        *(["--resume"] if run_dir.exists() else []),
    ]
    return run_dir, step(f"eval {name} ({protocol}, test split)", args, python=python)

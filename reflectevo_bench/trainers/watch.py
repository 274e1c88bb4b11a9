"""Watching a training run: TRL's tqdm bar on a terminal; one plain line per logging step otherwise (CI logs,
pipes), in place of transformers' ``PrinterCallback`` dict."""

from __future__ import annotations

import sys
import time
from typing import Any

from transformers import TrainerCallback


def tqdm_wanted(explicit_keys: list[str] | tuple[str, ...], disable_tqdm: bool | None) -> bool:
    """``disable_tqdm`` for a stage: what the config says where it says it, else the bar only on a terminal."""
    if "disable_tqdm" in explicit_keys:
        return bool(disable_tqdm)
    return not sys.stderr.isatty()


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def step_line(step: int, max_steps: int, epoch: float | None, logs: dict[str, Any], elapsed: float) -> str:
    """``step 10/100 (10%) epoch 0.50 | loss 1.234 | learning_rate 2e-05 | 12s, ETA 1:48`` (no ETA at step 0)."""
    where = f"step {step}/{max_steps} ({100 * step // max_steps}%)" if max_steps > 0 else f"step {step}"
    if epoch is not None:
        where += f" epoch {epoch:.2f}"
    parts = [where] + [
        f"{k} {_number(v)}"
        for k, v in logs.items()
        if k not in ("epoch", "step") and isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    timing = f"{elapsed:.0f}s"
    if 0 < step < max_steps:
        left = int(elapsed / step * (max_steps - step))
        timing += f", ETA {left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d}"
    return " | ".join(parts + [timing])


class StepLines(TrainerCallback):
    """One line per logging step on stderr, from the main process only."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream
        self.start = time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        line = step_line(state.global_step, state.max_steps, state.epoch, logs, time.perf_counter() - self.start)
        print(line, file=self.stream or sys.stderr, flush=True)


def use_step_lines(trainer) -> None:
    """Where the bar is off, swap transformers' dict printer for :class:`StepLines`."""
    from transformers.trainer_callback import PrinterCallback

    if trainer.args.disable_tqdm:
        trainer.remove_callback(PrinterCallback)
        trainer.add_callback(StepLines())

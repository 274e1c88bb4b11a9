"""Eval results to the trackers people already use: W&B (``--wandb-args K=V,...``, as lm-eval's ``--wandb_args``)
and TensorBoard (``--tensorboard DIR``). Both are checked before a run starts (a refusal writes nothing); the
scalars are ``<task>/acc@t1`` … ``<task>/acc@tK`` and ``<task>/delta`` per task and group, at step 0."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.gen_kwargs import split_key_values


def scalars(results: dict[str, Any]) -> dict[str, float]:
    """``{"<task>/acc@t1": …, "<task>/acc@tK": …, "<task>/delta": …}`` for every task and group."""
    attempts = int(results.get("attempts") or 1)
    out: dict[str, float] = {}
    for name, m in {**(results.get("groups") or {}), **(results.get("results") or {})}.items():
        for k in range(1, attempts + 1):
            if isinstance(m.get(f"acc@t{k}"), (int, float)):
                out[f"{name}/acc@t{k}"] = float(m[f"acc@t{k}"])
        if isinstance(m.get("delta"), (int, float)):
            out[f"{name}/delta"] = float(m["delta"])
    return out


@dataclass
class Trackers:
    wandb_args: dict[str, str] | None = None
    tensorboard: Path | None = None

    @classmethod
    def check(cls, wandb_args: str | None, tensorboard: str | None) -> Trackers:
        """Parse and check the options; one clear BenchError (exit 2) before anything runs or is written."""
        parsed = None
        if wandb_args is not None:
            parsed = split_key_values(wandb_args, "--wandb-args")
            if importlib.util.find_spec("wandb") is None:
                raise BenchError("--wandb-args needs the wandb package, which is not installed: pip install wandb")
        board = None
        if tensorboard is not None:
            board = Path(tensorboard).expanduser()
            if board.exists() and not board.is_dir():
                raise BenchError(f"--tensorboard {tensorboard} is a file: give a directory for the event files")
            if importlib.util.find_spec("tensorboard") is None:
                raise BenchError(
                    "--tensorboard needs the tensorboard package, which is not installed: pip install tensorboard"
                )
        return cls(parsed, board)

    def log(self, results: dict[str, Any], run_dir: Path | None = None) -> list[str]:
        """Write the results to each tracker asked for; returns one line per tracker written."""
        lines = []
        values = scalars(results)
        if self.tensorboard is not None:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(log_dir=str(self.tensorboard))
            try:
                for tag, value in values.items():
                    writer.add_scalar(tag, value, 0)
                writer.add_text(
                    "config",
                    f"protocol={results.get('protocol')} attempts={results.get('attempts')} "
                    f"feedback={results.get('feedback_mode')}" + (f" run={run_dir}" if run_dir else ""),
                    0,
                )
            finally:
                writer.close()
            lines.append(f"tensorboard: {len(values)} scalars in {self.tensorboard}")
        if self.wandb_args is not None:
            import wandb

            config = {k: results.get(k) for k in ("protocol", "attempts", "feedback_mode")}
            run = wandb.init(**{"job_type": "eval", "config": config, **self.wandb_args})
            try:
                run.log(values)
                run.summary.update(values)
                table = wandb.Table(
                    columns=["task", "metric", "value"], data=[[*tag.rsplit("/", 1), v] for tag, v in values.items()]
                )
                run.log({"results": table})
            finally:
                run.finish()
            lines.append(f"wandb: {len(values)} scalars to run {run.name}")
        return lines

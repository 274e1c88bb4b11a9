"""Final checkpoints: model + tokenizer (with its chat template) runnable by `reflectevo-bench run`, LoRA merged by
default, and `reflectevo_checkpoint.json` saying what was trained on what, with which software, how fast."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from reflectevo_bench.harness.environment import git_hash, package_versions
from reflectevo_bench.harness.run_dir import write_json_atomic
from reflectevo_bench.trainers.config import CHECKPOINT_FILE, STAGE_FILE, TrainJob
from reflectevo_bench.trainers.model_card import write_model_card

FORMAT_VERSION = 1
ADAPTER_SUBDIR = "adapter"


class StepTimer(TrainerCallback):
    """Wall time per optimizer step in this session, and every logged loss."""

    def __init__(self) -> None:
        self.start_step = 0
        self.t_begin: float | None = None
        self.t_first_end: float | None = None
        self.t_last_end: float | None = None
        self.steps = 0
        self.losses: list[tuple[int, float]] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.start_step = state.global_step
        self.t_begin = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        if self.t_first_end is None:
            self.t_first_end = now
        self.t_last_end = now
        self.steps += 1

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.losses.append((state.global_step, float(logs["loss"])))

    def metrics(self, train_output, state) -> dict[str, Any]:
        m = dict(train_output.metrics) if train_output is not None else {}
        spent = (self.t_last_end - self.t_begin) if self.t_begin and self.t_last_end else None
        # after the first step (which pays for warm-up) when there are several
        steady = (
            (self.t_last_end - self.t_first_end) / (self.steps - 1)
            if self.steps > 1 and self.t_first_end and self.t_last_end
            else None
        )
        return {
            "global_step": state.global_step,
            "steps_this_session": self.steps,
            "resumed_from_step": self.start_step or None,
            "seconds_per_step": round(spent / self.steps, 4) if spent and self.steps else None,
            "seconds_per_step_after_first": round(steady, 4) if steady else None,
            "runtime_s": m.get("train_runtime"),
            "train_loss": m.get("train_loss"),
            "first_loss": self.losses[0][1] if self.losses else None,
            "final_loss": self.losses[-1][1] if self.losses else None,
            "loss_history": [{"step": s, "loss": v} for s, v in self.losses],
            "epoch": state.epoch,
        }


def save_final(trainer, job: TrainJob, out: Path) -> dict[str, Any]:
    """Save the trained model at `out` so that `run --model-args pretrained=out` loads it; returns what was saved.

    Full fine-tune: the model + tokenizer. LoRA with merge: the adapter in out/adapter, then the base with the
    adapter merged into out (on the main process, from the saved adapter, so DeepSpeed/FSDP shards never need
    merging in place). LoRA without merge: the adapter + tokenizer at `out` (`run` takes `pretrained=BASE,peft=out`).
    """
    out = out.resolve()
    if job.peft is None:
        trainer.save_model(str(out))
        return {"kind": "full", "path": str(out), "run": f"--model-args pretrained={out}"}
    if not job.merge:
        trainer.save_model(str(out))
        return {
            "kind": "lora-adapter",
            "path": str(out),
            "base_model": job.model,
            "run": f"--model-args pretrained={job.model},peft={out}",
        }
    adapter_dir = out / ADAPTER_SUBDIR
    trainer.save_model(str(adapter_dir))
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        merge_adapter(job.model, adapter_dir, out, trainer.processing_class, job.args.model_init_kwargs)
    trainer.accelerator.wait_for_everyone()
    return {
        "kind": "lora-merged",
        "path": str(out),
        "adapter": str(adapter_dir),
        "base_model": job.model,
        "run": f"--model-args pretrained={out}",
    }


def merge_adapter(base: str, adapter_dir: Path, out: Path, tokenizer, model_init_kwargs: dict | None) -> None:
    """Load `base` on the CPU, merge the adapter in, save the merged model + tokenizer at `out`."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    dtype = (model_init_kwargs or {}).get("dtype", "float32")
    if isinstance(dtype, str) and dtype != "auto":
        dtype = getattr(torch, dtype)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype, device_map=None)
    model = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))


def write_stage_marker(path: Path, payload: dict[str, Any]) -> None:
    write_json_atomic(path / STAGE_FILE, payload)


def read_stage_marker(path: Path) -> dict[str, Any] | None:
    f = path / STAGE_FILE
    if not f.is_file():
        return None
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None


def write_checkpoint_record(job: TrainJob, out: Path, saved: dict[str, Any], stages: list[dict[str, Any]]) -> Path:
    """Write `reflectevo_checkpoint.json` (last, atomically: its presence means the checkpoint is complete)."""
    record = {
        "format_version": FORMAT_VERSION,
        "trainer": job.trainer,
        "stage": job.stage,
        "base_model": {"spec": job.model_spec, "path": job.model},
        "saved": saved,
        "data": {name: d.summary() for name, d in job.data.items()},
        "config_file": str(job.config_file),
        "overrides": job.overrides,
        "config": job.resolved_config(),
        "stages": stages,
        "metrics": stages[-1]["metrics"] if stages else None,
        "package_versions": package_versions(),
        "git_revision": git_hash(),
        "command": sys.argv,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_model_card(job, out, saved, record["metrics"])  # TRL's card names a local base model "[None]"
    path = out / CHECKPOINT_FILE
    write_json_atomic(path, record)
    return path


def checkpoint_step(checkpoint: Path) -> int | None:
    """The global step a ``checkpoint-N`` folder was saved at (its trainer_state.json), or None."""
    try:
        return int(json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))["global_step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def drop_redone_rollouts(log_path: Path, step: int) -> int:
    """A run resumed from the checkpoint of ``step`` redoes the steps from there: the rollouts the killed run logged
    for them are dropped (kept: training rows of earlier steps, eval rows up to ``step``, which ran before that
    checkpoint was saved), so ``rollouts.jsonl`` holds each step once. A line cut by the kill goes too. Returns the
    number of lines dropped; the file is replaced atomically."""
    path = Path(log_path)
    if not path.is_file():
        return 0
    kept, dropped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        try:
            row = json.loads(line)
            row_step = row.get("step")
            redone = row_step is not None and (row_step > step if row.get("mode") == "eval" else row_step >= step)
        except (ValueError, AttributeError):
            redone = True  # a line torn by the kill
        if redone:
            dropped += 1
        else:
            kept.append(line if line.endswith("\n") else line + "\n")
    if dropped:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(kept), encoding="utf-8")
        os.replace(tmp, path)
    return dropped

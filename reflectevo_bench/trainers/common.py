"""Pieces shared by the SFT and DPO runners: datasets, the policy model, resuming, the final record."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.trainers.checkpoint import StepTimer, save_final, write_checkpoint_record
from reflectevo_bench.trainers.config import TrainJob, lora_config
from reflectevo_bench.trainers.data.datadir import DataDir
from reflectevo_bench.trainers.watch import tqdm_wanted, use_step_lines

log = logging.getLogger(__name__)


def datasets_for(d: DataDir, args) -> tuple[Any, Any]:
    """(train, eval) `datasets.Dataset`s; eval is None when eval.jsonl is empty (and evaluation is then refused)."""
    from datasets import Dataset

    train = Dataset.from_list(d.train)
    evald = Dataset.from_list(d.eval) if d.eval else None
    if evald is None and str(getattr(args.eval_strategy, "value", args.eval_strategy)) != "no":
        raise BenchError(f"eval_strategy is {args.eval_strategy} but {d.path / 'eval.jsonl'} has no rows")
    return train, evald


def stage_args(job: TrainJob, output_dir: Path):
    args = copy.deepcopy(job.args)
    args.output_dir = str(output_dir)
    args.disable_tqdm = tqdm_wanted(job.explicit_keys or [], args.disable_tqdm)
    return args


def resume_arg(job: TrainJob, output_dir: Path) -> bool | str | None:
    """`resume_from_checkpoint` for one stage: True picks the latest checkpoint-N there (none: a fresh start)."""
    if job.resume is None:
        return None
    if job.resume is True:
        from transformers.trainer_utils import get_last_checkpoint

        return True if output_dir.is_dir() and get_last_checkpoint(str(output_dir)) else None
    return job.resume


def policy_kwargs(job: TrainJob, args, tokenizer=None) -> dict[str, Any]:
    """What each TRL trainer of a one-stage run is given: the model to start from, its args, the tokenizer (the
    model's own unless given) and the LoRA config (None: full fine-tune)."""
    if tokenizer is None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(job.model)
    return {
        "model": job.model,
        "args": args,
        "processing_class": tokenizer,
        "peft_config": lora_config(job.peft) if job.peft else None,
    }


def load_policy(path: str, args, adapter: Path | None = None):
    """The model a stage starts from: `path` as TRL would load it, plus a trainable LoRA adapter if given."""
    if adapter is None:
        return path  # TRL loads it with args.model_init_kwargs
    from peft import PeftModel
    from trl.trainer.utils import create_model_from_path

    kwargs = dict(args.model_init_kwargs or {})
    if args.distributed_state.distributed_type in ["MULTI_GPU", "DEEPSPEED"]:
        kwargs["device_map"] = None
    kwargs.setdefault("trust_remote_code", args.trust_remote_code)
    base = create_model_from_path(path, **kwargs)
    return PeftModel.from_pretrained(base, str(adapter), is_trainable=True)


def run_trainer(trainer, resume: bool | str | None) -> dict[str, Any]:
    timer = StepTimer()
    trainer.add_callback(timer)
    use_step_lines(trainer)
    try:
        output = trainer.train(resume_from_checkpoint=resume)
    except ValueError as exc:
        if "checkpoint" in str(exc).lower() and resume:
            raise BenchError(f"cannot resume: {one_line(exc, None)}") from exc
        raise
    return timer.metrics(output, trainer.state)


def finish(trainer, job: TrainJob, stages: list[dict[str, Any]]) -> Path:
    out = job.output_dir
    saved = save_final(trainer, job, out)
    if trainer.is_world_process_zero():
        write_checkpoint_record(job, out, saved, stages)
    trainer.accelerator.wait_for_everyone()
    if trainer.model_wrapped is not trainer.model:
        # Free the DDP wrapper now, on every rank together: its Reducer holds the gloo process group, and freed
        # later (when the trainer goes) the group's destructor joins a thread that waits on a peer that has
        # already exited -- rank 0 then hung after a finished torchrun job.
        trainer.model_wrapped = trainer.model
        trainer.accelerator.free_memory()
    end = getattr(trainer, "end", None)  # transformers >= 5.18: finish trackers, destroy the process group
    if callable(end):
        end()
    return out


def quiet_warnings() -> None:
    import warnings

    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*deprecated.*")
    warnings.filterwarnings("ignore", message=".*use_cpu.*")
    try:
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()  # the per-map bars of TRL's dataset preparation
    except ImportError:
        pass

"""`train dpo`: TRL's DPOTrainer on prompt/chosen/rejected rows (kinds dpm = D±, dpref).

With LoRA the reference model is the base with the adapter disabled (`ref_model=None` + a peft config: no second
copy in memory); a full fine-tune gets a frozen copy of the starting model as reference (TRL loads it).
"""

from __future__ import annotations

from pathlib import Path

from reflectevo_bench.trainers.common import (
    datasets_for,
    finish,
    policy_kwargs,
    quiet_warnings,
    resume_arg,
    run_trainer,
    stage_args,
)
from reflectevo_bench.trainers.config import TrainJob


def build_dpo_trainer(job: TrainJob, output_dir: Path):
    from trl import DPOTrainer

    args = stage_args(job, output_dir)
    train, evald = datasets_for(job.data["train"], args)
    return DPOTrainer(**policy_kwargs(job, args), ref_model=None, train_dataset=train, eval_dataset=evald)


def run_dpo(job: TrainJob) -> Path:
    quiet_warnings()
    out = job.output_dir
    trainer = build_dpo_trainer(job, out)
    metrics = run_trainer(trainer, resume_arg(job, out))
    return finish(trainer, job, [{"stage": "one", "data": "train", "metrics": metrics}])

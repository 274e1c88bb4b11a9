"""`train dpo`: TRL's DPOTrainer on prompt/chosen/rejected rows (kinds dpm = D±, dpref).

With LoRA the reference model is the base with the adapter disabled (`ref_model=None` + a peft config: no second
copy in memory); a full fine-tune gets a frozen copy of the starting model as reference (TRL loads it).
"""

from __future__ import annotations

from pathlib import Path

from reflectevo_bench.trainers.common import datasets_for, finish, quiet_warnings, resume_arg, run_trainer, stage_args
from reflectevo_bench.trainers.config import TrainJob, lora_config


def build_dpo_trainer(job: TrainJob, output_dir: Path):
    from transformers import AutoTokenizer
    from trl import DPOTrainer

    args = stage_args(job, output_dir)
    train, evald = datasets_for(job.data["train"], args)
    return DPOTrainer(
        model=job.model,
        ref_model=None,
        args=args,
        train_dataset=train,
        eval_dataset=evald,
        processing_class=AutoTokenizer.from_pretrained(job.model),
        peft_config=lora_config(job.peft) if job.peft else None,
    )


def run_dpo(job: TrainJob) -> Path:
    quiet_warnings()
    out = job.output_dir
    trainer = build_dpo_trainer(job, out)
    metrics = run_trainer(trainer, resume_arg(job, out))
    return finish(trainer, job, [{"stage": "one", "data": "train", "metrics": metrics}])

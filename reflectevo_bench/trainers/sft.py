"""`train sft`: TRL's SFTTrainer on prompt/completion rows, loss on the completion only (and, for multi-message
completions such as D+, on the assistant turns only).

One stage (`data: DIR`): one SFT run, the checkpoint at `output_dir`.
Two stages (`data: {reflection: DIR, correction: DIR}`): SFT on the reflection rows, saved to
`output_dir/stage1-reflection` (a full model, or the LoRA adapter); then SFT from there on the correction rows
(the same LoRA adapter keeps training), the checkpoint at `output_dir`. With resume_from_checkpoint a finished
stage 1 is not redone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reflectevo_bench.trainers.checkpoint import read_stage_marker, write_stage_marker
from reflectevo_bench.trainers.common import (
    datasets_for,
    finish,
    load_policy,
    quiet_warnings,
    resume_arg,
    run_trainer,
    stage_args,
)
from reflectevo_bench.trainers.config import TrainJob, lora_config

STAGE1_DIR = "stage1-reflection"


def build_sft_trainer(
    job: TrainJob, data_name: str, output_dir: Path, model: Any, processing_class=None, with_peft: bool = True
):
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    args = stage_args(job, output_dir)
    train, evald = datasets_for(job.data[data_name], args)
    if processing_class is None:
        processing_class = AutoTokenizer.from_pretrained(job.model)
    return SFTTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evald,
        processing_class=processing_class,
        peft_config=lora_config(job.peft) if (job.peft and with_peft) else None,
    )


def run_sft(job: TrainJob) -> Path:
    quiet_warnings()
    out = job.output_dir
    if job.stage == "one":
        trainer = build_sft_trainer(job, "train", out, load_policy(job.model, job.args))
        metrics = run_trainer(trainer, resume_arg(job, out))
        return finish(trainer, job, [{"stage": "one", "data": "train", "metrics": metrics}])

    stage1 = out / STAGE1_DIR
    stages: list[dict[str, Any]] = []
    marker = read_stage_marker(stage1) if job.resume is not None else None
    if marker is None:
        t1 = build_sft_trainer(job, "reflection", stage1, load_policy(job.model, job.args))
        m1 = run_trainer(t1, resume_arg(job, stage1))
        t1.save_model(str(stage1))  # the full model, or the adapter: stage 2 starts from it
        t1.accelerator.wait_for_everyone()
        marker = {"stage": "reflection", "data": "reflection", "saved": str(stage1), "metrics": m1}
        if t1.is_world_process_zero():
            write_stage_marker(stage1, marker)
        t1.accelerator.wait_for_everyone()
        del t1
    stages.append(marker)

    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(stage1))  # keeps the template stage 1 trained with
    if job.peft:
        model = load_policy(job.model, job.args, adapter=stage1)
    else:
        model = load_policy(str(stage1), job.args)
    t2 = build_sft_trainer(job, "correction", out, model, processing_class=tok, with_peft=False)
    m2 = run_trainer(t2, resume_arg(job, out))
    stages.append({"stage": "correction", "data": "correction", "metrics": m2})
    return finish(t2, job, stages)

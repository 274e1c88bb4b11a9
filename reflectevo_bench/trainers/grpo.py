"""`train grpo`: Reflect, Retry, Reward — TRL's GRPOTrainer on a `failures` data dir.

``objective: reflection`` (default): the completions are reflections on a failed attempt (the failure's
reflection-turn chat is the prompt); each reflection's retry is generated in the rollout and verified by the
task's verifier; reward 1 if the retry passes (``trainers.rollout``). Only reflection tokens get gradient.

``objective: answer`` (the RLVR control): plain GRPO on the same failures' attempt-1 prompts with the same
verifiers and budget. Leaderboards then tell reflection gains from ordinary first-attempt RL gains.

Paper settings where known: β = 0.001 (the default here unless the config sets ``beta``). G, learning rate,
lengths and temperature are not public: TRL's defaults unless the config says otherwise. The retry inside the
rollout decodes greedily with each task's own ``max_gen_toks`` (as evaluation retries do) unless the config sets
``retry_temperature`` / ``retry_max_length``; the settings go to ``retry_settings.json`` and the log.

Resuming (``resume_from_checkpoint``) continues the interrupted run exactly: same weights, rollouts and losses as
an uninterrupted run (``trainers.grpo_state``: the epoch's prompt order and the generation buffer).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.trainers.common import finish, policy_kwargs, quiet_warnings, resume_arg, run_trainer, stage_args
from reflectevo_bench.trainers.config import TrainJob

RETRY_SETTINGS = "retry_settings.json"  # how the rollouts' retries were decoded (written at the start)


def load_tasks(card: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """The tasks of the data's rows, loaded as the source runs loaded them (their verifiers are the rewards)."""
    from reflectevo_bench.tasks.registry import load_eval_tasks

    tasks: dict[str, Any] = {}
    for src in card.get("source_runs") or []:
        wanted = [t for t in src.get("tasks") or [] if t in names and t not in tasks]
        if not wanted:
            continue
        specs = src.get("task_specs") or wanted
        for task in load_eval_tasks(
            ",".join(specs), src.get("data_dir"), 1, src.get("num_fewshot"), src.get("metadata"), src.get("split")
        ):
            if task.name in names:
                tasks.setdefault(task.name, task)
    missing = sorted(names - set(tasks))
    if missing:
        raise BenchError(
            f"the data's task(s) {', '.join(missing)} have no verifier here (their source runs do not "
            "load them): rebuild the data dir with `reflectevo-bench data build --kind failures`"
        )
    return tasks


def build_grpo_trainer(job: TrainJob, output_dir: Path):
    from datasets import Dataset
    from transformers import AutoTokenizer

    from reflectevo_bench.trainers.grpo_state import ExactResumeGRPOTrainer
    from reflectevo_bench.trainers.rollout import (
        AnswerReward,
        ReflectionRollout,
        RetrySettings,
        RolloutLog,
        Verifiers,
        retry_reward,
    )

    args = stage_args(job, output_dir)
    data = job.data["train"]
    rows = data.train
    verifiers = Verifiers(load_tasks(data.card, {r["task"] for r in rows}))
    log = RolloutLog(output_dir, args.process_index)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    if job.objective == "reflection":
        dataset = Dataset.from_list(
            [{"prompt": r["prompt"], "task": r["task"], "doc_hash": r["doc_hash"]} for r in rows]
        )
        retry = RetrySettings(job.retry_temperature, job.retry_max_length, job.retry_reuse_cache)
        rollout, rewards = ReflectionRollout(rows, verifiers, log, retry), [retry_reward]
        settings = retry.describe(verifiers.tasks)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / RETRY_SETTINGS).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        print(
            f"GRPO retry decoding: {settings['retry_decoding']}"
            + (f" at temperature {retry.temperature}" if not retry.greedy else "")
            + f", max new tokens {settings['retry_max_length_per_task']}",
            flush=True,
        )
    else:
        dataset = Dataset.from_list(
            [
                {
                    "prompt": r["attempt_prompt"],
                    "task": r["task"],
                    "doc_hash": r["doc_hash"],
                    "doc": json.dumps(r["doc"], sort_keys=True),
                }
                for r in rows
            ]
        )
        rollout, rewards = None, [AnswerReward(verifiers, log)]
    tokenizer = AutoTokenizer.from_pretrained(job.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return ExactResumeGRPOTrainer(
        **policy_kwargs(job, args, tokenizer), reward_funcs=rewards, train_dataset=dataset, rollout_func=rollout
    )


def run_grpo(job: TrainJob) -> Path:
    quiet_warnings()
    out = job.output_dir
    trainer = build_grpo_trainer(job, out)
    resume = resume_arg(job, out)
    if resume:
        from transformers.trainer_utils import get_last_checkpoint

        from reflectevo_bench.trainers.checkpoint import checkpoint_step, drop_redone_rollouts
        from reflectevo_bench.trainers.rollout import RolloutLog

        step = checkpoint_step(Path(get_last_checkpoint(str(out)) if resume is True else resume))
        if step is not None:  # the steps after the checkpoint are redone: their logged rollouts go
            drop_redone_rollouts(RolloutLog(out, trainer.args.process_index).path, step)
    metrics = run_trainer(trainer, resume)
    return finish(trainer, job, [{"stage": "one", "data": "train", "objective": job.objective, "metrics": metrics}])

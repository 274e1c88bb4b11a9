"""GRPO rollouts for Reflect, Retry, Reward: the completion is the reflection; the reward is the retry's verdict.

TRL's ``GRPOTrainer`` hands ``rollout_func`` this rank's prompts (the failures' reflection-turn chats), already
repeated ``num_generations`` times. For each one :class:`ReflectionRollout`:

1. generates the reflection with the trainer's own generation path and settings — these are the only tokens
   trained;
2. builds the retry chat exactly as ``run`` does (the harness's ``Prompter`` and ``with_reply``: one code path),
   and generates every retry of the batch with the retry's own settings (:class:`RetrySettings`: greedy and the
   task's own ``max_gen_toks`` by default, as ``run`` retries; ``retry_temperature`` / ``retry_max_length`` in the
   GRPO config), not the reflection's sampling temperature and ``max_completion_length``. On TRL's plain
   ``transformers.generate`` path both generations run in one pass and the retry continues the reflection's KV
   cache (``retry_cache.py``: only the retry request is prefilled); on vLLM (colocate or server) and with
   continuous batching they are two calls of TRL's ``_generate_single_turn`` (vLLM's prefix cache covers the
   shared prefix there);
3. verifies each retry with the task's own verifier (code tasks in the sandbox pool, never in this process);
4. appends one JSON line per rollout to ``rollouts.jsonl`` and returns the verdicts for the reward function.

The ``answer`` objective (the RLVR control) needs no rollout: TRL generates attempt-1 answers and
:class:`AnswerReward` verifies them with the same verifiers.

Relies on TRL 1.16's private ``_tokenize_prompts`` / ``_generate_single_turn`` (pinned, and tested).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.harness.engine import with_reply
from reflectevo_bench.harness.gen_kwargs import DEFAULT_GEN_KWARGS
from reflectevo_bench.harness.protocols import PROTOCOLS, Prompter
from reflectevo_bench.harness.records import json_line
from reflectevo_bench.tasks.eval_task import EvalTask
from reflectevo_bench.tasks.verdict import Verdict
from reflectevo_bench.trainers import retry_cache


def prompt_key(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


class Verifiers:
    """The tasks' verifiers, one batch per task."""

    def __init__(self, tasks: dict[str, EvalTask]) -> None:
        self.tasks = tasks

    def verify(self, task_names: list[str], docs: list[dict], texts: list[str]) -> list[Verdict]:
        out: list[Verdict | None] = [None] * len(texts)
        by_task: dict[str, list[int]] = {}
        for i, name in enumerate(task_names):
            by_task.setdefault(name, []).append(i)
        for name, idx in by_task.items():
            verdicts = self.tasks[name].verify_batch([docs[i] for i in idx], [texts[i] for i in idx])
            for i, verdict in zip(idx, verdicts):
                out[i] = verdict
        return out  # type: ignore[return-value]


class RolloutLog:
    """``rollouts.jsonl`` (rank 0) or ``rollouts.rank<N>.jsonl``: one line per rollout, flushed as it happens."""

    def __init__(self, output_dir: Path, process_index: int = 0) -> None:
        name = "rollouts.jsonl" if process_index == 0 else f"rollouts.rank{process_index}.jsonl"
        self.path = Path(output_dir) / name
        self._lock = threading.Lock()

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json_line(row))
            fh.flush()


@dataclass(frozen=True)
class RetrySettings:
    """How the retry inside a GRPO rollout is decoded.

    ``temperature`` None or 0: greedy (evaluation retries are greedy); > 0: sampled at that temperature.
    ``max_length`` None: each task's own ``max_gen_toks`` (what ``run`` gives a retry). The batch's retries are
    generated in ONE call (every rank makes the same calls: vLLM server mode needs it) with the largest of the
    lengths, and each retry is then cut to its own task's length, which for left-to-right decoding is the same
    as generating it with that cap.
    """

    temperature: float | None = None
    max_length: int | None = None
    reuse_cache: bool = True  # on TRL's HF path, continue the reflection's KV cache (``retry_cache.py``)

    @property
    def greedy(self) -> bool:
        return not self.temperature

    def lengths(self, tasks: dict[str, EvalTask]) -> dict[str, int]:
        if self.max_length is not None:
            return {name: int(self.max_length) for name in tasks}
        return {
            name: int(
                t.generation_kwargs(DEFAULT_GEN_KWARGS, {}).get("max_gen_toks") or DEFAULT_GEN_KWARGS["max_gen_toks"]
            )
            for name, t in tasks.items()
        }

    def describe(self, tasks: dict[str, EvalTask]) -> dict[str, Any]:
        return {
            "retry_temperature": self.temperature,
            "retry_decoding": "greedy" if self.greedy else "sampled",
            "retry_max_length": self.max_length,
            "retry_max_length_per_task": self.lengths(tasks),
            "retry_reuse_cache": self.reuse_cache,
        }


def hf_retry_generation(trainer: Any, settings: RetrySettings, max_tokens: int) -> tuple[Any, dict[str, Any]]:
    """The HF generation config (and TRL's ``generation_kwargs``) of a retry: a copy of the trainer's with
    ``max_new_tokens`` and greedy decoding or the retry temperature."""
    sampling = (
        {"do_sample": False, "temperature": None, "top_p": None, "top_k": None, "min_p": None}
        if settings.greedy
        else {"do_sample": True, "temperature": float(settings.temperature)}
    )
    config = copy.deepcopy(trainer.generation_config)
    config.update(max_new_tokens=int(max_tokens), **sampling)
    kwargs = getattr(trainer, "generation_kwargs", None)
    kwargs = {**kwargs, "max_new_tokens": int(max_tokens), **sampling} if isinstance(kwargs, dict) else None
    return config, kwargs


@contextmanager
def retry_generation(trainer: Any, settings: RetrySettings, max_tokens: int) -> Iterator[None]:
    """While the retry is generated by a second call of TRL's generation path, it decodes with the retry's settings.

    HF (``transformers.generate``, continuous batching): :func:`hf_retry_generation` in place of
    ``trainer.generation_config`` (and of the ``generation_kwargs`` TRL writes into the unwrapped model's config).
    vLLM (colocate and server: ``trainer.vllm_generation`` reads its ``temperature`` and ``max_completion_length``
    at every ``generate``): those two attributes; greedy is temperature 0, vLLM's greedy. Everything is restored
    afterwards, also on error.
    """
    saved: list[tuple[Any, str, Any]] = []

    def put(obj: Any, name: str, value: Any) -> None:
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    try:
        if getattr(trainer, "use_vllm", False):
            vg = trainer.vllm_generation
            put(vg, "temperature", 0.0 if settings.greedy else float(settings.temperature))
            put(vg, "max_completion_length", int(max_tokens))
        else:
            config, kwargs = hf_retry_generation(trainer, settings, max_tokens)
            put(trainer, "generation_config", config)
            if kwargs is not None:
                put(trainer, "generation_kwargs", kwargs)
        yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)


@contextmanager
def vllm_awake_for_retry(trainer: Any) -> Iterator[None]:
    """vLLM colocate with ``vllm_enable_sleep_mode``: one weight sync per step, the engine awake for the retry.

    TRL 1.16 puts the engine to sleep at level 2 (weights and KV cache discarded) at the end of every ``generate``
    and, because level 2 drops the weights, re-pushes them all (``sync_weights``) at the start of the next one. A
    reflection-GRPO step generates twice (reflection, then retry), so left alone it pushes the weights twice per
    step and the retry finds an empty prefix cache. Around the reflection call this does TRL's once-per-step sync
    itself (wake the weights, push them, wake the KV cache) and turns the sleep off; the retry call then finds the
    engine awake with current weights (no second push, the reflection prompts still in the prefix cache) and puts it
    to sleep as TRL always does. Elsewhere (HF, vLLM server, no sleep mode) it does nothing.
    """
    vg = getattr(trainer, "vllm_generation", None) if getattr(trainer, "use_vllm", False) else None
    if vg is None or getattr(vg, "mode", None) != "colocate" or not getattr(vg, "enable_sleep_mode", False):
        yield
        return
    if vg._llm_weights_sleeping or trainer.state.global_step != trainer._last_loaded_step:
        vg.sync_weights()  # with sleep mode on: wakes the weights first, as TRL's own sync does
        vg._llm_weights_sleeping = False
        trainer._last_loaded_step = trainer.state.global_step
    vg.llm.wake_up(tags=["kv_cache"])
    vg.enable_sleep_mode = False
    try:
        yield
    finally:
        vg.enable_sleep_mode = True


class ReflectionRollout:
    """``rollout_func`` of reflection GRPO (see the module docstring)."""

    def __init__(
        self,
        rows: list[dict[str, Any]],
        verifiers: Verifiers,
        log: RolloutLog,
        retry: RetrySettings | None = None,
    ) -> None:
        self.rows = {prompt_key(row["prompt"]): row for row in rows}
        self.verifiers = verifiers
        self.log = log
        self.retry = retry or RetrySettings()
        self.reuse_cache = self.retry.reuse_cache
        self.retry_lengths = self.retry.lengths(verifiers.tasks)
        self.retry_max_tokens = max(self.retry_lengths.values(), default=DEFAULT_GEN_KWARGS["max_gen_toks"])
        self.prompters = {
            name: Prompter(PROTOCOLS["reflect"], t.reflection.templates, t.reflection.answer_format)
            for name, t in verifiers.tasks.items()
        }

    def row_for(self, prompt: list[dict[str, Any]]) -> dict[str, Any]:
        row = self.rows.get(prompt_key(prompt))
        if row is None:
            raise RuntimeError("rollout_func got a prompt that is not in the training set")
        return row

    def retry_messages(self, row: dict[str, Any], reflection: str) -> list[dict[str, str]]:
        """The retry chat as ``run`` builds it: the reflection chat, the reflection, the retry request."""
        prompter = self.prompters[row["task"]]
        request = prompter.retry_request(Verdict(False, 0.0, row.get("feedback") or ""))
        return with_reply(row["prompt"], reflection) + [{"role": "user", "content": request}]

    def __call__(self, prompts: list[list[dict[str, Any]]], trainer: Any) -> dict[str, Any]:
        mode = "train" if trainer.model.training else "eval"
        groups = trainer.num_generations if mode == "train" else trainer.num_generations_eval
        tokenizer = trainer.processing_class
        clock = [time.perf_counter()]
        rows = [self.row_for(p) for p in prompts]
        prompt_ids, _, _ = trainer._tokenize_prompts(prompts)

        def retry_prompt_ids(completions: list[list[int]]) -> list[list[int]]:
            texts = tokenizer.batch_decode(completions, skip_special_tokens=True)
            return trainer._tokenize_prompts([self.retry_messages(r, t) for r, t in zip(rows, texts)])[0]

        if self.reuse_cache and retry_cache.applies(trainer):
            config, kwargs = hf_retry_generation(trainer, self.retry, self.retry_max_tokens)
            done = retry_cache.reflect_then_retry(trainer, prompt_ids, retry_prompt_ids, config, kwargs)
            completion_ids, logprobs, retry_ids = done.completion_ids, None, done.retry_ids
            prefill = (done.retry_prompt_tokens, done.reused_tokens)
        else:
            with vllm_awake_for_retry(trainer):
                completion_ids, logprobs = trainer._generate_single_turn(prompt_ids, None, {}, groups)
            clock.append(time.perf_counter())
            wanted = retry_prompt_ids(completion_ids)
            with retry_generation(trainer, self.retry, self.retry_max_tokens):
                retry_ids, _ = trainer._generate_single_turn(wanted, None, {}, 1)
            prefill = (sum(map(len, wanted)), 0)
        reflections = tokenizer.batch_decode(completion_ids, skip_special_tokens=True)
        retry_ids = [list(ids)[: self.retry_lengths.get(row["task"], len(ids))] for row, ids in zip(rows, retry_ids)]
        retries = tokenizer.batch_decode(retry_ids, skip_special_tokens=True)
        clock.append(time.perf_counter())
        verdicts = self.verifiers.verify([r["task"] for r in rows], [r["doc"] for r in rows], retries)
        clock.append(time.perf_counter())
        rewards = [1.0 if v.correct else 0.0 for v in verdicts]
        step = trainer.state.global_step
        self.log.write(
            [
                {
                    "step": step,
                    "mode": mode,
                    "task": row["task"],
                    "doc_hash": row["doc_hash"],
                    "reflection": text,
                    "retry": retry,
                    "verdict": v.to_dict(),
                    "reward": reward,
                    "reflection_tokens": len(ids),
                    "retry_tokens": len(rids),
                }
                for row, text, retry, v, reward, ids, rids in zip(
                    rows, reflections, retries, verdicts, rewards, completion_ids, retry_ids
                )
            ]
        )
        metrics = trainer._metrics[mode]
        metrics["retry_pass_rate"].append(sum(rewards) / max(1, len(rewards)))
        metrics["retry_mean_length"].append(sum(map(len, retry_ids)) / max(1, len(retry_ids)))
        metrics["retry_clipped_ratio"].append(
            sum(len(ids) >= self.retry_lengths.get(row["task"], 0) for row, ids in zip(rows, retry_ids))
            / max(1, len(retry_ids))
        )
        metrics["rollout/retry_prompt_tokens"].append(prefill[0] / max(1, len(rows)))
        metrics["rollout/retry_cached_fraction"].append(prefill[1] / max(1, prefill[0]))
        names = ("generate_s", "verify_s") if len(clock) == 3 else ("reflection_s", "retry_s", "verify_s")
        for name, (start, end) in zip(names, zip(clock, clock[1:])):
            metrics[f"rollout/{name}"].append(end - start)
        return {
            "prompt_ids": prompt_ids,
            "completion_ids": completion_ids,
            "logprobs": logprobs,
            "retry": retries,
            "retry_correct": [v.correct for v in verdicts],
            "retry_feedback": [v.feedback for v in verdicts],
        }


def retry_reward(prompts: list[Any], completions: list[Any], retry_correct: list[bool], **_: Any) -> list[float]:
    """Reflect, Retry, Reward: 1 when the retry that followed the reflection passed the verifier, else 0."""
    return [1.0 if ok else 0.0 for ok in retry_correct]


class AnswerReward:
    """The RLVR control (``objective: answer``): 1 when the attempt-1 answer itself passes the verifier."""

    __name__ = "answer_reward"

    def __init__(self, verifiers: Verifiers, log: RolloutLog) -> None:
        self.verifiers = verifiers
        self.log = log

    def __call__(
        self,
        prompts: list[Any],
        completions: list[Any],
        task: list[str],
        doc: list[str],
        doc_hash: list[str],
        trainer_state: Any = None,
        **_: Any,
    ) -> list[float]:
        texts = [c[-1]["content"] if isinstance(c, list) else str(c) for c in completions]
        docs = [json.loads(d) for d in doc]
        verdicts = self.verifiers.verify(list(task), docs, texts)
        rewards = [1.0 if v.correct else 0.0 for v in verdicts]
        step = getattr(trainer_state, "global_step", None)
        self.log.write(
            [
                {"step": step, "task": t, "doc_hash": h, "answer": text, "verdict": v.to_dict(), "reward": r}
                for t, h, text, v, r in zip(task, doc_hash, texts, verdicts, rewards)
            ]
        )
        return rewards

"""GRPO's retry decoding (``retry_temperature``, ``retry_max_length``): the retry inside the rollout is greedy with
the task's own length by default (as evaluation retries), whatever the reflection's training temperature and
``max_completion_length``; checked by regenerating the logged retries with the untouched tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from mined_failures import parity_failures
from parity_task import write_parity_task
from rich.console import Console

from reflectevo_bench.cli import main

# reflections: 3 new tokens, sampled at T=1.3; the task's own retry length: 7
GRPO = {
    "num_generations": 4,
    "per_device_train_batch_size": 4,
    "max_steps": 1,
    "max_completion_length": 3,
    "temperature": 1.3,
    "logging_steps": 1,
    "learning_rate": 1.0e-2,
    "save_strategy": "no",
    "disable_tqdm": True,
    "bf16": False,
    "gradient_checkpointing": False,
    "report_to": "none",
    "use_cpu": True,
}
TASK_LENGTH = 7


@pytest.fixture(scope="module")
def failures(tiny_model, tmp_path_factory) -> Path:
    return parity_failures(tiny_model, tmp_path_factory.mktemp("retry"), "retry_toy", 16, TASK_LENGTH)


def _train(tiny_model: Path, failures: Path, out: Path, reuse_cache: bool = True, **own) -> tuple[list[dict], object]:
    from reflectevo_bench.trainers.common import run_trainer
    from reflectevo_bench.trainers.config import load_job
    from reflectevo_bench.trainers.grpo import build_grpo_trainer

    config = out.parent / f"{out.name}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                **GRPO,
                **own,
                "retry_reuse_cache": reuse_cache,
                "model": str(tiny_model),
                "data": str(failures),
                "output_dir": str(out),
            }
        )
    )
    job = load_job("grpo", config)
    trainer = build_grpo_trainer(job, out)
    calls = []
    original = trainer.model.generate

    def spy(*args, generation_config, **kwargs):  # the config of every generate call, the two paths alike
        calls.append(generation_config.to_dict())
        return original(*args, generation_config=generation_config, **kwargs)

    trainer.model.generate = spy
    run_trainer(trainer, None)
    rollouts = [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]
    return rollouts, (trainer, calls, json.loads((out / "retry_settings.json").read_text()))


def _regenerate(tiny_model: Path, trainer, rollouts: list[dict], max_new_tokens: int) -> list[str]:
    """The logged retries generated again, one by one and greedily, by the untrained model (the rollouts ran
    before the optimizer step), from the retry chat the rollout builds."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    tok, rollout = trainer.processing_class, trainer.rollout_func
    rows = {row["doc_hash"]: row for row in rollout.rows.values()}
    out = []
    for r in rollouts:
        ids = trainer._tokenize_prompts([rollout.retry_messages(rows[r["doc_hash"]], r["reflection"])])[0][0]
        with torch.no_grad():
            gen = model.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                do_sample=False,
                max_new_tokens=max_new_tokens,
                pad_token_id=tok.pad_token_id,
                eos_token_id=trainer.eos_token_ids,
            )
        out.append(tok.decode(gen[0, len(ids) :], skip_special_tokens=True))
    return out


@pytest.mark.parametrize("reuse_cache", [True, False], ids=["cache-reused", "fresh-prefill"])
def test_retry_defaults_greedy_with_the_tasks_length(tiny_model, failures, tmp_path, reuse_cache):
    """Both generation paths (the retry continuing the reflection's KV cache, and a second fresh generate call)
    give the retries a fresh one-by-one greedy generation gives."""
    rollouts, (trainer, calls, settings) = _train(tiny_model, failures, tmp_path / "greedy", reuse_cache)
    assert settings == {
        "retry_temperature": None,
        "retry_decoding": "greedy",
        "retry_max_length": None,
        "retry_max_length_per_task": {"retry_toy": TASK_LENGTH},
        "retry_reuse_cache": reuse_cache,
    }
    reflection, retry = calls[0], calls[1]
    assert reflection["do_sample"] and reflection["temperature"] == 1.3 and reflection["max_new_tokens"] == 3
    assert not retry["do_sample"] and retry["max_new_tokens"] == TASK_LENGTH
    assert trainer.generation_config.do_sample and trainer.generation_config.max_new_tokens == 3  # restored
    assert max(r["reflection_tokens"] for r in rollouts) <= 3 < max(r["retry_tokens"] for r in rollouts) <= TASK_LENGTH
    assert [r["retry"] for r in rollouts] == _regenerate(tiny_model, trainer, rollouts, TASK_LENGTH)
    cached = [
        h["rollout/retry_cached_fraction"] for h in trainer.state.log_history if "rollout/retry_cached_fraction" in h
    ]
    assert cached and (cached[0] > 0.5 if reuse_cache else cached[0] == 0.0), cached


def test_retry_temperature_and_length_are_used(tiny_model, failures, tmp_path):
    rollouts, (trainer, calls, settings) = _train(
        tiny_model, failures, tmp_path / "sampled", retry_temperature=5.0, retry_max_length=4
    )
    assert settings["retry_decoding"] == "sampled" and settings["retry_max_length_per_task"] == {"retry_toy": 4}
    assert calls[1]["do_sample"] and calls[1]["temperature"] == 5.0 and calls[1]["max_new_tokens"] == 4
    assert max(r["retry_tokens"] for r in rollouts) <= 4
    greedy = _regenerate(tiny_model, trainer, rollouts, 4)
    assert [r["retry"] for r in rollouts] != greedy  # sampled at T=5: not the greedy retries


@pytest.mark.parametrize(
    "cfg,msg",
    [
        ({"retry_temperature": -1}, "retry_temperature must be a number >= 0"),
        ({"retry_max_length": 0}, "retry_max_length must be a whole number"),
        ({"retry_max_length": "long"}, "retry_max_length must be a whole number"),
        ({"retry_reuse_cache": "yes"}, "retry_reuse_cache must be true or false"),
    ],
)
def test_bad_retry_settings_one_line_exit_2(tiny_model, failures, tmp_path, cfg, msg):
    config = tmp_path / "bad.yaml"
    config.write_text(
        yaml.safe_dump(
            {**GRPO, **cfg, "model": str(tiny_model), "data": str(failures), "output_dir": str(tmp_path / "o")}
        )
    )
    res = CliRunner().invoke(main, ["train", "grpo", "--config", str(config)])
    assert res.exit_code == 2 and msg in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert not (tmp_path / "o").exists()


RETRY_TOKENS = 6


@pytest.fixture(scope="module")
def trainer(tiny_model, failures, tmp_path_factory):
    from reflectevo_bench.trainers.config import load_job
    from reflectevo_bench.trainers.grpo import build_grpo_trainer

    out = tmp_path_factory.mktemp("retry-cache")
    config = out / "grpo.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": str(tiny_model),
                "data": str(failures),
                "output_dir": str(out / "ckpt"),
                "num_generations": 2,
                "per_device_train_batch_size": 2,
                "max_steps": 1,
                "max_completion_length": 5,
                "temperature": 1.0,
                "save_strategy": "no",
                "report_to": "none",
                "use_cpu": True,
                "bf16": False,
            }
        )
    )
    return build_grpo_trainer(load_job("grpo", config), out / "ckpt")


def _fresh(trainer, ids: list[int], config):
    """One retry prompt generated alone from an empty cache: its tokens (to the first EOS) and logits per step."""
    import torch

    with torch.no_grad():
        out = trainer.model.generate(
            input_ids=torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            generation_config=config,
            return_dict_in_generate=True,
            output_logits=True,
        )
    new = out.sequences[0, len(ids) :].tolist()
    ends = [i for i, t in enumerate(new) if t in trainer.eos_token_ids]
    new = new[: ends[0] + 1] if ends else new
    return new, [step[0] for step in out.logits[: len(new)]]


def _with_logits(trainer, monkeypatch) -> list:
    """Make every generate call of the trainer's model also hand back its logits; the list collects them per call."""
    calls, original = [], trainer.model.generate

    def generate(*args, **kwargs):
        out = original(*args, output_logits=True, **kwargs)
        calls.append(out.logits)
        return out

    monkeypatch.setattr(trainer.model, "generate", generate, raising=False)
    return calls


def _cached_retries(trainer, monkeypatch, greedy_reflection: bool = False):
    from reflectevo_bench.trainers.retry_cache import reflect_then_retry
    from reflectevo_bench.trainers.rollout import RetrySettings, hf_retry_generation

    if greedy_reflection:
        greedy = trainer.generation_config.to_dict()
        greedy.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        monkeypatch.setattr(trainer, "generation_config", type(trainer.generation_config).from_dict(greedy))
    config, kwargs = hf_retry_generation(trainer, RetrySettings(), RETRY_TOKENS)
    prompts = _prompts(trainer)
    tail = trainer.processing_class("\nTry again. Answer:", add_special_tokens=False)["input_ids"]
    build, seen = _retry_prompts(prompts, tail, trainer.eos_token_ids)
    calls = _with_logits(trainer, monkeypatch)
    done = reflect_then_retry(trainer, prompts, build, config, kwargs)
    monkeypatch.undo()
    fresh = [_fresh(trainer, w, config) for w in seen["wanted"]]
    return done, calls[-1], fresh, seen, prompts


def _same_logits(cached_steps, row: int, fresh_steps) -> bool:
    import torch

    return all(torch.allclose(c[row], f, atol=1e-4, rtol=1e-4) for c, f in zip(cached_steps, fresh_steps))


def _prompts(trainer) -> list[list[int]]:
    chats = [
        [{"role": "user", "content": "What is two plus two?"}],
        [{"role": "user", "content": "Name a prime number larger than one hundred, and say why it is prime."}],
        [{"role": "user", "content": "Sort these: 9 3 7"}],
        [{"role": "user", "content": "Why?"}],
    ]
    return trainer._tokenize_prompts(chats)[0]


def _retry_prompts(prompts: list[list[int]], tail: list[int], eos: list[int]):
    """Row 0 keeps prompt + reflection, row 1 cuts the reflection to one token, row 2 rewrites the prompt's end,
    row 3 shares nothing; each then asks for the retry (``tail``)."""
    seen: dict[str, list[int]] = {}

    def build(completions: list[list[int]]) -> list[list[int]]:
        p, c = prompts, completions
        wanted = [
            p[0] + c[0] + tail,
            p[1] + c[1][:1] + [7, 8, 9] + tail,
            p[2][:-3] + [11, 12] + c[2] + tail,
            [5, 6] + tail,
        ]
        # a reflection cut by the length limit ends with a token that was never fed, so it is not in the cache
        seen["shared"] = [len(p[0]) + len(c[0]) - (c[0][-1] not in eos), len(p[1]) + 1, len(p[2]) - 3, 0]
        seen["wanted"] = wanted
        return wanted

    return build, seen


@pytest.mark.parametrize("greedy_reflection", [True, False], ids=["greedy", "sampled"])
def test_retry_from_cache_equals_fresh_generation(trainer, monkeypatch, greedy_reflection):
    """The retry continues the reflection's KV cache (``trainers/retry_cache.py``): whatever retry prompt follows a
    reflection (kept whole, cut, rewritten, or sharing nothing), each row's retry tokens AND logits at every step
    equal a fresh generation of that prompt alone, and only the tokens past the shared prefix are prefilled."""
    done, logits, fresh, seen, prompts = _cached_retries(trainer, monkeypatch, greedy_reflection)
    assert all(0 < len(c) <= 5 for c in done.completion_ids)
    assert done.retry_ids == [tokens for tokens, _ in fresh]
    assert all(_same_logits(logits, row, steps) for row, (_, steps) in enumerate(fresh))
    assert done.reused_tokens == sum(seen["shared"]) and done.retry_prompt_tokens == sum(map(len, seen["wanted"]))
    if greedy_reflection:  # the reflection itself is what a fresh greedy generation gives
        greedy = type(trainer.generation_config).from_dict(
            {
                **trainer.generation_config.to_dict(),
                "do_sample": False,
                "temperature": None,
                "top_p": None,
                "top_k": None,
            }
        )
        assert done.completion_ids == [_fresh(trainer, p, greedy)[0][:5] for p in prompts]


def test_cache_kept_whole_would_give_other_retries(trainer, monkeypatch):
    """The negative control: with every cached real token kept (no holes past the shared prefix), the rows whose
    retry prompt leaves the cached tokens get other logits than a fresh prefill gives: the mask is what makes the
    reuse exact. The row whose retry prompt continues its whole cache is unaffected."""
    from reflectevo_bench.trainers import retry_cache

    plan = retry_cache.reuse_plan

    def keep_everything(cached, real, wanted):
        _, suffixes, reused = plan(cached, real, wanted)
        return real.long(), suffixes, reused

    monkeypatch.setattr(retry_cache, "reuse_plan", keep_everything)
    _, logits, fresh, _, _ = _cached_retries(trainer, monkeypatch)
    assert _same_logits(logits, 0, fresh[0][1])
    assert not any(_same_logits(logits, row, fresh[row][1]) for row in (1, 2, 3))


class RecordingEngine:
    """Stands in for ``vllm.LLM`` (vLLM cannot be installed beside TRL on this machine): what TRL 1.16's real
    ``VLLMGeneration`` asks of the engine, recorded, with sleep level 2's rule enforced (weights written into a
    sleeping engine, or a generate on one, fail as on strict-memory hardware)."""

    def __init__(self) -> None:
        from types import SimpleNamespace

        self.events: list = []
        self.sleeping: set[str] = set()
        model = SimpleNamespace(load_weights=self._load)
        self.llm_engine = SimpleNamespace(
            model_executor=SimpleNamespace(driver_worker=SimpleNamespace(model_runner=SimpleNamespace(model=model)))
        )

    def _load(self, weights) -> None:
        assert "weights" not in self.sleeping, "weights pushed into a sleeping engine"
        if not self.events or self.events[-1] != "push":
            self.events.append("push")

    def sleep(self, level: int) -> None:
        self.sleeping = {"weights", "kv_cache"}
        self.events.append("sleep")

    def wake_up(self, tags=None) -> None:
        self.sleeping -= set(tags or self.sleeping)

    def reset_prefix_cache(self) -> None:
        pass

    def generate(self, prompts, sampling_params, use_tqdm=False):
        from types import SimpleNamespace

        assert not self.sleeping, "generate on a sleeping engine"
        self.events.append("generate")
        tokens = [5, 6, 7][: sampling_params["max_tokens"]]
        logprobs = [{t: SimpleNamespace(logprob=-1.0, rank=1)} for t in tokens]
        return [
            SimpleNamespace(
                prompt_token_ids=p["prompt_token_ids"], outputs=[SimpleNamespace(token_ids=tokens, logprobs=logprobs)]
            )
            for p in prompts
        ]


def _colocated_sleeping_vllm(trainer, monkeypatch) -> RecordingEngine:
    """TRL's real VLLMGeneration in colocate mode with sleep mode on, over the recording engine."""
    import trl.generation.vllm_generation as vllm_generation
    from trl.distributed import DistributedBackend

    monkeypatch.setattr(vllm_generation, "SamplingParams", dict, raising=False)
    vg = vllm_generation.VLLMGeneration.__new__(vllm_generation.VLLMGeneration)
    engine = RecordingEngine()
    engine.sleep(level=2)  # TRL puts the engine to sleep right after building it
    engine.events.clear()
    vars(vg).update(
        mode="colocate",
        enable_sleep_mode=True,
        _llm_weights_sleeping=True,
        accelerator=trainer.accelerator,
        model=trainer.model,
        _dist=DistributedBackend(trainer.accelerator),
        llm=engine,
        temperature=1.0,
        top_p=1.0,
        top_k=-1,
        min_p=None,
        repetition_penalty=1.0,
        max_completion_length=3,
        logprobs=0,
        generation_kwargs={},
        structured_outputs_regex=None,
        tensor_parallel_size=1,
    )
    monkeypatch.setattr(trainer, "use_vllm", True, raising=False)
    monkeypatch.setattr(trainer, "vllm_generation", vg, raising=False)
    monkeypatch.setattr(trainer, "_last_loaded_step", -1, raising=False)
    return engine


@pytest.mark.parametrize("kept_awake", [True, False], ids=["one-sync", "trl-alone"])
def test_sleep_mode_pushes_the_weights_once_per_step(trainer, monkeypatch, kept_awake):
    """With ``vllm_enable_sleep_mode``, TRL alone pushes every weight twice per reflection-GRPO step (its level-2
    sleep after the reflection drops them before the retry); the rollout keeps the engine awake between its two
    calls, so each step pushes once and the retry's prompts meet the reflection's prefix cache."""
    import contextlib

    from reflectevo_bench.trainers import rollout

    engine = _colocated_sleeping_vllm(trainer, monkeypatch)
    if not kept_awake:
        monkeypatch.setattr(rollout, "vllm_awake_for_retry", lambda trainer: contextlib.nullcontext())
    func = trainer.rollout_func
    prompts = [row["prompt"] for row in list(func.rows.values())[:2] for _ in range(trainer.num_generations)]
    for step in range(2):
        monkeypatch.setattr(trainer.state, "global_step", step)
        out = func(prompts, trainer)
        assert len(out["completion_ids"]) == len(prompts) and out["completion_ids"][0] == [5, 6, 7]
    one_step = ["push", "generate", "generate", "sleep"] if kept_awake else ["push", "generate", "sleep"] * 2
    assert engine.events == one_step * 2

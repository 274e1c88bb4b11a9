"""`train grpo` (Reflect, Retry, Reward) on the tiny model: real TRL GRPOTrainer, real rollouts, real verifiers,
on the parity-coin toy task (tests/parity_task.py), so groups have reward variance and training has signal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from launch import torchrun_train
from mined_failures import mine_failures, parity_failures
from parity_task import write_parity_task
from rich.console import Console

from reflectevo_bench.cli import main

GRPO = {
    "num_generations": 4,
    "per_device_train_batch_size": 4,
    "max_steps": 2,
    "max_completion_length": 6,
    "logging_steps": 1,
    "learning_rate": 1.0e-2,
    "save_strategy": "no",
    "disable_tqdm": True,
    "retry_temperature": 1.0,
}  # sampled retries: the coin needs them to give groups both verdicts


@pytest.fixture(scope="module")
def toy_failures(tiny_model, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("grpo")
    return parity_failures(tiny_model, root, "grpo_toy", 24, 6), root / "grpo_toy.yaml"


def _config(tmp_path: Path, **cfg) -> Path:
    path = tmp_path / f"grpo-{len(list(tmp_path.glob('grpo-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump({**GRPO, **cfg}, sort_keys=False))
    return path


def _rollouts(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rollouts.jsonl").read_text().splitlines()]


def test_reflection_grpo_trains_only_reflection_tokens_on_verified_rewards(tiny_model, toy_failures, tmp_path):
    import torch
    from safetensors.torch import load_file

    from reflectevo_bench.trainers.common import finish, run_trainer
    from reflectevo_bench.trainers.config import load_job
    from reflectevo_bench.trainers.grpo import build_grpo_trainer

    failures, task_yaml = toy_failures
    out = tmp_path / "ckpt"
    job = load_job("grpo", _config(tmp_path, model=str(tiny_model), data=str(failures), output_dir=str(out)))
    assert job.args.beta == 0.001 and job.objective == "reflection"  # the paper's KL coefficient by default
    trainer = build_grpo_trainer(job, out)
    seen = []
    original = trainer.compute_loss

    def capture(model, inputs, *args, **kwargs):
        seen.append(
            {k: inputs[k].detach().clone() for k in ("prompt_ids", "prompt_mask", "completion_ids", "completion_mask")}
        )
        return original(model, inputs, *args, **kwargs)

    trainer.compute_loss = capture
    metrics = run_trainer(trainer, None)
    finish(trainer, job, [{"stage": "one", "data": "train", "objective": job.objective, "metrics": metrics}])
    tok = trainer.processing_class
    logged = _rollouts(out)
    assert len(logged) == 2 * 4 and {r["step"] for r in logged} == {0, 1}
    # the trained tokens are exactly the reflections: the retry never enters the completion
    trained = []
    for batch in seen:
        for ids, mask in zip(batch["completion_ids"], batch["completion_mask"]):
            trained.append(tok.decode(ids[mask.bool()], skip_special_tokens=True))
    assert sorted(trained) == sorted(r["reflection"] for r in logged)
    assert sum(int(b["completion_mask"].sum()) for b in seen) == sum(r["reflection_tokens"] for r in logged)
    prompts = {tok.decode(ids[mask.bool()]) for b in seen for ids, mask in zip(b["prompt_ids"], b["prompt_mask"])}
    rows = [json.loads(line) for line in (failures / "train.jsonl").read_text().splitlines()]
    rendered = {tok.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in rows}
    assert prompts <= rendered  # prompts are the failures' reflection-turn chats, rendered by the chat template
    # each reward is the task verifier's verdict on the logged retry (re-scored by `score`)
    docs = {r["doc_hash"]: r["doc"] for r in rows}
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"doc": docs[r["doc_hash"]], "response": r["retry"]}) + "\n" for r in logged))
    result = CliRunner().invoke(
        main, ["score", "--task", str(task_yaml), "--predictions", str(preds), "--output", str(tmp_path / "scored")]
    )
    assert result.exit_code == 0, result.output
    scored = [json.loads(line) for line in (tmp_path / "scored" / "scores.jsonl").read_text().splitlines()]
    assert [float(s["correct"]) for s in scored] == [r["reward"] for r in logged]
    assert 0 < sum(r["reward"] for r in logged) < len(logged)  # the coin gave signal
    # the weights moved, and the checkpoint records the run
    before, after = load_file(str(Path(tiny_model) / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert any(not torch.equal(before[k], after[k]) for k in before)
    record = json.loads((out / "reflectevo_checkpoint.json").read_text())
    assert record["trainer"] == "grpo" and record["config"]["objective"] == "reflection"


def test_answer_objective_is_plain_grpo_on_attempt_one(tiny_model, toy_failures, tmp_path):
    failures, _ = toy_failures
    out = tmp_path / "answer"
    cfg = _config(tmp_path, model=str(tiny_model), data=str(failures), output_dir=str(out), max_steps=1)
    result = CliRunner().invoke(main, ["train", "grpo", "--config", str(cfg), "--objective", "answer"])
    assert result.exit_code == 0, result.output
    logged = _rollouts(out)
    assert len(logged) == 4 and all("answer" in r and "reflection" not in r for r in logged)
    rows = {
        json.loads(line)["doc_hash"]: json.loads(line) for line in (failures / "train.jsonl").read_text().splitlines()
    }
    assert all(r["doc_hash"] in rows for r in logged)
    assert json.loads((out / "reflectevo_checkpoint.json").read_text())["config"]["objective"] == "answer"


def test_bad_grpo_configs_one_line_exit_2(tiny_model, toy_failures, tmp_path):
    failures, _ = toy_failures
    empty = tmp_path / "empty"
    shutil.copytree(failures, empty)
    (empty / "train.jsonl").write_text("")
    orphan = tmp_path / "orphan"
    shutil.copytree(failures, orphan)
    card = json.loads((orphan / "card.json").read_text())
    card["source_runs"][0]["tasks"] = []
    (orphan / "card.json").write_text(json.dumps(card))
    dplus = tmp_path / "dplus"
    shutil.copytree(failures, dplus)
    (dplus / "card.json").write_text(json.dumps({**card, "kind": "dplus"}))
    cases = [
        ({"num_generations": 1, "per_device_train_batch_size": 2}, failures, "at least 2 generations per prompt"),
        ({"num_generations": 3, "per_device_train_batch_size": 4}, failures, "divisible"),
        ({}, empty, "has no rows"),
        ({}, orphan, "have no verifier here"),
        ({}, dplus, "train grpo needs failures"),
        ({"objective": "nonsense"}, failures, "objective must be reflection or answer"),
    ]
    for i, (extra, data, message) in enumerate(cases):
        out = tmp_path / f"out{i}"
        cfg = _config(tmp_path, model=str(tiny_model), data=str(data), output_dir=str(out), **extra)
        result = CliRunner().invoke(main, ["train", "grpo", "--config", str(cfg)])
        assert result.exit_code == 2 and message in result.output, (extra, result.output)
        assert len(result.output.strip().splitlines()) == 1 and not (out / "reflectevo_checkpoint.json").exists()


def test_torchrun_two_ranks_see_different_prompts(tiny_model, toy_failures, tmp_path):
    failures, _ = toy_failures
    out = tmp_path / "ddp"
    cfg = _config(
        tmp_path,
        model=str(tiny_model),
        data=str(failures),
        output_dir=str(out),
        max_steps=2,
        per_device_train_batch_size=2,
        num_generations=2,
    )
    torchrun_train("grpo", cfg, tmp_path, timeout=300)
    rank0 = [json.loads(x) for x in (out / "rollouts.jsonl").read_text().splitlines()]
    rank1 = [json.loads(x) for x in (out / "rollouts.rank1.jsonl").read_text().splitlines()]
    assert len(rank0) == len(rank1) == 2 * 2
    for step in (0, 1):
        assert {r["doc_hash"] for r in rank0 if r["step"] == step}.isdisjoint(
            {r["doc_hash"] for r in rank1 if r["step"] == step}
        )
    assert json.loads((out / "reflectevo_checkpoint.json").read_text())["metrics"]["global_step"] == 2


def test_mbpp_retries_are_judged_in_the_sandbox(tiny_model, shared_data, tmp_path):
    """Reflections come from the real tiny model; its retries are replaced by fixed programs (it writes no code):
    the reference solution for even rows, a wrong one for odd rows. The rollout must judge them in the sandbox."""
    from reflectevo_bench.harness.run import RunOptions, run
    from reflectevo_bench.sandbox import BACKENDS
    from reflectevo_bench.trainers.common import run_trainer
    from reflectevo_bench.trainers.config import load_job
    from reflectevo_bench.trainers.grpo import build_grpo_trainer

    failures = mine_failures(
        tiny_model, tmp_path, "mbpp", limit=2, data_dir=str(shared_data), gen_kwargs="max_gen_toks=6"
    )
    out = tmp_path / "ckpt"
    job = load_job(
        "grpo",
        _config(
            tmp_path,
            model=str(tiny_model),
            data=str(failures),
            output_dir=str(out),
            max_steps=1,
            num_generations=2,
            per_device_train_batch_size=2,
        ),
    )
    trainer = build_grpo_trainer(job, out)
    rows = {
        json.dumps(json.loads(line)["prompt"]): json.loads(line)
        for line in (failures / "train.jsonl").read_text().splitlines()
    }
    tok = trainer.processing_class
    generate, calls = trainer._generate_single_turn, []

    def retries_are_programs(prompt_ids, images, fields, n):
        calls.append(n)
        if len(calls) % 2 == 1:  # the reflections: the model's own
            return generate(prompt_ids, images, fields, n)
        programs = []
        for i, ids in enumerate(prompt_ids):
            text = tok.decode(ids)
            doc = next(r["doc"] for r in rows.values() if r["doc"]["text"] in text)
            body = doc["code"] if i % 2 == 0 else "def nothing():\n    return None"
            programs.append(tok.encode(f"```python\n{body}\n```", add_special_tokens=False))
        return programs, None

    trainer._generate_single_turn = retries_are_programs
    trainer.rollout_func.reuse_cache = False  # the two-call path, so the retries can be scripted
    run_trainer(trainer, None)
    logged = _rollouts(out)
    assert len(logged) == 2 and calls == [2, 1]
    assert [r["reward"] for r in logged] == [1.0, 0.0]
    for r in logged:
        assert r["verdict"]["details"]["backend"] in set(BACKENDS) - {"none"}  # judged in a real sandbox
        assert r["verdict"]["details"]["tests_total"] >= 1

"""GRPO's retry decoding (``retry_temperature``, ``retry_max_length``): the retry inside the rollout is greedy with
the task's own length by default (as evaluation retries), whatever the reflection's training temperature and
``max_completion_length``; checked by regenerating the logged retries with the untouched tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
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
    from reflectevo_bench.harness.run import RunOptions, run

    root = tmp_path_factory.mktemp("retry")
    task_yaml = write_parity_task(root, "retry_toy", {"test": range(16)}, max_gen_toks=TASK_LENGTH)
    run(
        RunOptions(
            model_args=f"pretrained={tiny_model}",
            tasks=str(task_yaml),
            protocol="single",
            gen_kwargs="do_sample=true,temperature=1.0",
            output=str(root / "run"),
        ),
        Console(file=open("/dev/null", "w")),
    )
    result = CliRunner().invoke(
        main,
        [
            "data",
            "build",
            "--kind",
            "failures",
            str(root / "run"),
            "--out",
            str(root / "failures"),
            "--eval-fraction",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    return root / "failures"


def _train(tiny_model: Path, failures: Path, out: Path, **own) -> tuple[list[dict], object]:
    from reflectevo_bench.trainers.common import run_trainer
    from reflectevo_bench.trainers.config import load_job
    from reflectevo_bench.trainers.grpo import build_grpo_trainer

    config = out.parent / f"{out.name}.yaml"
    config.write_text(
        yaml.safe_dump({**GRPO, **own, "model": str(tiny_model), "data": str(failures), "output_dir": str(out)})
    )
    job = load_job("grpo", config)
    trainer = build_grpo_trainer(job, out)
    calls = []
    original = trainer._generate_single_turn

    def spy(prompt_ids, *args, **kwargs):  # what TRL's HF generation path was handed for each call
        calls.append(trainer.generation_config.to_dict())
        return original(prompt_ids, *args, **kwargs)

    trainer._generate_single_turn = spy
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


def test_retry_defaults_greedy_with_the_tasks_length(tiny_model, failures, tmp_path):
    rollouts, (trainer, calls, settings) = _train(tiny_model, failures, tmp_path / "greedy")
    assert settings == {
        "retry_temperature": None,
        "retry_decoding": "greedy",
        "retry_max_length": None,
        "retry_max_length_per_task": {"retry_toy": TASK_LENGTH},
    }
    reflection, retry = calls[0], calls[1]
    assert reflection["do_sample"] and reflection["temperature"] == 1.3 and reflection["max_new_tokens"] == 3
    assert not retry["do_sample"] and retry["max_new_tokens"] == TASK_LENGTH
    assert trainer.generation_config.do_sample and trainer.generation_config.max_new_tokens == 3  # restored
    assert max(r["reflection_tokens"] for r in rollouts) <= 3 < max(r["retry_tokens"] for r in rollouts) <= TASK_LENGTH
    assert [r["retry"] for r in rollouts] == _regenerate(tiny_model, trainer, rollouts, TASK_LENGTH)


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

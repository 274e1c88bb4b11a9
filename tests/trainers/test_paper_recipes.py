"""The ReflectEvo paper-setting recipes parse into train jobs with the paper's values (checked on the tiny model)."""

from __future__ import annotations

import pytest
from train_datafiles import write_data_dir

from reflectevo_bench.trainers.config import RECIPES, load_job

COMMON = ["bf16=false", "gradient_checkpointing=false", "report_to=none"]


def test_oneturn_qlora_recipe(tiny_model, tmp_path):
    data = write_data_dir(tmp_path / "d", "dplus", n_eval=2, card_kind="dplus-oneturn")
    raw = RECIPES["reflectevo-paper-oneturn-qlora"].read_text()
    assert "load_in_4bit: true" in raw and "bnb_4bit_quant_type: nf4" in raw
    job = load_job(
        "sft",
        RECIPES["reflectevo-paper-oneturn-qlora"],  # 4-bit loading needs a GPU: dropped here
        [f"model={tiny_model}", f"data={data}", f"output_dir={tmp_path / 'o'}", "model_init_kwargs={}", *COMMON],
    )
    assert job.peft == {"r": 8, "lora_alpha": 32, "lora_dropout": 0.1, "target_modules": ["q_proj", "k_proj", "v_proj"]}
    a = job.args
    assert (a.learning_rate, a.num_train_epochs, a.per_device_train_batch_size, a.gradient_accumulation_steps) == (
        1e-3,
        5,
        16,
        4,
    )
    assert a.load_best_model_at_end and a.metric_for_best_model == "loss" and a.eval_steps == 50


def test_twostage_and_dpo_recipes(tiny_model, tmp_path):
    r = write_data_dir(tmp_path / "r", "reflection", n_eval=2)
    c = write_data_dir(tmp_path / "c", "correction", n_eval=2)
    job = load_job(
        "sft",
        RECIPES["reflectevo-paper-twostage"],
        [
            f"model={tiny_model}",
            f"data.reflection={r}",
            f"data.correction={c}",
            f"output_dir={tmp_path / 'o'}",
            *COMMON,
        ],
    )
    assert job.stage == "two" and job.peft is None and job.args.learning_rate == 1e-3
    assert job.args.weight_decay == 0.01 and job.args.num_train_epochs == 3
    dpm = write_data_dir(tmp_path / "p", "dpm")
    job = load_job(
        "dpo",
        RECIPES["reflectevo-paper-dpo"],
        [f"model={tiny_model}", f"data={dpm}", f"output_dir={tmp_path / 'o2'}", *COMMON],
    )
    assert job.peft is None and job.args.beta == pytest.approx(0.01) and job.args.learning_rate == pytest.approx(5e-7)

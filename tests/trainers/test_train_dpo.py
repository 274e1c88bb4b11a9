"""`train dpo` on the tiny model: LoRA (reference = base with the adapter disabled) and full, checkpoints run."""

from __future__ import annotations

import pytest
from train_datafiles import check_runs, read_record

from reflectevo_bench.trainers.config import load_job
from reflectevo_bench.trainers.dpo import build_dpo_trainer


def test_dpo_lora_reference_is_base_with_adapter_disabled(write_config, tiny_model, data_root, tmp_path):
    from peft import PeftModel

    job = load_job(
        "dpo",
        write_config(
            model=str(tiny_model), data=str(data_root / "dpm"), output_dir=str(tmp_path / "out"), peft={"r": 4}
        ),
    )
    trainer = build_dpo_trainer(job, tmp_path / "out")
    assert trainer.ref_model is None and isinstance(trainer.model, PeftModel)


def test_dpo_full_has_frozen_reference_copy(write_config, tiny_model, data_root, tmp_path):
    job = load_job(
        "dpo", write_config(model=str(tiny_model), data=str(data_root / "dpref"), output_dir=str(tmp_path / "out"))
    )
    trainer = build_dpo_trainer(job, tmp_path / "out")
    assert trainer.ref_model is not None and trainer.ref_model is not trainer.model


@pytest.mark.parametrize("mode", ["lora-merged", "lora-adapter", "full"])
def test_train_dpo_then_run(cli, write_config, tiny_model, data_root, tmp_path, mode):
    out = tmp_path / "ckpt"
    extra = {} if mode == "full" else {"peft": {"r": 4, "alpha": 8}}
    cfg = write_config(
        model=str(tiny_model), data=str(data_root / "dpm"), output_dir=str(out), beta=0.1, learning_rate=1e-3, **extra
    )
    r = cli("train", "dpo", "--config", cfg, *(["--no-merge"] if mode == "lora-adapter" else []))
    assert r.exit_code == 0, r.output
    rec = read_record(out)
    assert rec["trainer"] == "dpo" and rec["saved"]["kind"] == mode
    assert rec["config"]["trl"]["beta"] == 0.1 and rec["data"]["train"]["kind"] == "dpm"
    assert rec["metrics"]["global_step"] == 2 and rec["metrics"]["seconds_per_step"] > 0
    if mode == "lora-adapter":
        assert "peft=" in r.stdout
        check_runs(cli, tmp_path, f"pretrained={tiny_model},peft={out}")
    else:
        check_runs(cli, tmp_path, f"pretrained={out}")

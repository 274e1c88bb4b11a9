"""Watching training: TRL's tqdm bar on a terminal, one plain line per logging step otherwise."""

from __future__ import annotations

import re
import sys

import yaml

from reflectevo_bench.trainers.common import run_trainer
from reflectevo_bench.trainers.config import load_job
from reflectevo_bench.trainers.sft import build_sft_trainer
from reflectevo_bench.trainers.watch import step_line


def _config(tmp_path, tiny_model, data, **extra):
    cfg = {
        "model": str(tiny_model),
        "data": str(data),
        "output_dir": str(tmp_path / "out"),
        "max_steps": 3,
        "per_device_train_batch_size": 2,
        "logging_steps": 1,
        "save_strategy": "no",
        "dataset_num_proc": None,
        "seed": 0,
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _callbacks(trainer) -> set[str]:
    return {type(cb).__name__ for cb in trainer.callback_handler.callbacks}


def test_step_line():
    line = step_line(10, 100, 0.5, {"loss": 1.23456, "learning_rate": 2e-5, "epoch": 0.5, "note": "x"}, 12.0)
    assert line == "step 10/100 (10%) epoch 0.50 | loss 1.235 | learning_rate 2e-05 | 12s, ETA 0:01:48"
    assert step_line(100, 100, None, {"train_loss": 0.5}, 60.0) == "step 100/100 (100%) | train_loss 0.5 | 60s"


def test_no_tty_one_line_per_logging_step(tiny_model, data_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    job = load_job("sft", _config(tmp_path, tiny_model, data_root / "qa"))
    trainer = build_sft_trainer(job, "train", tmp_path / "out", job.model)
    assert trainer.args.disable_tqdm is True
    assert "ProgressCallback" not in _callbacks(trainer)
    run_trainer(trainer, None)
    out, err = capsys.readouterr()
    steps = [line for line in err.splitlines() if line.startswith("step ")]
    assert [re.match(r"step (\d)/3", line)[1] for line in steps] == ["1", "2", "3", "3"], err  # 3 logs + the summary
    assert all(re.search(r"\| loss [\d.e+-]+ \|", line) for line in steps[:3]), steps
    assert "ETA" in steps[0] and "{'loss'" not in out + err  # the dict printer is gone
    assert "PrinterCallback" not in _callbacks(trainer)


def test_tty_gets_trl_progress_bar(tiny_model, data_root, tmp_path, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    job = load_job("sft", _config(tmp_path, tiny_model, data_root / "qa"))
    trainer = build_sft_trainer(job, "train", tmp_path / "out", job.model)
    assert trainer.args.disable_tqdm is False and "ProgressCallback" in _callbacks(trainer)
    # what the config says wins
    job = load_job("sft", _config(tmp_path, tiny_model, data_root / "qa", disable_tqdm=True))
    trainer = build_sft_trainer(job, "train", tmp_path / "out", job.model)
    assert trainer.args.disable_tqdm is True and "ProgressCallback" not in _callbacks(trainer)

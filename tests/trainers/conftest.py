"""Fixtures for the trainer tests: data dirs in the `data build` layout, configs, an in-process CLI."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_datafiles import write_data_dir  # noqa: E402

FAST = {
    "max_steps": 2,
    "per_device_train_batch_size": 2,
    "logging_steps": 1,
    "save_strategy": "no",
    "dataset_num_proc": None,
    "disable_tqdm": True,
}


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train-data")
    for kind in ("dplus", "reflection", "correction", "qa", "dpm", "dpref", "failures"):
        write_data_dir(root / kind, kind)
    return root


@pytest.fixture
def write_config(tmp_path):
    def write(**cfg) -> Path:
        path = tmp_path / f"config-{len(list(tmp_path.glob('config-*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump({**FAST, **cfg}, sort_keys=False))
        return path

    return write


@pytest.fixture
def cli():
    from click.testing import CliRunner

    from reflectevo_bench.cli import main

    def invoke(*args: str):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def plain_template_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with SmolLM2's ChatML template (no generation markers)."""
    from train_templates_ref import SMOLLM2_TEMPLATE

    path = tmp_path_factory.mktemp("plain") / "tiny-plain"
    shutil.copytree(tiny_model, path)
    cfg = json.loads((path / "tokenizer_config.json").read_text())
    cfg["chat_template"] = SMOLLM2_TEMPLATE
    (path / "tokenizer_config.json").write_text(json.dumps(cfg))
    if (path / "chat_template.jinja").exists():
        (path / "chat_template.jinja").write_text(SMOLLM2_TEMPLATE)
    return path

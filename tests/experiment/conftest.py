"""Fixtures for the experiment tests: a toy task with disjoint train and test splits whose verifier is a coin the
random tiny model flips (the parity of the response's code points), so every data kind gets rows; the tiny base
model and a 10x-wider tiny reference; spec writers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parity_task import write_parity_task  # noqa: E402


@pytest.fixture(scope="session")
def toy_task(tmp_path_factory) -> Path:
    return write_parity_task(
        tmp_path_factory.mktemp("toy-task"), "toy", {"train": range(100, 120), "test": range(10)}, max_gen_toks=5
    )


@pytest.fixture(scope="session")
def big_tiny(tmp_path_factory) -> Path:
    from reflectevo_bench.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny10") / "tiny-10x", seed=1, scale=10)


@pytest.fixture
def write_spec(tmp_path):
    def write(spec: dict, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        return path

    return write

"""Shared fixtures: offline hub settings, one tiny random Llama per session, the shared data dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ[_var] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from reflectevo_bench.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama", seed=0)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = Path(os.environ.get("REFLECTEVO_DATA_DIR", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"benchmark data not found at {path} (set REFLECTEVO_DATA_DIR)")
    return path


@pytest.fixture()
def toy_yaml(tmp_path: Path) -> Path:
    """The scripted toy task (tests/fixtures/toy) copied into tmp_path, its data path made absolute."""
    import shutil

    folder = tmp_path / "toy"
    shutil.copytree(FIXTURES / "toy", folder)
    yaml_path = folder / "toy_scripted.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace("test: toy_scripted.jsonl", f"test: {folder / 'toy_scripted.jsonl'}")
    )
    return yaml_path

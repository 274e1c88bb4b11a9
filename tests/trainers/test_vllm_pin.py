"""The ``[vllm]`` extra's pin agrees with TRL's own supported-version check (trl/import_utils.py)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
VERSIONS = [
    "0.8.5",
    "0.21.9",
    "0.22.0",
    "0.22.0+cu129",
    "0.24.0",
    "0.27.2.post1",
    "0.30.1",
    "0.31.0",
    "0.31.0+cu129",
    "0.31.0.post1",
    "0.31.1",
    "0.32.0",
    "1.0.0",
]


def _pin():
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["vllm"]
    (req,) = [Requirement(r) for r in extras if Requirement(r).name == "vllm"]
    return req.specifier


def _trl_accepts(version: str, monkeypatch) -> bool:
    import trl.import_utils as iu

    monkeypatch.setattr(iu, "_is_package_available", lambda name, return_version=False: (True, version))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert iu.is_vllm_available()
    return not any("TRL currently supports vLLM versions" in str(w.message) for w in caught)


@pytest.mark.parametrize("version", VERSIONS)
def test_vllm_extra_pin_equals_trls_supported_range(version, monkeypatch):
    assert _pin().contains(version) == _trl_accepts(version, monkeypatch), (str(_pin()), version)


def test_the_pin_is_bounded_and_holds_the_images_vllm():
    spec = _pin()
    assert spec.contains("0.31.0") and not spec.contains("0.32.0") and not spec.contains("0.21.0")

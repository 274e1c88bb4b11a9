"""Fixtures for the task-family tests: the hand-written mini data dir (layout of a --data-dir folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

MINI_DATA = Path(__file__).resolve().parent / "fixtures" / "data"


@pytest.fixture(scope="session")
def mini_data() -> Path:
    return MINI_DATA

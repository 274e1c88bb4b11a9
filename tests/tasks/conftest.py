"""Fixtures for the task-family tests: the hand-written mini data dir (layout of a --data-dir folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

MINI_DATA = Path(__file__).resolve().parent / "fixtures" / "data"


@pytest.fixture(scope="session")
def mini_data() -> Path:
    return MINI_DATA


@pytest.fixture(scope="module")
def sandbox_pool():
    """The shared code-task pool executor with 2 workers; skips when no sandbox backend works here."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.tasks.common import code_execution as execution

    execution.configure(workers=2)
    try:
        execution.executor()
    except BenchError as exc:
        execution.configure()
        pytest.skip(str(exc))
    yield
    execution.configure()

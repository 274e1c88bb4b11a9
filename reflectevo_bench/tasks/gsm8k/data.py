"""GSM8K rows in the dataset's own schema (question, answer ending in ``#### N``)."""

from __future__ import annotations

from typing import Any

from reflectevo_bench.tasks.common.data import limit_rows, load_rows, to_dataset_dict


def load(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    """``custom_dataset`` hook: ``<data_dir>/gsm8k/test.jsonl`` or hub ``openai/gsm8k`` (main, test)."""
    rows = load_rows(
        "gsm8k", data_dir, "gsm8k/test.jsonl", hub={"path": "openai/gsm8k", "name": "main", "split": "test"}
    )
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})

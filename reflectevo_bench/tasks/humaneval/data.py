"""HumanEval rows in the dataset's own schema: task_id, prompt, canonical_solution, test, entry_point."""

from __future__ import annotations

from typing import Any

from reflectevo_bench.tasks.common.data import limit_rows, load_rows, to_dataset_dict


def load(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    """``custom_dataset`` hook: ``<data_dir>/humaneval/HumanEval.jsonl.gz`` (as shipped by openai/human-eval;
    a plain ``HumanEval.jsonl`` is accepted too) or hub ``openai/openai_humaneval`` (test)."""
    rows = load_rows(
        "humaneval",
        data_dir,
        "humaneval/HumanEval.jsonl.gz",
        alternatives=["humaneval/HumanEval.jsonl"],
        hub={"path": "openai/openai_humaneval", "split": "test"},
    )
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})

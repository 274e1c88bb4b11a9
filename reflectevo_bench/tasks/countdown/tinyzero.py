"""TinyZero's public Countdown tasks (``countdown_tinyzero``): hub ``Jiayi-Pan/Countdown-Tasks-3to4`` (one split,
train; rows ``target``, ``nums``), or locally ``<data_dir>/countdown/countdown_tasks_3to4.jsonl`` (``.json`` or
``.parquet``: the hub's own file) in the same schema.

Cut into train and test by a seeded hash of each problem (its numbers in sorted order and its target: the same
problem written in another order lands on the same side): metadata ``test_size`` (default 15,000, the size of the
Reflect, Retry, Reward paper's Countdown test set; a row count or a fraction) and ``split_seed`` (default 0).
Docs are ``{id, nums, target}``: the problems carry no solution, so the target text (``doc_to_target``) is found by
the same exhaustive search as the generated set's, on the docs that are scored only. The verifier is the
generated set's (``verifier.process_results``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.content_split import content_split
from reflectevo_bench.tasks.common.data import limit_rows, load_rows, read_records, to_dataset_dict
from reflectevo_bench.tasks.countdown.generator import problem_key
from reflectevo_bench.tasks.countdown.solver import solve

TASK = "countdown_tinyzero"
HUB = "Jiayi-Pan/Countdown-Tasks-3to4"
LOCAL = "countdown/countdown_tasks_3to4.jsonl"
TEST_SIZE = 15000


def _read(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import datasets

        return [dict(r) for r in datasets.Dataset.from_parquet(str(path))]
    return read_records(path)


def _doc(number: int, row: Any) -> dict[str, Any]:
    try:
        nums = [int(n) for n in row["nums"]]
        target = int(row["target"])
    except (TypeError, ValueError, KeyError):
        raise BenchError(
            f"{TASK}: row {number} lacks integer `target` and a list of integer `nums` (the {HUB} schema)"
        ) from None
    if not 2 <= len(nums) <= 6:
        raise BenchError(f"{TASK}: row {number} has {len(nums)} nums; Countdown problems have 2 to 6")
    return {"id": number, "nums": nums, "target": target}


def content_key(doc: dict[str, Any]) -> str:
    return json.dumps(problem_key(doc["nums"], doc["target"]))


def load_tinyzero(
    data_dir: str | None = None, num_examples: Any = None, test_size: Any = TEST_SIZE, split_seed: Any = 0, **_: Any
):
    """lm-eval ``custom_dataset`` hook: the seeded content-hash train/test split of TinyZero's problems."""
    rows = load_rows(
        TASK,
        data_dir,
        LOCAL,
        alternatives=["countdown/countdown_tasks_3to4.json", "countdown/countdown_tasks_3to4.parquet"],
        hub={"path": HUB, "split": "train"},
        reader=_read,
    )
    docs = [_doc(number, row) for number, row in enumerate(rows)]
    splits = content_split(docs, content_key, test_size, split_seed, TASK)
    return to_dataset_dict({name: limit_rows(part, num_examples) for name, part in splits.items()})


def doc_to_target(doc: dict[str, Any]) -> str:
    """A solution found by exhaustive search ('' for a problem with none: every answer then fails)."""
    return solve([int(n) for n in doc["nums"]], int(doc["target"])) or ""

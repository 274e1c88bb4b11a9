"""MATH rows in the datasets' own schemas.

- ``math``: every subject of hub ``EleutherAI/hendrycks_math`` (test); locally the original release layout
  ``<data_dir>/MATH/test/<subject>/<n>.json`` or ``<data_dir>/hendrycks_math/<subject>/test.jsonl``.
  Rows: problem, level, type, solution.
- ``math500``: ``<data_dir>/math/test.jsonl`` or hub ``HuggingFaceH4/MATH-500``. Rows: problem, solution, answer,
  subject, level, unique_id.
- ``math_reflectevo``: test = ``<data_dir>/reflectevo/math_test.jsonl`` (no hub copy). Rows: problem, level, type,
  solution. train = MATH's train split (7,500; ReflectEvo read ``lighteval/MATH`` train, the same rows) minus any
  problem of the 500: hub ``EleutherAI/hendrycks_math`` (every subject, split train); locally
  ``<data_dir>/reflectevo/math_train.jsonl``, else ``MATH/train/<subject>/<n>.json`` or
  ``hendrycks_math/<subject>/train.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.data import (
    chosen_names,
    hub_rows,
    limit_rows,
    load_rows,
    read_records,
    to_dataset_dict,
)
from reflectevo_bench.tasks.common.splits import drop_test_items, load_reflectevo_split

SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)


def _local_math(data_dir: str, subjects: list[str], split: str = "test", task: str = "math") -> list[dict[str, Any]]:
    base = Path(data_dir).expanduser()
    rows: list[dict[str, Any]] = []
    for subject in subjects:
        original = base / "MATH" / split / subject
        jsonl = base / "hendrycks_math" / subject / f"{split}.jsonl"
        if original.is_dir():
            files = sorted(original.glob("*.json"), key=lambda p: (len(p.stem), p.stem))
            for file in files:
                rows.append(dict(json.loads(file.read_text(encoding="utf-8"))))
        elif jsonl.is_file():
            rows.extend(read_records(jsonl))
        else:
            alt = f", or {base / 'reflectevo' / 'math_train.jsonl'} for all subjects" if split == "train" else ""
            raise BenchError(
                f"task '{task}': data for subject '{subject}' not found: expected {original}/<n>.json "
                f"(the original MATH release) or {jsonl}{alt}"
            )
    return rows


def load_math(data_dir: str | None = None, subjects: Any = None, num_examples: Any = None, **_: Any):
    chosen = chosen_names("math", subjects, SUBJECTS, "subject", "subjects")
    if data_dir:
        rows = _local_math(data_dir, chosen)
    else:
        rows = []
        for subject in chosen:
            rows.extend(
                hub_rows("math", "EleutherAI/hendrycks_math", subject, "test", local_hint=f"MATH/test/{subject}/*.json")
            )
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})


def load_math500(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    rows = load_rows("math500", data_dir, "math/test.jsonl", hub={"path": "HuggingFaceH4/MATH-500", "split": "test"})
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})


def _train_rows(data_dir: str | None) -> list[dict[str, Any]]:
    task = "math_reflectevo"
    prepared = Path(data_dir).expanduser() / "reflectevo" / "math_train.jsonl" if data_dir else None
    if prepared is not None and prepared.is_file():
        rows = read_records(prepared)
    elif data_dir:
        rows = _local_math(data_dir, list(SUBJECTS), "train", task)
    else:
        rows = []
        for subject in SUBJECTS:
            rows.extend(
                hub_rows(task, "EleutherAI/hendrycks_math", subject, "train", local_hint=f"MATH/train/{subject}/*.json")
            )
    return drop_test_items(task, rows, lambda r: r["problem"])


def load_reflectevo(data_dir: str | None = None, num_examples: Any = None, **meta: Any):
    return load_reflectevo_split("math_reflectevo", data_dir, lambda: _train_rows(data_dir), meta, num_examples)

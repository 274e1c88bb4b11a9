"""LogiQA rows in the datasets' own schemas.

- ``logiqa``: hub ``lucasmccabe/logiqa`` (test). Rows: context, query, options (4 strings), correct_option (0-3).
  Locally ``<data_dir>/logiqa/test.jsonl`` in that schema, or the original release file ``<data_dir>/logiqa/Test.txt``
  (lgw863/LogiQA-dataset: blocks of a blank line, the answer letter, the passage, the question, 4 options).
- ``logiqa_reflectevo``: test = ``<data_dir>/reflectevo/logiqa_test.jsonl`` (no hub copy). Rows: id, question
  (passage, question and options ``A.``-``D.`` on separate lines), answer (``a``-``d``). train = LogiQA's train split
  (7,376) rendered in that schema, minus any item of the 500: hub ``lucasmccabe/logiqa`` through its parquet
  conversion (its loading script is refused by datasets >= 4); locally ``<data_dir>/reflectevo/logiqa_train.jsonl``
  (ReflectEvo's own file name and schema), else ``<data_dir>/logiqa/train.jsonl`` (hub schema) or the original
  ``<data_dir>/logiqa/Train.txt``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.data import (
    hub_rows,
    limit_rows,
    load_rows,
    local_file,
    read_records,
    to_dataset_dict,
)
from reflectevo_bench.tasks.common.splits import drop_test_items, load_reflectevo_split, question_body

HUB = "lucasmccabe/logiqa"
# the hub copy's loading script is refused by datasets >= 4: its parquet conversion loads
HUB_PARQUET = {"path": HUB, "revision": "refs/convert/parquet", "data_dir": "default"}


def read_original(path: Path) -> list[dict[str, Any]]:
    """The original LogiQA text format as rows of the hub schema."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block = lines[i : i + 7]
        if len(block) < 7 or block[0].strip().lower() not in {"a", "b", "c", "d"}:
            raise BenchError(f"{path} line {i + 1}: expected an answer letter a-d starting a 7-line LogiQA block")
        options = [re.sub(r"^\s*[A-Da-d]\s*[.．]\s*", "", o).strip() for o in block[3:7]]
        rows.append(
            {
                "context": block[1].strip(),
                "query": block[2].strip(),
                "options": options,
                "correct_option": "abcd".index(block[0].strip().lower()),
            }
        )
        i += 7
    return rows


def _read_logiqa(path: Path) -> list[dict[str, Any]]:
    return read_original(path) if path.suffix == ".txt" else read_records(path)


def load_logiqa(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    rows = load_rows(
        "logiqa",
        data_dir,
        "logiqa/test.jsonl",
        alternatives=["logiqa/Test.txt"],
        hub={**HUB_PARQUET, "split": "test"},
        reader=_read_logiqa,
    )
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})


def to_reflectevo(row: dict[str, Any]) -> dict[str, Any]:
    """A hub-schema row in ReflectEvo's schema (their layout: passage, question, ``A.option`` lines)."""
    options = "\n".join(f"{letter}.{str(text).strip()}" for letter, text in zip("ABCD", row["options"]))
    question = f"{str(row['context']).strip()}\n{str(row['query']).strip()}\n{options}"
    return {"id": row.get("id", 0), "question": question, "answer": "abcd"[int(row["correct_option"])]}


def _train_rows(data_dir: str | None) -> list[dict[str, Any]]:
    task = "logiqa_reflectevo"
    if data_dir:
        path = local_file(
            data_dir, "reflectevo/logiqa_train.jsonl", task, alternatives=["logiqa/train.jsonl", "logiqa/Train.txt"]
        )
        rows = (
            read_records(path) if path.parent.name == "reflectevo" else [to_reflectevo(r) for r in _read_logiqa(path)]
        )
    else:
        rows = [
            to_reflectevo(r)
            for r in hub_rows(task, split="train", local_hint="logiqa/train.jsonl or logiqa/Train.txt", **HUB_PARQUET)
        ]
    rows = [{**r, "id": r.get("id") or i} for i, r in enumerate(rows, 1)]
    return drop_test_items(task, rows, lambda r: question_body(r["question"]))


def load_reflectevo(data_dir: str | None = None, num_examples: Any = None, **meta: Any):
    return load_reflectevo_split("logiqa_reflectevo", data_dir, lambda: _train_rows(data_dir), meta, num_examples)

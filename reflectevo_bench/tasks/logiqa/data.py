"""LogiQA rows in the datasets' own schemas.

- ``logiqa``: hub ``lucasmccabe/logiqa`` (test). Rows: context, query, options (4 strings), correct_option (0-3).
  Locally ``<data_dir>/logiqa/test.jsonl`` in that schema, or the original release file ``<data_dir>/logiqa/Test.txt``
  (lgw863/LogiQA-dataset: blocks of a blank line, the answer letter, the passage, the question, 4 options).
- ``logiqa_reflectevo``: ``<data_dir>/reflectevo/logiqa_test.jsonl`` (no hub copy). Rows: id, question (passage,
  question and options ``A.``-``D.`` on separate lines), answer (``a``-``d``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.data import limit_rows, load_rows, read_records, to_dataset_dict


def read_original(path: Path) -> list[dict[str, Any]]:
    """The original LogiQA text format as rows of the hub schema."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block = lines[i:i + 7]
        if len(block) < 7 or block[0].strip().lower() not in {"a", "b", "c", "d"}:
            raise BenchError(f"{path} line {i + 1}: expected an answer letter a-d starting a 7-line LogiQA block")
        options = [re.sub(r"^\s*[A-Da-d]\s*[.．]\s*", "", o).strip() for o in block[3:7]]
        rows.append({"context": block[1].strip(), "query": block[2].strip(), "options": options,
                     "correct_option": "abcd".index(block[0].strip().lower())})
        i += 7
    return rows


def _read_logiqa(path: Path) -> list[dict[str, Any]]:
    return read_original(path) if path.suffix == ".txt" else read_records(path)


def load_logiqa(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    rows = load_rows("logiqa", data_dir, "logiqa/test.jsonl", alternatives=["logiqa/Test.txt"],
                     hub={"path": "lucasmccabe/logiqa", "split": "test"}, reader=_read_logiqa)
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})


def load_reflectevo(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    rows = load_rows("logiqa_reflectevo", data_dir, "reflectevo/logiqa_test.jsonl")
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})

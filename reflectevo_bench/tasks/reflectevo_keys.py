"""The ReflectEvo test sets' content keys, by task: which text of a row identifies it, and the rebuild command.

``python -m reflectevo_bench.tasks.reflectevo_keys DATA_DIR`` rewrites ``common/reflectevo_test_keys.json`` from
``DATA_DIR/reflectevo/<name>_test.jsonl`` (keys only: the project ships no benchmark data).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reflectevo_bench.tasks.bigbench.data import reflectevo_key_text
from reflectevo_bench.tasks.common.splits import question_body, write_test_keys

# task -> (test file under the data dir, the text of a row that identifies the item)
KEY_TEXT: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "logiqa_reflectevo": ("reflectevo/logiqa_test.jsonl", lambda r: question_body(r["question"])),
    "math_reflectevo": ("reflectevo/math_test.jsonl", lambda r: r["problem"]),
    "mbpp_reflectevo": ("reflectevo/mbpp_test.jsonl", lambda r: str(r.get("text", ""))),
    "bigbench_reflectevo": ("reflectevo/bigbench_test.jsonl", lambda r: reflectevo_key_text(r["question"])),
}


def files(data_dir: Path) -> dict[str, tuple[Path, Callable[[dict[str, Any]], str]]]:
    return {task: (data_dir / rel, fn) for task, (rel, fn) in KEY_TEXT.items()}


if __name__ == "__main__":
    write_test_keys(files(Path(sys.argv[1])))

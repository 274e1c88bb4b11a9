"""BIG-bench data: ``<data_dir>/bigbench/<task>/task.json`` (the BIG-bench repository layout) or the hub.

Metadata knobs (YAML ``metadata:``): ``bigbench_task`` (path under ``bigbench/``, e.g. ``logical_deduction/
three_objects``), ``hub_name`` (the ``hails/bigbench`` config) and ``hub_filter`` (keep hub rows whose input holds
this text: the hub merges logical_deduction's subtasks), ``num_examples``.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.bigbench.docs import to_doc
from reflectevo_bench.tasks.common.data import hub_rows, limit_rows, load_rows, local_file, to_dataset_dict


def load(data_dir: str | None = None, bigbench_task: str | None = None, hub_name: str | None = None,
         hub_filter: str | None = None, num_examples: Any = None, **_: Any):
    if not bigbench_task:
        raise BenchError("a BIG-bench task YAML needs metadata.bigbench_task (e.g. date_understanding)")
    name = f"bigbench_{bigbench_task.replace('/', '_')}"
    rel = f"bigbench/{bigbench_task}/task.json"
    if data_dir:
        import json

        path = local_file(data_dir, rel, name)
        task = json.loads(path.read_text(encoding="utf-8"))
        examples = task.get("examples") or []
        if not examples:
            raise BenchError(f"task '{name}': {path} holds no examples (is it only a parent task's metadata?)")
        prefix = str(task.get("task_prefix") or "")
        docs = [to_doc(dict(e), prefix) for e in examples]
    else:
        rows = hub_rows(name, "hails/bigbench", hub_name or f"{bigbench_task}_zero_shot", "default", local_hint=rel)
        if hub_filter:
            rows = [r for r in rows if hub_filter in str(r.get("inputs", ""))]
        docs = [to_doc(r) for r in rows]
    return to_dataset_dict({"test": limit_rows(docs, num_examples)})


def load_reflectevo(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    rows = load_rows("bigbench_reflectevo", data_dir, "reflectevo/bigbench_test.jsonl")
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})

"""MBPP rows in the datasets' own schemas (the raw rows are the docs: no process_docs).

- ``mbpp``: the standard test split, task_ids 11-510 (500 rows). Local ``<data_dir>/mbpp/mbpp.jsonl`` (the full
  974-row release, filtered by task_id), or hub ``google-research-datasets/mbpp`` (config ``full``, split ``test``).
- ``mbpp_full``: all 974 rows (1-10 few-shot prompts, 11-510 test, 511-600 validation, 601-974 train), same file;
  from the hub, the four splits of config ``full`` joined in task_id order.
- ``mbpp_sanitized``: all 427 rows of ``<data_dir>/mbpp/sanitized-mbpp.json`` (schema: ``prompt``, ``code``,
  ``test_imports``, ``test_list``), or the four splits of hub config ``sanitized`` in task_id order.
- ``mbpp_reflectevo``: ``<data_dir>/reflectevo/mbpp_test.jsonl`` (bigai-nlco/ReflectEvo, MBPP schema, task_ids
  11-510). Without --data-dir the hub's test split stands in: the same 500 problems and tests (ReflectEvo's copy
  differs only in task 18's reference code, ``NO_OF_CHARS = 258`` instead of 256). ``--split train``: task_ids
  601-974 (MBPP's train split): ``<data_dir>/reflectevo/mbpp_train.jsonl`` (ReflectEvo's own file name), else
  ``<data_dir>/mbpp/mbpp.jsonl`` filtered, else the hub's train split.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.tasks.common.data import (
    hub_rows,
    limit_rows,
    load_rows,
    local_file,
    read_records,
    to_dataset_dict,
)
from reflectevo_bench.tasks.common.splits import drop_test_items, load_reflectevo_split

HUB = "google-research-datasets/mbpp"
TEST_IDS = range(11, 511)
TRAIN_IDS = range(601, 975)
SPLITS = ("prompt", "train", "validation", "test")
HUB_TEST = {"path": HUB, "name": "full", "split": "test"}


def _all_hub_splits(task: str, name: str, local: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for split in SPLITS:
        rows += hub_rows(task, path=HUB, name=name, split=split, local_hint=local)
    return sorted(rows, key=lambda r: r["task_id"])


def load_test(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    """``mbpp``: task_ids 11-510."""
    rows = load_rows("mbpp", data_dir, "mbpp/mbpp.jsonl", hub=HUB_TEST)
    rows = [r for r in rows if r["task_id"] in TEST_IDS]
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})


def load_full(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    """``mbpp_full``: all 974 problems."""
    local = "mbpp/mbpp.jsonl"
    rows = load_rows("mbpp_full", data_dir, local) if data_dir else _all_hub_splits("mbpp_full", "full", local)
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})


def load_sanitized(data_dir: str | None = None, num_examples: Any = None, **_: Any):
    """``mbpp_sanitized``: all 427 hand-verified problems."""
    local = "mbpp/sanitized-mbpp.json"
    rows = (
        load_rows("mbpp_sanitized", data_dir, local)
        if data_dir
        else _all_hub_splits("mbpp_sanitized", "sanitized", local)
    )
    return to_dataset_dict({"test": limit_rows(rows, num_examples)})


def _train_rows(data_dir: str | None) -> list[dict[str, Any]]:
    task = "mbpp_reflectevo"
    if data_dir:
        path = local_file(data_dir, "reflectevo/mbpp_train.jsonl", task, alternatives=["mbpp/mbpp.jsonl"])
        rows = read_records(path)
    else:
        rows = hub_rows(task, HUB, "full", "train", local_hint="reflectevo/mbpp_train.jsonl or mbpp/mbpp.jsonl")
    rows = [r for r in rows if int(r["task_id"]) in TRAIN_IDS]
    return drop_test_items(task, rows, lambda r: str(r.get("text", "")))


def load_reflectevo(data_dir: str | None = None, num_examples: Any = None, **meta: Any):
    """``mbpp_reflectevo``: ReflectEvo's 500-problem test file; train = task_ids 601-974."""
    return load_reflectevo_split(
        "mbpp_reflectevo", data_dir, lambda: _train_rows(data_dir), meta, num_examples, hub=HUB_TEST
    )

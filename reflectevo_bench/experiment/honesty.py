"""Train/test separation: no doc that reaches a training row may be scored in an eval run of the experiment.

Checked three times, by doc hash (``tasks.eval_task.doc_hash``, the hash every record and training row carries):
1. before anything is written: the docs of the data run (data tasks, split, limit) against the eval docs (eval
   tasks, split, limit) — a spec whose eval split is its train split is refused here, at no cost;
2. after the data builds, before training: every row of every data dir (train.jsonl and eval.jsonl) against the
   eval docs, plus the data dirs of given ``candidates`` when their ``reflectevo_checkpoint.json`` names them;
3. before the leaderboard: the same rows against the doc hashes of the eval runs' own records.
A leak is a ``BenchError`` (one line, exit 2) naming each task and its count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from reflectevo_bench.errors import BenchError


def task_doc_hashes(tasks: list[str], split: str, limit: int | None, data_dir: str | None) -> dict[str, set[str]]:
    """Per task, the doc hashes a run over (tasks, split, limit) would score. Loads the tasks (validates them)."""
    from reflectevo_bench.tasks.eval_task import doc_hash
    from reflectevo_bench.tasks.registry import load_eval_tasks

    loaded = load_eval_tasks(",".join(tasks), data_dir, limit, None, {}, split)
    return {t.name: {doc_hash(d) for d in t.docs} for t in loaded}


def row_doc_hashes(data_dirs: Iterable[Path]) -> dict[str, set[str]]:
    """Per task, the doc hashes in the rows of `data build` dirs (train.jsonl and eval.jsonl)."""
    out: dict[str, set[str]] = {}
    for d in data_dirs:
        for name in ("train.jsonl", "eval.jsonl"):
            path = Path(d) / name
            if not path.is_file():
                continue
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        row = json.loads(line)
                        out.setdefault(str(row.get("task")), set()).add(str(row.get("doc_hash")))
    return out


def run_doc_hashes(run_dirs: Iterable[Path]) -> dict[str, set[str]]:
    from reflectevo_bench.harness.records import read_records

    out: dict[str, set[str]] = {}
    for d in run_dirs:
        for task, recs in read_records(Path(d)).items():
            out.setdefault(task, set()).update(r["doc_hash"] for r in recs)
    return out


def checkpoint_data_dirs(model_args: str) -> list[Path]:
    """The data dirs a reflectevo checkpoint was trained on (from its reflectevo_checkpoint.json), where present."""
    from reflectevo_bench.harness.backend import parse_model_args

    args = parse_model_args(model_args)
    dirs = []
    for key in ("pretrained", "peft"):
        folder = Path(args.get(key, "")).expanduser()
        record = folder / "reflectevo_checkpoint.json" if args.get(key) else None
        if record is None or not record.is_file():
            continue
        try:
            data = json.loads(record.read_text(encoding="utf-8")).get("data") or {}
        except ValueError:
            continue
        dirs += [Path(d["dir"]) for d in data.values() if isinstance(d, dict) and Path(str(d.get("dir"))).is_dir()]
    return dirs


def check_disjoint(train: dict[str, set[str]], evaluated: dict[str, set[str]], what: str, eval_split: str) -> None:
    shared = {t: len(train[t] & evaluated[t]) for t in sorted(set(train) & set(evaluated))}
    shared = {t: n for t, n in shared.items() if n}
    if shared:
        detail = ", ".join(f"task {t}: {n} of {len(evaluated[t])} docs" for t, n in shared.items())
        raise BenchError(f"train/test leak: {detail} of the eval split ({eval_split}) also appear in {what}; "
                         "evaluate on a split that shares no docs with the training data")


def leak_report(train: dict[str, set[str]], evaluated: dict[str, set[str]]) -> dict[str, Any]:
    return {"tasks": {t: {"train_docs": len(train.get(t, ())), "eval_docs": len(evaluated.get(t, ())),
                          "shared": len(train.get(t, set()) & evaluated.get(t, set()))}
                      for t in sorted(set(train) | set(evaluated))}}

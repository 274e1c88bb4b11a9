"""Train/test separation: no doc that reaches a training row may be scored in an eval run of the experiment.

Checked three times:
1. before anything is written, by CONTENT: every task and split the data run reads against every task and split
   the eval runs read, across task names (``mbpp_full`` holds every doc of ``mbpp``; a copy of a task under another
   name may read the test file as its train split). A doc's content keys are the hash of its rendered question
   (``doc_to_text``, case and whitespace normalised) and of each distinctive long text field of the doc (so the
   same problem under another prompt frame, e.g. ``mbpp_reflectevo`` vs ``mbpp``, still matches);
2. by doc hash (``tasks.eval_task.doc_hash``, the hash every record and training row carries), across task
   names: before anything is written, the rows of given ``candidates``' data dirs (when their
   ``reflectevo_checkpoint.json`` names them); after the data builds, before training, every row of every data dir
   (train.jsonl and eval.jsonl) against the eval docs;
3. before the leaderboard: the same rows against the doc hashes of the eval runs' own records.
A leak is a ``BenchError`` (one line, exit 2) naming the two task/splits and the overlap count.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.jsonl_files import read_numbered

FIELD_MIN_CHARS = 24  # shorter text fields (option letters, labels, numbers) say nothing about identity


def normalise(text: Any) -> str:
    return " ".join(str(text).casefold().split())


def content_key(text: Any) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:16]


@dataclass
class TaskDocs:
    """The docs one run would score of one task: their label ("task/split"), doc hashes and content keys."""

    task: str
    split: str | None
    hashes: set[str] = field(default_factory=set)
    keys: list[set[str]] = field(default_factory=list)  # per doc

    @property
    def label(self) -> str:
        return f"{self.task} (split {self.split})"


def doc_content_keys(task: Any) -> list[set[str]]:
    """Per doc of an EvalTask: the hash of its normalised rendered question and of its distinctive text fields
    (string values of at least FIELD_MIN_CHARS characters that no other doc of the task shares)."""
    texts: list[dict[str, str]] = []
    for doc in task.docs:
        fields = {k: normalise(v) for k, v in doc.items() if isinstance(v, str)}
        texts.append({k: v for k, v in fields.items() if len(v) >= FIELD_MIN_CHARS})
    seen: dict[str, int] = {}
    for fields in texts:
        for v in set(fields.values()):
            seen[v] = seen.get(v, 0) + 1
    out = []
    for doc, fields in zip(task.docs, texts):
        keys = {content_key(v) for v in fields.values() if seen[v] == 1}
        try:
            question = task.task.doc_to_text(doc)
        except Exception:  # a doc_to_text that needs more than the doc: the fields still count
            question = None
        if isinstance(question, str) and question.strip():
            keys.add(content_key(question))
        out.append(keys)
    return out


def task_docs(tasks: list[str], split: str, limit: int | None, data_dir: str | None) -> list[TaskDocs]:
    """What a run over (tasks, split, limit) would score, per task. Loads the tasks (validates them)."""
    from reflectevo_bench.tasks.eval_task import doc_hash
    from reflectevo_bench.tasks.registry import load_eval_tasks

    return [
        TaskDocs(t.name, t.split, {doc_hash(d) for d in t.docs}, doc_content_keys(t))
        for t in load_eval_tasks(",".join(tasks), data_dir, limit, None, {}, split)
    ]


def check_content_disjoint(train: list[TaskDocs], evaluated: list[TaskDocs], what: str) -> None:
    """Every (train task/split, eval task/split) pair, across task names: one line for the first that shares docs."""
    for e in evaluated:
        for t in train:
            pool = set().union(*t.keys) if t.keys else set()
            shared = max(sum(1 for keys in e.keys if keys & pool), len(t.hashes & e.hashes))
            if shared:
                raise BenchError(
                    f"train/test leak: {shared} of {len(e.keys)} docs of eval task {e.label} have the "
                    f"same content as docs of task {t.label} in {what}; evaluate on data that shares no "
                    "docs with the training data"
                )


def row_doc_hashes(data_dirs: Iterable[Path]) -> dict[str, set[str]]:
    """Per task, the doc hashes in the rows of `data build` dirs (train.jsonl and eval.jsonl)."""
    out: dict[str, set[str]] = {}
    for d in data_dirs:
        for name in ("train.jsonl", "eval.jsonl"):
            path = Path(d) / name
            if not path.is_file():
                continue
            for _, row in read_numbered(path):
                if isinstance(row, dict):
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
    """Doc hashes of training rows against eval docs, across task names (a doc is the same doc under any name)."""
    for e in sorted(evaluated):
        for t in sorted(train):
            n = len(train[t] & evaluated[e])
            if n:
                source = "" if t == e else f" (as task {t})"
                raise BenchError(
                    f"train/test leak: task {e}: {n} of {len(evaluated[e])} docs of the eval split "
                    f"({eval_split}) also appear in {what}{source}; evaluate on a split that shares no "
                    "docs with the training data"
                )

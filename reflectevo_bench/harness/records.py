"""Per-sample records: ``samples_<task>.jsonl``, one line per finished doc, flushed and fsynced."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from reflectevo_bench.errors import BenchError

SAMPLES_GLOB = "samples_*.jsonl"


def samples_path(run_dir: Path, task: str) -> Path:
    safe = task.replace("/", "_")
    return run_dir / f"samples_{safe}.jsonl"


def _complete_lines(path: Path) -> tuple[list[bytes], int]:
    data = path.read_bytes()
    lines, good = [], 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            json.loads(line)
        except json.JSONDecodeError:
            break
        lines.append(line)
        good += len(line)
    return lines, good


def repair_tail(path: Path) -> None:
    """Drop a last line that a kill cut short, so appends start on a clean line."""
    _, good = _complete_lines(path)
    if good != path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good)


def iter_records(path: Path) -> Iterator[dict[str, Any]]:
    lines, _ = _complete_lines(path)
    for line in lines:
        yield json.loads(line)


def read_run_records(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every finished record of a run, per task, ordered by doc id; duplicates are an error."""
    by_task: dict[str, dict[int, dict[str, Any]]] = {}
    for path in sorted(run_dir.glob(SAMPLES_GLOB)):
        for rec in iter_records(path):
            docs = by_task.setdefault(rec["task"], {})
            if rec["doc_id"] in docs:
                raise BenchError(f"{path} holds doc {rec['doc_id']} twice: the run dir is corrupt")
            docs[rec["doc_id"]] = rec
    return {task: [docs[i] for i in sorted(docs)] for task, docs in sorted(by_task.items())}


class SampleWriter:
    """Appends records, one open file per task; each line reaches the disk before ``write`` returns."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._files: dict[str, Any] = {}

    def write(self, record: dict[str, Any]) -> None:
        task = record["task"]
        fh = self._files.get(task)
        if fh is None:
            path = samples_path(self.run_dir, task)
            if path.exists():
                repair_tail(path)
            fh = self._files[task] = open(path, "a", encoding="utf-8")
        fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        fh.flush()
        os.fsync(fh.fileno())

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()

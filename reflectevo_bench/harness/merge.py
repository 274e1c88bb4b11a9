"""Merge a sharded run: the shards' records become the run dir's ``samples_*.jsonl`` and ``results.json``, the
same files a single-process run of the same command writes (``reflectevo-bench merge`` by hand; the last shard
to finish does it on its own).

The merge only reads the shards' files and writes the top-level ones, each by rename, so running it twice gives
the same files. Two shards finishing at the same moment may both try: a lock file created with ``O_EXCL``
(atomic on local file systems and NFS v3+, unlike ``flock``) lets one of them merge.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.records import SampleRecord, json_line, read_records, samples_path
from reflectevo_bench.harness.results import write_results
from reflectevo_bench.harness.run_dir import (
    MANIFEST,
    read_manifest,
    shard_manifests,
    unfinished_shards,
    with_identity_defaults,
    write_json_atomic,
    write_text_atomic,
)
from reflectevo_bench.harness.shard import SHARDS_DIR, shard_dir, shard_list

LOCK = ".merge.lock"


def sharding(run_dir: Path) -> tuple[dict[str, Any], int]:
    manifest = read_manifest(run_dir)
    count = (manifest.get("sharding") or {}).get("shards")
    if not count:
        raise BenchError(f"{run_dir} is not a sharded run (its {MANIFEST} names no shards): nothing to merge")
    return manifest, int(count)


def merge_run(run_dir: Path) -> dict[str, Any]:
    """``reflectevo-bench merge``: every shard must have finished; one line naming those that have not."""
    run_dir = Path(run_dir)
    _, count = sharding(run_dir)
    waiting = unfinished_shards(run_dir, count)
    if waiting:
        raise BenchError(
            f"{run_dir}: {shard_list(waiting)} of {count} missing or unfinished: run "
            f"{'them' if len(waiting) > 1 else 'it'} (the same command with --shard i/{count}; add --resume "
            "for one that started), then merge again"
        )
    with merge_lock(run_dir) as holder:
        if holder is not None:
            raise BenchError(
                f"{run_dir}: a merge is under way ({holder}): wait for it, or delete "
                f"{run_dir / SHARDS_DIR / LOCK} if that process is gone"
            )
        return _merge(run_dir)


def finish_shard(run_dir: Path, manifest: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """A shard whose docs are all recorded: mark it complete, then merge if it was the last."""
    manifest["complete"] = True
    write_json_atomic(shard_dir(run_dir, manifest["shard"]["index"]) / MANIFEST, manifest)
    return merge_if_last(run_dir)


def merge_if_last(run_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """Called by a shard that has finished: merge when every shard has. Returns (results or None, what happened)."""
    _, count = sharding(run_dir)
    waiting = unfinished_shards(run_dir, count)
    if waiting:
        return None, (
            f"waiting for {shard_list(waiting)} of {count}: "
            f"the last to finish merges (or run `reflectevo-bench merge {run_dir}`)"
        )
    with merge_lock(run_dir) as holder:
        if holder is not None:
            return None, f"another shard is merging ({holder})"
        return _merge(run_dir), f"merged {count} shards"  # again, if another shard merged first: same files


@contextmanager
def merge_lock(run_dir: Path) -> Iterator[str | None]:
    """Hold the merge lock: yields None when held, else who holds it. A lock left by a dead process of this host
    (a merge killed part way) is taken over; should two processes take one over at once, both merge, which only
    costs time: every file is written whole from the same shards."""
    path = run_dir / SHARDS_DIR / LOCK
    fd = _create(path)
    if fd is None:
        holder = _read_holder(path)
        if holder.get("host") == socket.gethostname() and not _alive(holder.get("pid")):
            path.unlink(missing_ok=True)
            fd = _create(path)
        if fd is None:
            yield f"host {holder.get('host', '?')}, pid {holder.get('pid', '?')}"
            return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}, fh)
        yield None
    finally:
        path.unlink(missing_ok=True)


def _create(path: Path) -> int | None:
    try:
        return os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None


def _read_holder(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # being written this instant, or gone


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return True  # unknown: assume it is running
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _merge(run_dir: Path) -> dict[str, Any]:
    top, count = sharding(run_dir)
    shards = shard_manifests(run_dir, count)
    ident = with_identity_defaults(top["identity"])
    sizes: dict[str, int] = top["environment"]["task_sizes_limited"]
    merged: dict[str, list[SampleRecord]] = {task: [] for task in top["environment"]["tasks"]}
    sessions = []
    for i, own in shards.items():
        where = shard_dir(run_dir, i)
        assert own is not None  # callers checked every shard finished
        if (
            with_identity_defaults(own.get("identity", {})) != ident
            or (own.get("shard") or {}).get("count") != count
            or own["shard"].get("index") != i
        ):
            raise BenchError(f"{where} holds a shard of a different run: move it away and run shard {i}/{count} again")
        records = read_records(where, shard=True)
        for task in sorted(set(records) | set(sizes)):
            got = {r["doc_id"] for r in records.get(task, [])}
            expected = set(range(i, sizes.get(task, 0), count))
            if got != expected:
                raise BenchError(
                    f"{where} holds docs {sorted(got ^ expected)[:5]} of task '{task}' that do not match "
                    f"shard {i}/{count}: move it away and run shard {i}/{count} again"
                )
            merged[task].extend(records.get(task, []))
        sessions += [{**s, "shard": i} for s in own.get("sessions", [])]
    for task, recs in merged.items():
        if recs:
            write_text_atomic(
                samples_path(run_dir, task), "".join(json_line(r) for r in sorted(recs, key=lambda r: r["doc_id"]))
            )
    top["sessions"] = sorted(sessions, key=lambda s: (s["started"], s["shard"]))
    top["sharding"] = {"shards": count, "merged": True, "sources": [shards[i]["shard"] for i in range(count)]}
    write_json_atomic(run_dir / MANIFEST, top)
    return write_results(run_dir)

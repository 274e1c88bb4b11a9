"""``baseline.json``: a small file to commit as a gate baseline, so CI needs no old run dir.

It holds the run's metadata (model, protocol, rounds, feedback mode, git hash, date), per task the metrics
for reading, and per doc (keyed by doc hash) the verdict string ``c`` (one ``0``/``1`` per round, acc@t1 …
acc@tK) and ``p``, a hash of the attempt-1 chat messages, so a candidate's prompts can be checked without
storing them. About 50 bytes per doc.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from reflectevo_bench.harness.run_dir import write_json_atomic
from reflectevo_bench.leaderboards.load import SNAPSHOT_FORMAT, Evaluation


def make_snapshot(ev: Evaluation) -> dict[str, Any]:
    return {
        "format": SNAPSHOT_FORMAT,
        "version": 1,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "source": {
            "run_dir": ev.source,
            **{k: ev.meta.get(k) for k in ("git_hash", "date", "seed", "gen_kwargs", "limit", "complete", "settings")},
        },
        "model": {
            "label": ev.label,
            "model": ev.model,
            "model_args": ev.model_args,
            "params": ev.params,
            "params_source": ev.params_source,
        },
        "protocol": ev.protocol,
        "attempts": ev.attempts,
        "feedback_mode": ev.feedback_mode,
        "tasks": {
            task: {
                "metrics": {k: v for k, v in ev.metrics(task).items() if not k.endswith("_stderr")},
                "docs": {
                    key: {"c": "".join("1" if c else "0" for c in d.correct_at), "p": d.prompt}
                    for key, d in sorted(docs.items())
                },
            }
            for task, docs in sorted(ev.tasks.items())
        },
    }


def write_snapshot(ev: Evaluation, out: Path) -> dict[str, Any]:
    data = make_snapshot(ev)
    write_json_atomic(out, data)
    return data

"""Re-run the verifiers on recorded responses (``results DIR --rescore``), calling no model."""

from __future__ import annotations

import copy
from typing import Any

from reflectevo_bench.harness.protocols import PROTOCOLS
from reflectevo_bench.tasks.eval_task import EvalTask


def rescore_records(records: dict[str, list[dict[str, Any]]], tasks: dict[str, EvalTask],
                    protocol: str, attempts: int) -> dict[str, list[dict[str, Any]]]:
    proto = PROTOCOLS[protocol]
    out: dict[str, list[dict[str, Any]]] = {}
    for name, recs in records.items():
        task = tasks[name]
        fresh = []
        for rec in recs:
            rec = copy.deepcopy(rec)
            made = []
            for turn in rec["turns"]:
                if turn["kind"] != "attempt":
                    continue
                verdict = task.verify(rec["doc"], turn["response"])
                turn["verdict"], turn["extracted"] = verdict.to_dict(), verdict.extracted
                made.append(verdict.correct)
            rec["correct"], rec["correct_at"] = made, proto.correct_at(made, attempts)
            fresh.append(rec)
        out[name] = fresh
    return out

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
        fresh = [copy.deepcopy(rec) for rec in recs]
        attempts_turns = [(rec, turn) for rec in fresh for turn in rec["turns"] if turn["kind"] == "attempt"]
        verdicts = task.verify_batch([rec["doc"] for rec, _ in attempts_turns], [t["response"] for _, t in attempts_turns])
        for (_, turn), verdict in zip(attempts_turns, verdicts):
            turn["verdict"], turn["extracted"] = verdict.to_dict(), verdict.extracted
        for rec in fresh:
            made = [t["verdict"]["correct"] for t in rec["turns"] if t["kind"] == "attempt"]
            rec["correct"], rec["correct_at"] = made, proto.correct_at(made, attempts)
        out[name] = fresh
    return out

"""Re-run the verifiers on recorded responses (``results DIR --rescore``), calling no model."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from reflectevo_bench.harness.protocols import find_protocol
from reflectevo_bench.harness.records import SampleRecord, attempts
from reflectevo_bench.tasks.eval_task import EvalTask


def rescore_records(
    records: dict[str, list[SampleRecord]], tasks: dict[str, EvalTask], protocol: str, rounds: int
) -> dict[str, list[SampleRecord]]:
    proto = find_protocol(protocol)  # a name, or the file:NAME of a protocol loaded from a file
    out: dict[str, list[SampleRecord]] = {}
    for name, recs in records.items():
        task = tasks[name]
        fresh = [copy.deepcopy(rec) for rec in recs]
        attempts_turns = [(rec, turn) for rec in fresh for turn in rec["turns"] if turn["kind"] == "attempt"]
        verdicts = task.verify_batch(
            [rec["doc"] for rec, _ in attempts_turns], [verified_text(t) for _, t in attempts_turns]
        )
        for (_, turn), verdict in zip(attempts_turns, verdicts):
            turn["verdict"], turn["extracted"] = verdict.to_dict(), verdict.extracted
        samples = [(rec, s) for rec in fresh for s in rec.get("attempt_1_samples") or []]
        for (_, s), verdict in zip(
            samples, task.verify_batch([r["doc"] for r, _ in samples], [s["response"] for _, s in samples])
        ):
            s["verdict"], s["extracted"] = verdict.to_dict(), verdict.extracted
        for rec in fresh:
            if rec.get("attempt_1_samples"):
                rec["attempt_1_passes"] = sum(bool(s["verdict"]["correct"]) for s in rec["attempt_1_samples"])
            made = [t["verdict"]["correct"] for t in attempts(rec, 1)]
            rec["correct"], rec["correct_at"] = made, proto.correct_at(made, rounds)
        out[name] = fresh
    return out


def rescore_run(run_dir: Path) -> dict[str, Any]:
    """Re-verify every recorded attempt of a run with today's tasks and write ``results.json`` (marked rescored)."""
    from reflectevo_bench.harness.records import read_records
    from reflectevo_bench.harness.results import RESULTS, build_results
    from reflectevo_bench.harness.run_dir import read_manifest, write_json_atomic
    from reflectevo_bench.tasks.registry import load_eval_tasks

    manifest = read_manifest(run_dir)
    ident = manifest["identity"]
    tasks = load_eval_tasks(
        ",".join(ident["task_specs"]),
        ident.get("data_dir"),
        ident.get("limit"),
        ident.get("num_fewshot"),
        ident.get("metadata"),
        ident.get("split"),
    )
    protocol = ident.get("protocol_file") or ident["protocol"]
    records = rescore_records(read_records(run_dir), {t.name: t for t in tasks}, protocol, ident["attempts"])
    out = {**build_results(manifest, records), "rescored": True}
    write_json_atomic(run_dir / RESULTS, out)
    return out


def verified_text(turn: dict[str, Any]) -> str:
    """The text the engine verified for an attempt turn: a one-turn reply's answer part (after its last
    ``New answer:`` line), else the whole response."""
    answer = (turn.get("one_turn") or {}).get("answer")
    return turn["response"] if answer is None else answer

"""``reflectevo-bench score``: a task's verifier over existing model outputs, with no model call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.harness.run_dir import write_json_atomic
from reflectevo_bench.jsonl_files import read_numbered
from reflectevo_bench.tasks.eval_task import EvalTask


def read_predictions(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BenchError(f"--predictions {path} does not exist")
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, row in read_numbered(path, "--predictions"):
        if isinstance(row, dict) and "response" not in row:
            row = lm_eval_row(row, seen)
            if row is None:
                continue  # lm-eval logs a doc once per filter: the first row scores it
        if not isinstance(row, dict) or not isinstance(row.get("response"), str):
            raise BenchError(
                f'{path} line {number}: each row needs a string "response" (or lm-eval\'s "resps" / "filtered_resps")'
            )
        if not isinstance(row.get("doc"), dict) and not isinstance(row.get("doc_id"), int):
            raise BenchError(f'{path} line {number}: each row needs "doc" (a dataset row) or "doc_id" (an int)')
        rows.append(row)
    if not rows:
        raise BenchError(f"--predictions {path} holds no rows")
    return rows


def lm_eval_row(row: dict[str, Any], seen: set[str]) -> dict[str, Any] | None:
    """A row of lm-eval's ``--log_samples`` file as a prediction: the raw response (``resps[0][0]``; the verifier
    extracts its own answer), else ``filtered_resps[0]``. Returns None for a doc already read (one row per filter)."""
    resps, filtered = row.get("resps"), row.get("filtered_resps")
    if isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0] and isinstance(resps[0][0], str):
        response = resps[0][0]
    elif isinstance(filtered, list) and filtered and isinstance(filtered[0], str):
        response = filtered[0]
    else:
        return row  # neither: the caller's check names what is missing
    key = json.dumps(row.get("doc_id", row.get("doc")), sort_keys=True, default=str)
    if key in seen:
        return None
    seen.add(key)
    out = {"response": response}
    if isinstance(row.get("doc"), dict):
        out["doc"] = row["doc"]
    elif isinstance(row.get("doc_id"), int):
        out["doc_id"] = row["doc_id"]
    return out


def load_score_task(task_spec: str, data_dir: str | None, rows: list[dict[str, Any]]) -> EvalTask:
    """The task to score ``rows`` with. Rows that all carry their own ``doc`` need no dataset (nothing is
    downloaded or read: the task is built on those rows); ``doc_id`` rows need the task's docs."""
    from reflectevo_bench.tasks.registry import load_lm_eval_task_on_rows

    if all(isinstance(r.get("doc"), dict) for r in rows):
        name, task = load_lm_eval_task_on_rows(task_spec, [r["doc"] for r in rows])
        return EvalTask.from_lm_eval(name, task)
    from reflectevo_bench.tasks.registry import load_eval_tasks

    tasks = load_eval_tasks(task_spec, data_dir, None)
    if len(tasks) != 1:
        raise BenchError(f"--task {task_spec} is a group of {len(tasks)} tasks: score one task at a time")
    return tasks[0]


def score_predictions(task: EvalTask, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raw = [r["doc"] for r in rows if isinstance(r.get("doc"), dict)]
    try:
        processed = iter(task.raw_to_docs(raw) if raw else [])
    except Exception as exc:  # the task's process_docs on rows of another shape
        why = one_line(exc, 200, with_type=True)
        raise BenchError(
            f"the prediction rows' docs do not fit task {task.name} ({why}): give each row the task's dataset fields"
        ) from None
    docs, doc_ids = [], []
    for number, row in enumerate(rows, 1):
        if isinstance(row.get("doc"), dict):
            docs.append(next(processed))
            doc_ids.append(None)
            continue
        doc_id = row["doc_id"]
        if not 0 <= doc_id < len(task.docs):
            raise BenchError(f"prediction row {number}: doc_id {doc_id} is outside 0..{len(task.docs) - 1}")
        docs.append(task.docs[doc_id])
        doc_ids.append(doc_id)
    own = [doc_id is None for doc_id in doc_ids]
    try:
        verdicts = task.verify_batch(docs, [row["response"] for row in rows])
    except Exception:
        _refuse_bad_doc(task, docs, own, range(len(docs)))
        raise
    _refuse_bad_doc(task, docs, own, [i for i, v in enumerate(verdicts) if "verifier_error" in (v.details or {})])
    return [
        {"row": i, "doc_id": doc_id, **verdict.to_dict()} for i, (doc_id, verdict) in enumerate(zip(doc_ids, verdicts))
    ]


def _refuse_bad_doc(task: EvalTask, docs: list[dict[str, Any]], own: list[bool], suspects: Any) -> None:
    """A row's own ``doc`` that the verifier cannot read (a non-numeric countdown target) is bad input: one line
    naming the row. A doc is at fault when its verifier fails on an empty response too (else the response is, and
    that is a wrong verdict, not an error)."""
    for i in suspects:
        if not own[i]:
            continue
        try:
            verdict = task.verify_batch([docs[i]], [""])[0]
            problem = (verdict.details or {}).get("verifier_error")
        except Exception as exc:
            problem = one_line(exc, 200, with_type=True)
        if problem:
            raise BenchError(
                f"prediction row {i + 1}: its doc does not fit task {task.name}'s verifier ({problem}): "
                "give the row the task's dataset fields with their types"
            )


def write_scores(out_dir: Path, task: str, scores: list[dict[str, Any]]) -> dict[str, Any]:
    if out_dir.exists() and not out_dir.is_dir():
        raise BenchError(f"--output {out_dir} is a file, not a directory")
    from reflectevo_bench.tasks.guard import is_verifier_error

    summary = {
        "task": task,
        "n": len(scores),
        "accuracy": sum(s["correct"] for s in scores) / len(scores),
        "verifier_errors": sum(1 for s in scores if is_verifier_error(s)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(s, ensure_ascii=False, default=str) + "\n" for s in scores)
    tmp = out_dir / ".scores.jsonl.tmp"
    tmp.write_text(lines, encoding="utf-8", errors="backslashreplace")  # lone surrogates in model text: escaped
    tmp.replace(out_dir / "scores.jsonl")
    write_json_atomic(out_dir / "score.json", summary)
    return summary

"""lm-eval's ``--log_samples`` files: ``OUT/<model>/samples_<task>_<date>.jsonl`` (+ ``results_<date>.json``).

Attempt 1 is logged as lm-eval logs a ``generate_until`` sample (``doc_id``, ``doc``, ``target``, ``arguments``
{"gen_args_0": {"arg_0": prompt, "arg_1": gen_kwargs}}, ``resps``, ``filtered_resps``, ``filter``, ``metrics``,
the three hashes and the metric values); everything after attempt 1 goes under the key ``reflectevo``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lm_eval.utils import handle_non_serializable, hash_string, sanitize_list, sanitize_model_name

from reflectevo_bench.export.common import RunExport, later_turns
from reflectevo_bench.harness.records import SampleRecord, first_attempt
from reflectevo_bench.harness.run_dir import write_json_atomic, write_text_atomic

LATER_KEY = "reflectevo"


def _prompt_text(prompt: Any) -> str:
    return prompt if isinstance(prompt, str) else json.dumps(prompt, ensure_ascii=False, default=str)


def _filters(verdict: dict[str, Any], response: str) -> list[tuple[str, Any, dict[str, float]]]:
    """(filter, filtered response, metrics) per filter, as lm-eval logs a sample once per filter. Tasks verified by
    lm-eval's own filters and metrics recorded them (``details.filtered`` / ``details.scores``); other verifiers
    are one filter ``none`` with the response itself and ``acc`` = the verdict."""
    details = verdict.get("details") or {}
    filtered, scores = details.get("filtered"), details.get("scores")
    if isinstance(filtered, dict) and filtered and isinstance(scores, dict):
        out = []
        for name, value in filtered.items():
            metrics = {
                key.rsplit(",", 1)[0]: float(v)
                for key, v in scores.items()
                if key.rsplit(",", 1)[-1] == name and isinstance(v, (int, float))
            }
            out.append((name, value, metrics))
        return out
    return [("none", response, {"acc": float(bool(verdict.get("correct")))})]


def sample_rows(rec: SampleRecord) -> list[dict[str, Any]]:
    """The record's attempt 1 as lm-eval's logged samples (one per filter), later turns under ``reflectevo``."""
    first = first_attempt(rec)
    verdict = first.get("verdict") or {}
    target = rec.get("target")
    prompt = _prompt_text(first.get("prompt", ""))
    response = str(first.get("response", ""))
    later = {
        "protocol": rec.get("protocol"),
        "feedback_mode": rec.get("feedback_mode"),
        "correct_at": rec.get("correct_at"),
        "extracted": first.get("extracted"),
        "feedback": verdict.get("feedback"),
        "turns": later_turns(rec),
    }
    rows = []
    for name, filtered, metrics in _filters(verdict, response):
        rows.append(
            {
                "doc_id": rec["doc_id"],
                "doc": rec.get("doc"),
                "target": str(target),
                "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": first.get("gen_kwargs") or {}}},
                "resps": sanitize_list([[response]]),
                "filtered_resps": sanitize_list([filtered]),
                "filter": name,
                "metrics": list(metrics),
                "doc_hash": hash_string(
                    json.dumps(rec.get("doc"), indent=2, default=handle_non_serializable, ensure_ascii=False)
                ),
                "prompt_hash": hash_string(prompt),
                "target_hash": hash_string(str(target)),
                **metrics,
                LATER_KEY: later,
            }
        )
    return rows


def _line(row: dict[str, Any]) -> str:
    text = json.dumps(row, default=handle_non_serializable, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from a model: escape them
        text = json.dumps(row, default=handle_non_serializable, ensure_ascii=True)
    return text + "\n"


def export_lm_eval(run: RunExport, out: Path) -> list[Path]:
    folder = out / sanitize_model_name(run.model_name)
    date_id = run.date.replace(tzinfo=None).isoformat().replace(":", "-")
    written = []
    for task, recs in run.records.items():
        path = folder / f"samples_{task}_{date_id}.jsonl"
        write_text_atomic(path, "".join(_line(row) for r in recs for row in sample_rows(r)))
        written.append(path)
    results_path = run.path / "results.json"
    if results_path.is_file():
        results = json.loads(results_path.read_text(encoding="utf-8"))
        results.setdefault("model_name", run.model_name)
        results.setdefault("model_name_sanitized", sanitize_model_name(run.model_name))
        path = folder / f"results_{date_id}.json"
        write_json_atomic(path, results)
        written.append(path)
    return written

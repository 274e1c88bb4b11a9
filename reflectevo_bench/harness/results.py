"""``results.json``, derived only from the manifest and the sample records (so it can always be rebuilt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reflectevo_bench.harness.analytics import reflection_analytics
from reflectevo_bench.harness.groups import group_results
from reflectevo_bench.harness.metrics import filter_scores, phase_stats, retry_stats, task_metrics, verifier_errors
from reflectevo_bench.harness.mining import sample_stats
from reflectevo_bench.harness.records import read_records
from reflectevo_bench.harness.run_dir import read_manifest, write_json_atomic

RESULTS = "results.json"


def build_results(manifest: dict[str, Any], records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    ident, env = manifest["identity"], manifest["environment"]
    attempts, mode = ident["attempts"], env["feedback_mode"]
    all_records = [r for recs in records.values() for r in recs]
    sessions = manifest.get("sessions", [])
    results = {}
    for task in env["tasks"]:
        recs = records.get(task, [])
        results[task] = {
            "alias": task,
            **task_metrics(recs, attempts, mode),
            **retry_stats(recs),
            "verifier_errors": verifier_errors(recs),
        }
        mined = sample_stats(recs)
        if mined:
            results[task]["attempt_1_samples"] = mined  # run --samples K: pass@1, pass@K, share kept per rule
        scores = filter_scores(recs)
        if scores:
            results[task]["attempt_1_filters"] = scores  # lm-eval's own per-filter numbers, for attempt 1
    return {
        "results": results,
        "groups": group_results(records, env["tasks"], attempts, mode),
        "configs": env["task_configs"],
        "versions": env["task_versions"],
        "n-samples": {
            t: {"original": env["task_sizes"][t], "effective": len(records.get(t, []))} for t in env["tasks"]
        },
        "complete": all(len(records.get(t, [])) == env["task_sizes_limited"][t] for t in env["tasks"]),
        "config": ident,
        "protocol": ident["protocol"],
        "split": ident.get("split"),
        "splits": env.get("splits"),
        "reflections": ident.get("reflections", 1),
        "attempts": attempts,
        "feedback_mode": mode,
        "verifiers": env["verifiers"],
        "seeds": env["seeds"],
        "package_versions": env["package_versions"],
        "git_hash": env["git_hash"],
        "date": env["date"],
        "total_wall_time_s": round(sum(s.get("wall_s") or 0.0 for s in sessions), 3),
        "sessions": len(sessions),
        "phases": phase_stats(all_records),
        "reflection_analytics": reflection_analytics({t: records.get(t, []) for t in env["tasks"]}),
    }


def write_results(run_dir: Path) -> dict[str, Any]:
    manifest = read_manifest(run_dir)
    results = build_results(manifest, read_records(run_dir))
    write_json_atomic(run_dir / RESULTS, results)
    return results

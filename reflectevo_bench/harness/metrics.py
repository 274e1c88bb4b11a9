"""Per-task metrics from records: acc@t1…acc@tK with Wilson 95% CIs, Δ with a paired CI, flips."""

from __future__ import annotations

import math
from typing import Any

Z95 = 1.959963984540054


def wilson_ci(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6))


def stderr(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / (n - 1)) if n > 1 else 0.0


def paired_delta_ci(first: list[bool], last: list[bool], z: float = Z95) -> tuple[float, float, float]:
    """Mean of per-doc differences (last − first) with a normal-approximation CI on paired data."""
    n = len(first)
    if n == 0:
        return (0.0, 0.0, 0.0)
    diffs = [int(b) - int(a) for a, b in zip(first, last)]
    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1) if n > 1 else 0.0
    half = z * math.sqrt(var / n)
    return (mean, round(max(-1.0, mean - half), 6), round(min(1.0, mean + half), 6))


def task_metrics(records: list[dict[str, Any]], attempts: int, feedback_mode: str) -> dict[str, Any]:
    n = len(records)
    out: dict[str, Any] = {"n": n, "feedback": feedback_mode}
    columns = [[bool(r["correct_at"][k]) for r in records] for k in range(attempts)]
    for k, col in enumerate(columns, 1):
        hits = sum(col)
        acc = hits / n if n else 0.0
        lo, hi = wilson_ci(hits, n)
        out[f"acc@t{k}"] = acc
        out[f"acc@t{k}_stderr"] = stderr(acc, n)
        out[f"acc@t{k}_ci95"] = [lo, hi]
    first, last = columns[0], columns[-1]
    delta, lo, hi = paired_delta_ci(first, last)
    out["delta"] = delta
    out["delta_ci95"] = [lo, hi]
    out["wrong_to_right"] = sum(1 for a, b in zip(first, last) if not a and b)
    out["right_to_wrong"] = sum(1 for a, b in zip(first, last) if a and not b)
    return out


def retry_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Retries (round-2 attempts) over every branch: how many, and the share that passed.

    With ``run --reflections N`` every failure has N retries, so this is ReflectEvo's branch pass rate; with one
    branch it equals wrong→right over the docs that retried (stop-when-correct protocols).
    """
    verdicts = [
        bool(t["verdict"]["correct"]) for r in records for t in r["turns"] if t["kind"] == "attempt" and t["round"] == 2
    ]
    if not verdicts:
        return {}
    branches = max((t.get("branch", 1) for r in records for t in r["turns"]), default=1)
    return {"retries": len(verdicts), "retry_pass_rate": sum(verdicts) / len(verdicts), "branches": branches}


def verifier_errors(records: list[dict[str, Any]]) -> int:
    """Attempts the verifier could not judge (``tasks.guard``: exception, time or size budget); each counts wrong."""
    from reflectevo_bench.tasks.guard import is_verifier_error

    return sum(1 for r in records for t in r["turns"] if t["kind"] == "attempt" and is_verifier_error(t.get("verdict")))


def filter_scores(records: list[dict[str, Any]]) -> dict[str, float]:
    """Attempt 1's mean of every metric/filter score the verifier reports (lm-eval's ``metric,filter`` keys)."""
    sums: dict[str, list[float]] = {}
    for rec in records:
        first = next((t for t in rec["turns"] if t["kind"] == "attempt" and t["round"] == 1), None)
        scores = ((first or {}).get("verdict") or {}).get("details", {}).get("scores") or {}
        for key, value in scores.items():
            if isinstance(value, (int, float)):  # bools count as 0/1
                sums.setdefault(key, []).append(float(value))
    return {key: sum(v) / len(v) for key, v in sorted(sums.items())}


def phase_name(turn: dict[str, Any]) -> str:
    """attempt_k for attempt k; reflection_k for the reflection written after attempt k (round k + 1)."""
    return f"attempt_{turn['round']}" if turn["kind"] == "attempt" else f"reflection_{turn['round'] - 1}"


def phase_stats(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Requests, tokens and backend time per phase, summed from the turns of the records."""
    phases: dict[str, dict[str, Any]] = {}
    for rec in records:
        for turn in rec["turns"]:
            p = phases.setdefault(
                phase_name(turn),
                {"requests": 0, "cached": 0, "prompt_tokens": 0, "completion_tokens": 0, "backend_s": 0.0},
            )
            p["requests"] += 1
            p["cached"] += int(turn["timing"]["cached"])
            p["prompt_tokens"] += turn.get("prompt_tokens") or 0
            p["completion_tokens"] += turn.get("completion_tokens") or 0
            p["backend_s"] += turn["timing"]["latency_s"]
    for p in phases.values():
        p["backend_s"] = round(p["backend_s"], 3)
        p["completion_tokens_per_s"] = round(p["completion_tokens"] / p["backend_s"], 2) if p["backend_s"] else None
    return dict(sorted(phases.items(), key=lambda kv: _phase_order(kv[0])))


def _phase_order(name: str) -> float:
    """attempt_1 < reflection_1 < attempt_2 < reflection_2 < …"""
    kind, number = name.rsplit("_", 1)
    return int(number) + (0.5 if kind == "reflection" else 0.0)

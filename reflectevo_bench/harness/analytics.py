"""Reflection analytics from records (no model call): what the reflections look like and what they lead to.

Every number is over *reflection steps*: a reflection turn of round k in branch b, the failed attempt it reflects
on (round k−1 of that branch; round 1 is shared by all branches) and the retry it leads to (attempt k of branch b).
Definitions, in docs/analytics.md:

- ``reflection_chars_mean`` / ``reflection_tokens_mean``: mean length of the reflection text (characters) and of
  its completion tokens (turns without a token count are left out of the token mean);
- ``states_answer_rate``: share of reflections that already state a final answer (``ANSWER_PATTERN``);
- ``repeats_failed_rate``: share of retries whose answer equals the failed attempt's (the extracted answers,
  whitespace- and case-normalised; the whole responses when neither attempt has an extracted answer);
- ``by_feedback``: per feedback kind (the failed attempt's ``verdict.details.reason``, e.g. ``no_answer``,
  ``wrong_value``; ``unspecified`` when the verifier gives none): retries, wrong→right flips, their rate;
- ``by_length``: per reflection-length bucket (completion tokens, ``LENGTH_BUCKETS``): retries, passes, rate.
"""

from __future__ import annotations

import re
from typing import Any

ANSWER_PATTERN = re.compile(
    r"(?:^|\n|[.!?]\s)\s*(?:\*\*)?\s*(?:final\s+)?answer\s*(?:\*\*)?\s*[:=]|\bthe\s+(?:final\s+|correct\s+)?answer\s+(?:is|should\s+be)\b|\\boxed\{",
    re.IGNORECASE,
)
LENGTH_BUCKETS: list[tuple[str, int, float]] = [
    ("<32", 0, 32),
    ("32-127", 32, 128),
    ("128-511", 128, 512),
    ("512+", 512, float("inf")),
]


def states_answer(text: str) -> bool:
    return bool(ANSWER_PATTERN.search(text or ""))


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).lower()


def same_answer(failed: dict[str, Any], retry: dict[str, Any]) -> bool:
    a, b = failed.get("extracted"), retry.get("extracted")
    if a is None and b is None:
        return _norm(failed.get("response", "")) == _norm(retry.get("response", ""))
    return a is not None and b is not None and _norm(a) == _norm(b)


def length_bucket(tokens: int | None) -> str:
    if tokens is None:
        return "unknown"
    return next(name for name, lo, hi in LENGTH_BUCKETS if lo <= tokens < hi)


def reflection_steps(rec: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(failed attempt, reflection, retry) for every reflection of the record whose retry was made."""
    attempts = {(t["round"], t.get("branch", 1)): t for t in rec["turns"] if t["kind"] == "attempt"}
    steps = []
    for refl in rec["turns"]:
        if refl["kind"] != "reflection":
            continue
        k, b = refl["round"], refl.get("branch", 1)
        failed = attempts.get((k - 1, 1 if k - 1 == 1 else b))
        retry = attempts.get((k, b))
        if failed is not None and retry is not None:
            steps.append((failed, refl, retry))
    return steps


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def analyse(records: list[dict[str, Any]]) -> dict[str, Any]:
    steps = [s for rec in records for s in reflection_steps(rec)]
    n = len(steps)
    chars = [len(str(r.get("response", ""))) for _, r, _ in steps]
    tokens = [r["completion_tokens"] for _, r, _ in steps if isinstance(r.get("completion_tokens"), int)]
    out: dict[str, Any] = {
        "reflections": n,
        "reflection_chars_mean": sum(chars) / n if n else None,
        "reflection_tokens_mean": sum(tokens) / len(tokens) if tokens else None,
        "states_answer": sum(states_answer(str(r.get("response", ""))) for _, r, _ in steps),
        "repeats_failed": sum(same_answer(f, t) for f, _, t in steps),
    }
    out["states_answer_rate"] = _rate(out["states_answer"], n)
    out["repeats_failed_rate"] = _rate(out["repeats_failed"], n)
    by_feedback: dict[str, dict[str, Any]] = {}
    for failed, _, retry in steps:
        kind = str((((failed.get("verdict") or {}).get("details") or {}).get("reason")) or "unspecified")
        row = by_feedback.setdefault(kind, {"retries": 0, "wrong_to_right": 0})
        row["retries"] += 1
        row["wrong_to_right"] += int(not failed["verdict"]["correct"] and bool(retry["verdict"]["correct"]))
    by_length: dict[str, dict[str, Any]] = {}
    for _, refl, retry in steps:
        row = by_length.setdefault(length_bucket(refl.get("completion_tokens")), {"retries": 0, "passed": 0})
        row["retries"] += 1
        row["passed"] += int(bool(retry["verdict"]["correct"]))
    for row in by_feedback.values():
        row["rate"] = _rate(row["wrong_to_right"], row["retries"])
    for row in by_length.values():
        row["rate"] = _rate(row["passed"], row["retries"])
    order = [name for name, _, _ in LENGTH_BUCKETS] + ["unknown"]
    out["by_feedback"] = dict(sorted(by_feedback.items()))
    out["by_length"] = {k: by_length[k] for k in order if k in by_length}
    return out


def reflection_analytics(records: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Per task, and ``all`` over every task of the run (a run is one model)."""
    out = {task: analyse(recs) for task, recs in records.items()}
    if len(records) > 1:
        out["all"] = analyse([r for recs in records.values() for r in recs])
    return out

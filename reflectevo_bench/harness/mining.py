"""Failure mining (``run --samples K``): which docs count as failures when K attempt-1 answers were sampled.

Reflect, Retry, Reward (arXiv 2505.24726) trains on a "dataset of failures" mined by sampling up to 64
answers per query. Rules over a doc's K recorded attempt-1 samples:

- ``any`` (default): at least one of the K samples failed. "Up to 64" reads as: sample until the model fails,
  at most 64 times, and keep the query once it has failed; a doc kept this way is one the model gets wrong at
  least sometimes, so a good reflection can still turn its retry into a pass (the reward GRPO needs).
- ``all``: every sample failed (the model never solves it in K tries: the hardest docs, whose retries rarely pass).
- ``first``: sample 1 failed (the single greedy-or-sampled attempt of a run without ``--samples``).

With K = 1 (or a run written without ``--samples``) the three rules agree.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.records import SampleRecord, first_attempt

FAILURE_RULES = ("any", "all", "first")
DEFAULT_FAILURE_RULE = "any"


def sample_verdicts(rec: SampleRecord) -> list[bool]:
    """Correctness of every recorded attempt-1 sample, sample 1 first (just attempt 1 without ``--samples``)."""
    samples = rec.get("attempt_1_samples")
    if samples:
        return [bool(s["verdict"]["correct"]) for s in samples]
    return [bool(rec["correct"][0])]


def check_rule(rule: str) -> str:
    if rule not in FAILURE_RULES:
        raise BenchError(f"unknown --failure-rule '{rule}': choose one of {', '.join(FAILURE_RULES)}")
    return rule


def is_failure(rec: SampleRecord, rule: str = DEFAULT_FAILURE_RULE) -> bool:
    made = sample_verdicts(rec)
    if rule == "any":
        return not all(made)
    if rule == "all":
        return not any(made)
    return not made[0]


def failed_sample(rec: SampleRecord) -> dict[str, Any]:
    """The failed attempt-1 answer a mined failure's reflection prompt is built from: attempt 1 itself where it
    failed, else the first failing sample (with attempt 1's messages: every sample answered the same prompt)."""
    first = first_attempt(rec)
    if not first["verdict"]["correct"]:
        return first  # type: ignore[return-value]
    for sample in rec.get("attempt_1_samples") or []:
        if not sample["verdict"]["correct"]:
            return {
                **first,
                "response": sample["response"],
                "extracted": sample.get("extracted"),
                "verdict": sample["verdict"],
                "sample": sample["sample"],
            }
    raise BenchError(f"doc {rec.get('doc_id')} of task '{rec.get('task')}' has no failed attempt-1 sample")


def sample_stats(records: list[SampleRecord]) -> dict[str, Any]:
    """pass@1 (mean over samples), pass@K (a doc passes once any of its K samples passed) and the share of docs
    each mining rule keeps; {} for a run without ``--samples``."""
    if not records or not any(r.get("attempt_1_samples") for r in records):
        return {}
    made = [sample_verdicts(r) for r in records]
    n = len(made)
    ks = sorted({len(m) for m in made})
    return {
        "samples": ks[0] if len(ks) == 1 else ks,
        "pass@1": sum(sum(m) / len(m) for m in made) / n,
        "pass@k": sum(any(m) for m in made) / n,
        "kept_fraction": {rule: sum(is_failure(r, rule) for r in records) / n for rule in FAILURE_RULES},
    }

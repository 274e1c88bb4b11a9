"""The leaderboard as data (``leaderboard.json``): every number the Markdown and HTML reports show comes from here.

Per comparable group of runs (same protocol, tasks, docs and attempt-1 prompts): per model and task the
harness's metrics (acc@tk with Wilson 95% CIs, Δ = acc@tK − acc@t1 with a paired 95% CI, flips) and a
macro average over tasks; then each candidate against the base and the reference, doc by doc (exact McNemar,
seeded paired bootstrap), per task and pooled over all docs.

Optional ``controls`` (by a model's run dir: ``{"retry": Evaluation, "self-refine": Evaluation}``) add per model
the reflection gain over the retry control and the intrinsic (self-refine) Δ (:mod:`controls`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.leaderboards import compat
from reflectevo_bench.leaderboards.compare import DEFAULT_BOOTSTRAP, DEFAULT_SEED, compare
from reflectevo_bench.leaderboards.controls import control_entries
from reflectevo_bench.leaderboards.fmt import comparison_line
from reflectevo_bench.leaderboards.load import Evaluation
from reflectevo_bench.leaderboards.settings import describe, settings_mismatch

FORMAT = "reflectevo-bench/leaderboard"
ROLE_ORDER = {r: i for i, r in enumerate(("base", "candidate", "other", "reference"))}


def unique_labels(evals: list[Evaluation]) -> None:
    """Give evaluations that share a label the run dir's name too (and a number if that is not enough)."""
    seen: dict[str, int] = {}
    for ev in evals:
        seen[ev.label] = seen.get(ev.label, 0) + 1
    for ev in evals:
        if seen[ev.label] > 1:
            ev.label = f"{ev.label} ({Path(ev.source).name})"
    final: dict[str, int] = {}
    for ev in evals:
        final[ev.label] = final.get(ev.label, 0) + 1
        if final[ev.label] > 1:
            ev.label = f"{ev.label} #{final[ev.label]}"


def model_entry(ev: Evaluation, role: str) -> dict[str, Any]:
    tasks = {t: ev.metrics(t) for t in sorted(ev.tasks)}
    rounds = [f"acc@t{k}" for k in range(1, ev.attempts + 1)]
    avg: dict[str, Any] = {"n": sum(m["n"] for m in tasks.values())}
    for key in rounds + ["delta"]:
        avg[key] = sum(m[key] for m in tasks.values()) / len(tasks)
    for key in ("wrong_to_right", "right_to_wrong"):
        avg[key] = sum(m[key] for m in tasks.values())
    return {
        "label": ev.label,
        "role": role,
        "source": ev.source,
        "kind": ev.kind,
        "model": ev.model,
        "model_args": ev.model_args,
        "params": ev.params,
        "params_source": ev.params_source,
        "meta": ev.meta,
        "generation": describe(ev.meta.get("settings")),
        "tasks": tasks,
        "average": avg,
    }


def build_board(
    entries: list[tuple[Evaluation, str]],
    allow_mismatch: bool = False,
    alpha: float = 0.05,
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    controls: dict[str, dict[str, Evaluation]] | None = None,
    max_references: int | None = 1,
) -> dict[str, Any]:
    """``controls``: per model's ``source``, its control runs by protocol; ``max_references``: None for any number
    (each candidate is then compared with every reference)."""
    if not entries:
        raise BenchError("no runs given: pass run dirs, --role ROLE=DIR or --spec FILE")
    for role, most in (("base", 1), ("reference", max_references)):
        if most is not None and sum(1 for _, r in entries if r == role) > most:
            raise BenchError(f"more than one {role} run given: a leaderboard has at most one {role}")
    evals = [ev for ev, _ in entries]
    unique_labels(evals)
    role_of = {id(ev): role for ev, role in entries}
    ordered = sorted(evals, key=lambda ev: ROLE_ORDER[role_of[id(ev)]])
    if not allow_mismatch:
        anchor = ordered[0]
        for ev in ordered[1:]:
            reason = compat.mismatch(anchor, ev)
            if reason:
                raise BenchError(
                    f"cannot compare {anchor.source} and {ev.source}: {reason}; "
                    "pass --allow-mismatch to show such runs apart"
                )
    mismatched = []
    for ev in ordered[1:]:
        reason = settings_mismatch(ordered[0].meta.get("settings"), ev.meta.get("settings"), ordered[0].label, ev.label)
        if reason and not allow_mismatch:
            raise BenchError(
                f"cannot compare {ordered[0].source} and {ev.source}: {reason}; pass --allow-mismatch "
                "to compare them anyway (the reports then show both settings)"
            )
        if reason:
            mismatched.append(reason)
    groups = compat.groups(ordered)
    board: dict[str, Any] = {
        "format": FORMAT,
        "version": 1,
        "generated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": {
            "alpha": alpha,
            "bootstrap": n_boot,
            "seed": seed,
            "ci": "acc: Wilson 95%; Δ: paired normal 95%; comparisons: paired bootstrap 95% (percentile)",
            "test": "exact McNemar (two-sided binomial on discordant docs)",
            "average": "unweighted mean over tasks; flips and n summed",
        },
        "groups": [],
        "not_compared": [],
        "settings_mismatch": mismatched,
    }
    by_role: dict[str, list[Evaluation]] = {}
    for ev in ordered:
        by_role.setdefault(role_of[id(ev)], []).append(ev)
    group_of = {id(ev): i for i, g in enumerate(groups) for ev in g}
    for i, group in enumerate(groups):
        first = group[0]
        board["groups"].append(
            {
                "id": i + 1,
                "protocol": first.protocol,
                "attempts": first.attempts,
                "feedback_mode": first.feedback_mode,
                "tasks": sorted(first.tasks),
                "n_docs": {t: len(d) for t, d in sorted(first.tasks.items())},
                "models": [model_entry(ev, role_of[id(ev)]) for ev in group],
                "comparisons": [],
            }
        )
        if controls:
            for ev, entry in zip(group, board["groups"][-1]["models"]):
                found = controls.get(ev.source)
                for name, ctrl in (found or {}).items():
                    reason = settings_mismatch(
                        ev.meta.get("settings"),
                        ctrl.meta.get("settings"),
                        ev.label,
                        f"{name} control",
                        keys=("chat_template",),
                    )
                    if reason and not allow_mismatch:
                        raise BenchError(
                            f"cannot pair {ev.source} with its {name} control {ctrl.source}: {reason}; "
                            "pass --allow-mismatch to pair them anyway"
                        )
                    if reason:
                        board["settings_mismatch"].append(reason)
                if found:
                    entry["controls"] = control_entries(ev, found, alpha, n_boot, seed)
    for cand in by_role.get("candidate", []):
        for other_role in ("base", "reference"):
            for other in by_role.get(other_role, []):
                if group_of[id(cand)] != group_of[id(other)]:
                    board["not_compared"].append(
                        {
                            "a": cand.label,
                            "b": other.label,
                            "kind": f"candidate vs {other_role}",
                            "reason": compat.mismatch(other, cand),
                        }
                    )
                    continue
                board["groups"][group_of[id(cand)]]["comparisons"].append(
                    comparison(cand, other, "candidate", other_role, alpha, n_boot, seed)
                )
    return board


def comparison(
    a: Evaluation, b: Evaluation, role_a: str, role_b: str, alpha: float, n_boot: int, seed: int
) -> dict[str, Any]:
    rounds = {}
    for k in range(1, a.attempts + 1):
        metric = f"acc@t{k}"
        result = compare(a, b, k, alpha, n_boot, seed)
        result["summary"] = comparison_line(role_a, a.label, role_b, b.label, metric, result["overall"], alpha)
        rounds[metric] = result
    headline = f"acc@t{a.attempts}"
    return {
        "a": a.label,
        "b": b.label,
        "role_a": role_a,
        "role_b": role_b,
        "kind": f"{role_a} vs {role_b}",
        "headline": headline,
        "summary": rounds[headline]["summary"],
        "metrics": rounds,
    }

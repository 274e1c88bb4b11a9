"""Group rows (as lm-eval reports groups): a task family's docs pooled into one row of results.json and the table.

A family is a name in ``FAMILIES``; a task belongs to it when its name is the family's or starts with it and
``_`` (``bbh_navigate`` → ``bbh``). A run gets a group row for each family of which it ran two or more tasks.
The row pools every doc of the family's tasks (weighted by size, as the shipped group YAMLs' ``weight_by_size``):
acc@tk with Wilson CIs, Δ with its paired CI and flips, computed as for a task.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.harness.metrics import task_metrics

FAMILIES = ("bbh", "bigbench", "bfcl", "arith", "mbpp")


def family_of(task: str) -> str | None:
    return next((f for f in FAMILIES if task == f or task.startswith(f + "_")), None)


def group_members(tasks: list[str]) -> dict[str, list[str]]:
    members: dict[str, list[str]] = {}
    for task in tasks:
        family = family_of(task)
        if family is not None:
            members.setdefault(family, []).append(task)
    return {f: ts for f, ts in members.items() if len(ts) > 1}


def group_results(
    records: dict[str, list[dict[str, Any]]], tasks: list[str], attempts: int, feedback_mode: str
) -> dict[str, dict[str, Any]]:
    out = {}
    for family, members in group_members(tasks).items():
        pooled = [r for t in members for r in records.get(t, [])]
        out[family] = {"alias": family, "tasks": members, **task_metrics(pooled, attempts, feedback_mode)}
    return out

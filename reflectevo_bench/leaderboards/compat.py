"""Whether two evaluations can be compared doc by doc, and if not, one line saying why.

Comparable means: the same protocol (name, rounds, feedback mode), the same tasks, the same docs per task
(doc-hash sets) and the same attempt-1 prompt per doc (the recorded chat messages, before any chat template).
"""

from __future__ import annotations

from reflectevo_bench.leaderboards.load import Evaluation


def mismatch(a: Evaluation, b: Evaluation) -> str | None:
    """None when ``a`` and ``b`` are comparable, else the first reason they are not."""
    if a.protocol_key != b.protocol_key:
        return f"they ran different protocols ({_proto(a)} vs {_proto(b)})"
    if set(a.tasks) != set(b.tasks):
        only_a, only_b = sorted(set(a.tasks) - set(b.tasks)), sorted(set(b.tasks) - set(a.tasks))
        parts = [
            f"only {a.label} has {', '.join(only_a)}" if only_a else "",
            f"only {b.label} has {', '.join(only_b)}" if only_b else "",
        ]
        return f"they ran different tasks ({'; '.join(p for p in parts if p)})"
    for task in sorted(a.tasks):
        da, db = a.tasks[task], b.tasks[task]
        if set(da) != set(db):
            shared = len(set(da) & set(db))
            return (
                f"task {task} has different docs ({len(da)} vs {len(db)} docs, {shared} shared): "
                "use the same task version, --limit and data"
            )
        differing = [k for k in da if da[k].prompt != db[k].prompt]
        if differing:
            return (
                f"task {task} asks {len(differing)} of {len(da)} docs with different attempt-1 prompts "
                "(different task config, few-shot or system instruction)"
            )
    return None


def _proto(ev: Evaluation) -> str:
    return f"{ev.protocol}/{ev.attempts} rounds/feedback={ev.feedback_mode}"


def groups(evals: list[Evaluation]) -> list[list[Evaluation]]:
    """Split into groups whose members are comparable with the group's first member, in input order."""
    out: list[list[Evaluation]] = []
    for ev in evals:
        for group in out:
            if mismatch(group[0], ev) is None:
                group.append(ev)
                break
        else:
            out.append([ev])
    return out

"""``gate.json``: each candidate against the base, with the spec's ``report`` (metric, max_drop, alpha, scope).

What the gate compares: for every candidate (each recipe's checkpoint and each given candidate), its eval run
under the main protocol (``eval.protocol``) against the base's eval run under the same protocol, on the same
test docs, with the rule of ``leaderboard gate``: a scope (each task, and all docs pooled) regresses when the
metric drops by more than ``max_drop`` points AND the one-sided exact McNemar p < ``alpha``. References are not
gated (they are what the candidates try to beat; the leaderboard compares them). The experiment fails the gate
(``regression: true``, exit code 1) when any candidate regresses.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.experiment.spec import ReportSpec

FORMAT = "reflectevo-bench/experiment-gate"
COMPARES = (
    "each candidate's eval run vs the base's eval run, under the main protocol on the eval split (same "
    "docs); regression = drop > max_drop pts AND one-sided exact McNemar p < alpha, per task and pooled"
)


def gate_all(entries: list[tuple[Any, str]], report: ReportSpec) -> dict[str, Any]:
    from reflectevo_bench.leaderboards.gate import explain, run_gate

    base = next(ev for ev, role in entries if role == "base")
    results, lines = [], []
    for ev, role in entries:
        if role != "candidate":
            continue
        r = run_gate(base, ev, str(report.metric), float(report.max_drop), float(report.alpha), str(report.scope))
        results.append(r)
        lines += explain(r)
    regression = any(r["regression"] for r in results)
    if not results:
        lines.append("gate: no candidates to gate")
    return {
        "format": FORMAT,
        "compares": COMPARES,
        "metric": report.metric,
        "max_drop_pts": report.max_drop,
        "alpha": report.alpha,
        "scope": report.scope,
        "base": {"label": base.label, "source": base.source},
        "candidates": results,
        "regression": regression,
        "exit_code": 1 if regression else 0,
        "lines": lines,
    }

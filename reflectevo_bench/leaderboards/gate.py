"""The CI gate: does a candidate regress significantly, beyond an allowed drop, against a baseline?

Definition. Baseline B (a run dir or a snapshot) and candidate C must be comparable (same protocol, rounds and
feedback mode, same tasks, same doc-hash sets, same attempt-1 prompts); otherwise the gate cannot decide
(exit 2). For the metric acc@tk (default acc@t2) and a scope S — each task on its own, and all docs of all
tasks pooled ("overall") — over the n docs in S:

- ``drop`` = 100 × (acc_B − acc_C) in points (positive when the candidate is worse);
- ``losses`` = docs B gets right and C wrong at round k, ``gains`` = docs C gets right and B wrong;
- ``p`` = one-sided exact McNemar p-value = P(X ≥ losses) for X ~ Binomial(losses + gains, 1/2).

S regresses when ``drop > max_drop`` AND ``p < alpha``: the candidate is worse by more than the allowed points,
and the per-doc verdicts show it is worse beyond chance. The gate fails (exit 1) when any scope checked
regresses (``--scope both``, the default, checks every task and overall; ``tasks`` or ``overall`` check only
those). No correction for testing several tasks is made: with many tasks, lower ``alpha`` or use
``--scope overall``. Every scope also gets a paired bootstrap 95% CI of the drop (seeded) for reading.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.leaderboards import compat
from reflectevo_bench.leaderboards.compare import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_SEED,
    compare_verdicts,
    mcnemar_one_sided,
    metric_round,
    paired,
)
from reflectevo_bench.leaderboards.fmt import ci, pct, pvalue, signed
from reflectevo_bench.leaderboards.load import Evaluation
from reflectevo_bench.leaderboards.settings import describe, settings_mismatch
from reflectevo_bench.leaderboards.tables import caption

SCOPES = ("both", "tasks", "overall")


def check_settings(max_drop: float, alpha: float, scope: str) -> None:
    if max_drop < 0:
        raise BenchError(f"--max-drop must be 0 or more points, got {max_drop:g}")
    if not 0 < alpha < 1:
        raise BenchError(f"--alpha must be between 0 and 1, got {alpha:g}")
    if scope not in SCOPES:
        raise BenchError(f"--scope must be one of {', '.join(SCOPES)}, got {scope!r}")


def _finding(
    scope: str, strata: list[tuple[list[bool], list[bool]]], max_drop: float, alpha: float, n_boot: int, seed: int
) -> dict[str, Any]:
    r = compare_verdicts(strata, alpha, n_boot, seed)
    drop = 100 * r["diff"]
    p = mcnemar_one_sided(r["a_only"], r["b_only"])
    return {
        "scope": scope,
        "n": r["n"],
        "baseline": r["acc_a"],
        "candidate": r["acc_b"],
        "drop_pts": round(drop, 6),
        "drop_ci95_pts": [round(100 * x, 6) for x in r["diff_ci95"]],
        "losses": r["a_only"],
        "gains": r["b_only"],
        "p_one_sided": p,
        "regression": drop > max_drop and p < alpha,
    }


def run_gate(
    baseline: Evaluation,
    candidate: Evaluation,
    metric: str = "acc@t2",
    max_drop: float = 1.0,
    alpha: float = 0.05,
    scope: str = "both",
    n_boot: int = DEFAULT_BOOTSTRAP,
    seed: int = DEFAULT_SEED,
    allow_mismatch: bool = False,
) -> dict[str, Any]:
    check_settings(max_drop, alpha, scope)
    reason = compat.mismatch(baseline, candidate)
    if reason:
        raise BenchError(f"cannot gate {candidate.source} against {baseline.source}: {reason}")
    differs = settings_mismatch(baseline.meta.get("settings"), candidate.meta.get("settings"), "baseline", "candidate")
    if differs and not allow_mismatch:
        raise BenchError(
            f"cannot gate {candidate.source} against {baseline.source}: {differs}; pass "
            "--allow-mismatch to gate anyway (both settings are then printed)"
        )
    k = metric_round(metric, baseline.attempts)
    strata = {t: paired(baseline, candidate, t, k) for t in sorted(baseline.tasks)}
    findings = []
    if scope in ("both", "tasks"):
        findings += [_finding(t, [s], max_drop, alpha, n_boot, seed) for t, s in strata.items()]
    if scope in ("both", "overall"):
        findings.append(_finding("overall", list(strata.values()), max_drop, alpha, n_boot, seed))
    return {
        "metric": metric,
        "max_drop_pts": max_drop,
        "alpha": alpha,
        "scope": scope,
        "baseline": {"label": baseline.label, "source": baseline.source},
        "candidate": {"label": candidate.label, "source": candidate.source},
        "protocol": {
            "protocol": baseline.protocol,
            "attempts": baseline.attempts,
            "feedback_mode": baseline.feedback_mode,
        },
        "generation": {
            "baseline": describe(baseline.meta.get("settings")),
            "candidate": describe(candidate.meta.get("settings")),
            "mismatch": differs,
        },
        "findings": findings,
        "regression": any(f["regression"] for f in findings),
    }


def explain(result: dict[str, Any]) -> list[str]:
    """Readable lines for a CI log: the rule, one line per scope, the decision."""
    proto = result["protocol"]
    cap = caption(
        {"protocol": proto["protocol"], "feedback_mode": proto["feedback_mode"], "attempts": proto["attempts"]}
    )
    m, md, a = result["metric"], result["max_drop_pts"], result["alpha"]
    lines = [
        f"gate {m}: candidate {result['candidate']['label']} ({result['candidate']['source']}) vs baseline "
        f"{result['baseline']['label']} ({result['baseline']['source']})",
        cap,
        f"rule: regression = drop > {md:g} pts AND one-sided exact McNemar p < {a:g}",
    ]
    gen = result.get("generation")
    if gen:
        lines += [f"settings baseline:  {gen['baseline']}", f"settings candidate: {gen['candidate']}"]
        if gen.get("mismatch"):
            lines.append(f"WARNING: {gen['mismatch']} (gated anyway: --allow-mismatch)")
    width = max(len(f["scope"]) for f in result["findings"])
    for f in result["findings"]:
        change = signed(-f["drop_pts"] / 100)
        lines.append(
            f"  {f['scope']:<{width}}  n={f['n']:<5} {m} {pct(f['baseline'])} → {pct(f['candidate'])}  "
            f"change {change} pts {ci([-x / 100 for x in f['drop_ci95_pts'][::-1]], sign=True)}  "
            f"lost {f['losses']}, gained {f['gains']}  p={pvalue(f['p_one_sided'])}  "
            f"{'REGRESSION' if f['regression'] else 'ok'}"
        )
    bad = [f for f in result["findings"] if f["regression"]]
    if bad:
        for f in bad:
            lines.append(
                f"FAIL {f['scope']}: {m} fell {f['drop_pts']:.1f} pts (more than the allowed {md:g}); the "
                f"candidate lost {f['losses']} docs the baseline got right and gained {f['gains']}, "
                f"p = {pvalue(f['p_one_sided'])} < {a:g}"
            )
    else:
        lines.append(f"PASS: no significant regression of {m} beyond {md:g} pts (alpha {a:g})")
    return lines

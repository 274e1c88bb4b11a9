"""The report tables as header + rows of strings, built once from the board so Markdown and HTML agree."""

from __future__ import annotations

from typing import Any

from reflectevo_bench.leaderboards.fmt import ci, pct, pvalue, signed
from reflectevo_bench.leaderboards.modelsize import format_params

FEEDBACK_NOTE = {
    "oracle": "oracle feedback: the model is told when an attempt was wrong",
    "none": "no feedback: the model is not told whether it was right",
}


def caption(group: dict[str, Any]) -> str:
    mode = group["feedback_mode"]
    return (
        f"protocol={group['protocol']} · feedback={mode} · rounds={group['attempts']} ({FEEDBACK_NOTE.get(mode, mode)})"
    )


def method_line(settings: dict[str, Any]) -> str:
    """How the board's numbers were made: intervals, test, bootstrap and average (one sentence)."""
    s = settings
    return (
        f"CIs: {s['ci']}. Test: {s['test']}, α = {s['alpha']:g}; bootstrap {s['bootstrap']} resamples, "
        f"seed {s['seed']}. Average: {s['average']}."
    )


def board_notes(board: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The notes above the groups as (kind, bold lead, rest): the runs split into groups that cannot be compared
    (kind ""), generation settings that differ (kind "mismatch")."""
    notes = []
    if len(board["groups"]) > 1:
        notes.append(
            (
                "",
                f"{len(board['groups'])} groups of runs that cannot be compared with each other",
                "(different protocol, tasks, docs or prompts); each is shown apart.",
            )
        )
    if board.get("settings_mismatch"):
        notes.append(
            (
                "mismatch",
                "Generation settings differ (compared anyway, --allow-mismatch):",
                "; ".join(board["settings_mismatch"]),
            )
        )
    return notes


CONTROL_COLUMNS = (("reflection_gain", "reflect − retry @tK [95% CI]"), ("intrinsic_delta", "self-refine Δ [95% CI]"))


def _control_cell(entry: dict[str, Any] | None, task: str | None) -> str:
    """One control cell: the paired difference with its bootstrap CI (task None: pooled over all docs)."""
    if not entry:
        return "—"
    if "not_paired" in entry:
        return "not paired"
    r = entry["overall"] if task is None else entry["tasks"].get(task)
    return "—" if r is None else f"{signed(r['diff'])} {ci(r['diff_ci95'], sign=True)}"


def model_table(group: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    k_last = group["attempts"]
    rounds = [f"acc@t{k}" for k in range(1, k_last + 1)]
    header = (
        ["model", "role", "params", "task", "n"]
        + [f"{r} [95% CI]" for r in rounds]
        + [f"Δ t{k_last}−t1 [95% CI]", "w→r", "r→w"]
    )
    shown = [
        (key, title.replace("@tK", f"@t{k_last}"))
        for key, title in CONTROL_COLUMNS
        if any(key in (m.get("controls") or {}) for m in group["models"])
    ]
    header += [title for _, title in shown]
    rows = []
    for m in group["models"]:
        params = format_params(m["params"]) + ("≈" if m["params_source"] == "estimate" else "")
        extra = m.get("controls") or {}
        for task, t in m["tasks"].items():
            rows.append(
                [m["label"], m["role"], params, task, str(t["n"])]
                + [f"{pct(t[r])} {ci(t[r + '_ci95'])}" for r in rounds]
                + [
                    f"{signed(t['delta'])} {ci(t['delta_ci95'], sign=True)}",
                    str(t["wrong_to_right"]),
                    str(t["right_to_wrong"]),
                ]
                + [_control_cell(extra.get(key), task) for key, _ in shown]
            )
        a = m["average"]
        rows.append(
            [m["label"], m["role"], params, "average", str(a["n"])]
            + [pct(a[r]) for r in rounds]
            + [signed(a["delta"]), str(a["wrong_to_right"]), str(a["right_to_wrong"])]
            + [_control_cell(extra.get(key), None) for key, _ in shown]
        )
    return header, rows


def comparison_table(comp: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    ra, rb = comp["role_a"], comp["role_b"]
    header = [
        "task",
        "metric",
        "n",
        ra,
        rb,
        f"{ra} − {rb} [95% CI]",
        f"only {ra} right",
        f"only {rb} right",
        "McNemar p",
        "significant",
    ]
    rows = []
    for metric, res in comp["metrics"].items():
        for task, r in list(res["tasks"].items()) + [("all (pooled)", res["overall"])]:
            rows.append(
                [
                    task,
                    metric,
                    str(r["n"]),
                    pct(r["acc_a"]),
                    pct(r["acc_b"]),
                    f"{signed(r['diff'])} {ci(r['diff_ci95'], sign=True)}",
                    str(r["a_only"]),
                    str(r["b_only"]),
                    pvalue(r["mcnemar_p"]),
                    "yes" if r["significant"] else "no",
                ]
            )
    return header, rows


def control_lines(group: dict[str, Any]) -> list[str]:
    """Plain-language lines for the control columns, pooled over all docs (empty when no model has controls)."""
    lines = []
    for m in group["models"]:
        extra = m.get("controls") or {}
        parts = []
        gain = extra.get("reflection_gain")
        if gain and "not_paired" in gain:
            parts.append(f"reflection gain over retry not paired: {gain['not_paired']}")
        elif gain:
            r = gain["overall"]
            parts.append(
                f"{gain['metric']} under {gain['protocol']} − under {gain['control']}: {signed(r['diff'])} "
                f"{ci(r['diff_ci95'], sign=True)} (exact McNemar p = {pvalue(r['mcnemar_p'])}, n = {r['n']})"
            )
        intr = extra.get("intrinsic_delta")
        if intr:
            r = intr["overall"]
            parts.append(
                f"intrinsic Δ under self-refine (no feedback): {signed(r['diff'])} "
                f"{ci(r['diff_ci95'], sign=True)} (p = {pvalue(r['mcnemar_p'])}, n = {r['n']})"
            )
        if parts:
            lines.append(f"{m['role']} {m['label']}: " + "; ".join(parts))
    return lines


def settings_lines(group: dict[str, Any]) -> list[str]:
    """Each model's generation settings (max tokens, sampling, temperature, chat template, feedback mode)."""
    return [f"{m['label']}: {m.get('generation') or 'settings not recorded'}" for m in group["models"]]


def analytics_table(group: dict[str, Any]) -> tuple[list[str], list[list[str]]] | None:
    """Reflection analytics per model, all docs pooled (docs/analytics.md); None when no model has them."""
    models = [m for m in group["models"] if (m.get("meta") or {}).get("reflection_analytics")]
    if not models:
        return None

    def rate(x: Any) -> str:
        return "—" if x is None else pct(x)

    header = [
        "model",
        "reflections",
        "tokens (mean)",
        "states an answer %",
        "retry repeats failed answer %",
        "wrong→right by feedback kind",
        "retry pass by reflection tokens",
    ]
    rows = []
    for m in models:
        a = m["meta"]["reflection_analytics"]
        tokens = "—" if a.get("reflection_tokens_mean") is None else f"{a['reflection_tokens_mean']:.1f}"
        rows.append(
            [
                m["label"],
                str(a["reflections"]),
                tokens,
                rate(a.get("states_answer_rate")),
                rate(a.get("repeats_failed_rate")),
                ", ".join(f"{k} {v['wrong_to_right']}/{v['retries']}" for k, v in a["by_feedback"].items()) or "—",
                ", ".join(f"{k} {v['passed']}/{v['retries']}" for k, v in a["by_length"].items()) or "—",
            ]
        )
    return header, rows


def group_heading(group: dict[str, Any]) -> str:
    """A group named by what its runs share (protocol, feedback, tasks), not by its number."""
    return f"{group['protocol']} · feedback={group['feedback_mode']} · {', '.join(group['tasks'])}"

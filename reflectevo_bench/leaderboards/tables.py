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
    return (f"protocol={group['protocol']} · feedback={mode} · rounds={group['attempts']} "
            f"({FEEDBACK_NOTE.get(mode, mode)})")


def model_table(group: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    k_last = group["attempts"]
    rounds = [f"acc@t{k}" for k in range(1, k_last + 1)]
    header = ["model", "role", "params", "task", "n"] + [f"{r} [95% CI]" for r in rounds] + \
             [f"Δ t{k_last}−t1 [95% CI]", "w→r", "r→w"]
    rows = []
    for m in group["models"]:
        params = format_params(m["params"]) + ("≈" if m["params_source"] == "estimate" else "")
        for task, t in m["tasks"].items():
            rows.append([m["label"], m["role"], params, task, str(t["n"])]
                        + [f"{pct(t[r])} {ci(t[r + '_ci95'])}" for r in rounds]
                        + [f"{signed(t['delta'])} {ci(t['delta_ci95'], sign=True)}",
                           str(t["wrong_to_right"]), str(t["right_to_wrong"])])
        a = m["average"]
        rows.append([m["label"], m["role"], params, "average", str(a["n"])] + [pct(a[r]) for r in rounds]
                    + [signed(a["delta"]), str(a["wrong_to_right"]), str(a["right_to_wrong"])])
    return header, rows


def comparison_table(comp: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    ra, rb = comp["role_a"], comp["role_b"]
    header = ["task", "metric", "n", ra, rb, f"{ra} − {rb} [95% CI]", f"only {ra} right", f"only {rb} right",
              "McNemar p", "significant"]
    rows = []
    for metric, res in comp["metrics"].items():
        for task, r in list(res["tasks"].items()) + [("all (pooled)", res["overall"])]:
            rows.append([task, metric, str(r["n"]), pct(r["acc_a"]), pct(r["acc_b"]),
                         f"{signed(r['diff'])} {ci(r['diff_ci95'], sign=True)}", str(r["a_only"]),
                         str(r["b_only"]), pvalue(r["mcnemar_p"]), "yes" if r["significant"] else "no"])
    return header, rows

"""The results summary a run or ``results`` prints: a rich table on a terminal, a Markdown table (as lm-eval
prints) where there is no TTY, or JSON. Group rows (``groups`` in results.json) come first, their tasks under
them as ``- task``; names are never cut."""

from __future__ import annotations

import json
from typing import Any

FORMATS = ("auto", "table", "md", "json")


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _acc(m: dict[str, Any], k: int) -> str:
    lo, hi = m[f"acc@t{k}_ci95"]
    return f"{_pct(m[f'acc@t{k}'])} [{_pct(lo)}, {_pct(hi)}]"


def summary_header(results: dict[str, Any]) -> list[str]:
    attempts = results["attempts"]
    columns = ["task", "n", "acc@t1 [95% CI]"]
    if attempts > 1:
        columns += [f"acc@t{attempts} [95% CI]", "Δ (pts)", "w→r", "r→w"]
    return columns + ["feedback"]


def _row(name: str, m: dict[str, Any], attempts: int) -> list[str]:
    row = [name, str(m["n"]), _acc(m, 1)]
    if attempts > 1:
        row += [_acc(m, attempts), f"{100 * m['delta']:+.1f}", str(m["wrong_to_right"]), str(m["right_to_wrong"])]
    return row + [str(m["feedback"])]


def summary_rows(results: dict[str, Any]) -> list[list[str]]:
    """Each group's row, then its tasks as ``- task``; then the tasks of no group."""
    attempts, tasks, groups = results["attempts"], results["results"], results.get("groups") or {}
    rows, grouped = [], set()
    for name, g in groups.items():
        rows.append(_row(name, g, attempts))
        for task in g["tasks"]:
            if task in tasks:
                rows.append(_row(f" - {task}", tasks[task], attempts))
                grouped.add(task)
    rows += [_row(task, m, attempts) for task, m in tasks.items() if task not in grouped]
    return rows


def title(results: dict[str, Any]) -> str:
    return f"protocol={results['protocol']}  attempts={results['attempts']}  feedback={results['feedback_mode']}"


def markdown_table(results: dict[str, Any]) -> str:
    header = summary_header(results)

    def line(cells: list[str]) -> str:
        return "|" + "|".join(c.replace("|", "\\|") for c in cells) + "|"

    align = ["---" if h in ("task", "feedback") else "--:" for h in header]
    return "\n".join([title(results), "", line(header), line(align), *(line(r) for r in summary_rows(results))])


def summary_json(results: dict[str, Any]) -> str:
    keep = ("protocol", "attempts", "feedback_mode", "results", "groups", "complete")
    return json.dumps({k: results[k] for k in keep if k in results}, indent=2, ensure_ascii=False)


def print_summary(console: Any, results: dict[str, Any], fmt: str = "auto") -> None:
    """``auto``: the rich table on a terminal, Markdown otherwise (CI logs: nothing wraps or is cut)."""
    if fmt == "auto":
        fmt = "table" if console.is_terminal else "md"
    if fmt == "table":
        from reflectevo_bench.harness.progress import summary_table

        console.print(summary_table(results))
    else:
        text = markdown_table(results) if fmt == "md" else summary_json(results)
        console.print(text, markup=False, highlight=False, soft_wrap=True)

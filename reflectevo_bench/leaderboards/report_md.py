"""``leaderboard.md``: compact Markdown for a PR comment (tables and plain-language comparison lines)."""

from __future__ import annotations

from typing import Any

from reflectevo_bench.leaderboards.tables import (
    analytics_table,
    board_notes,
    caption,
    comparison_table,
    control_lines,
    group_heading,
    method_line,
    model_table,
    settings_lines,
)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    out += ["| " + " | ".join(esc(c) for c in row) + " |" for row in rows]
    return out


def render_md(board: dict[str, Any]) -> str:
    lines = [
        "# Reflection leaderboard",
        "",
        f"{method_line(board['settings'])} Plots: leaderboard.html.",
        "",
    ]
    for _, lead, rest in board_notes(board):
        lines += [f"**{lead}** {rest}", ""]
    for g in board["groups"]:
        cap = caption(g)
        lines += [f"## {group_heading(g)}", "", f"**{cap}**", ""]
        lines += _table(*model_table(g)) + [""]
        lines += ["Generation settings:", ""] + [f"- {line}" for line in settings_lines(g)] + [""]
        if analytics_table(g):
            lines += ["### Reflection analytics (all docs pooled; docs/analytics.md)", ""]
            lines += _table(*analytics_table(g)) + [""]
        if control_lines(g):
            lines += ["### Reflection vs its controls (paired, all docs pooled)", ""]
            lines += [f"- {line}" for line in control_lines(g)] + [""]
        if g["comparisons"]:
            lines += ["### Paired comparisons on shared docs", ""]
            lines += [f"- {c['summary']}" for c in g["comparisons"]] + [""]
            for c in g["comparisons"]:
                lines += [
                    f"<details><summary>{c['kind']}: {c['a']} vs {c['b']}, per task and round</summary>",
                    "",
                    f"**{cap}**",
                    "",
                ]
                lines += _table(*comparison_table(c)) + ["", "</details>", ""]
    if board["not_compared"]:
        lines += ["## Not compared", ""]
        lines += [f"- {n['kind']}: {n['a']} vs {n['b']}: {n['reason']}" for n in board["not_compared"]] + [""]
    return "\n".join(lines)

"""``leaderboard.html``: one self-contained file (inline CSS, plots as base64 PNG; no scripts, no network)."""

from __future__ import annotations

import base64
import os
from html import escape
from pathlib import Path
from typing import Any

from reflectevo_bench.leaderboards.plots import group_plots
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

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:14px}
caption{text-align:left;font-weight:600;padding:4px 0;color:#333}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f2f2f2}td:nth-child(-n+4){text-align:left}
tr.average td{font-weight:600;background:#fafafa}
.summary li{margin:4px 0}.note{color:#555}
figure{display:inline-block;margin:0 1em 1em 0;vertical-align:top}
figure img{max-width:640px;border:1px solid #ddd}
"""


def _table(header: list[str], rows: list[list[str]], cap: str, cls: str, table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        attr = ' class="average"' if len(row) > 3 and row[3] == "average" and cls == "models" else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    return (
        f'<table class="{cls}" id="{table_id}"><caption>{escape(cap)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


VIEW_FILE = "view.html"  # what `reflectevo-bench view RUN_DIR` writes by default


def view_links(models: list[dict[str, Any]], out_dir: Path | None) -> list[tuple[str, str]]:
    """(label, href) for each run that has a transcript view (RUN_DIR/view.html): relative to the report's folder
    when it is known, else a file URI."""
    links = []
    for m in models:
        page = Path(m["source"]) / VIEW_FILE
        if m.get("kind") != "run" or not page.is_file():
            continue
        href = (
            Path(os.path.relpath(page.resolve(), out_dir.resolve())).as_posix()
            if out_dir is not None
            else page.resolve().as_uri()
        )
        links.append((m["label"], href))
    return links


def render_html(board: dict[str, Any], title: str = "Reflection leaderboard", out_dir: Path | None = None) -> str:
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f"<p class='note'>{escape(method_line(board['settings']))} Generated {escape(board['generated'])}.</p>",
    ]
    for kind, lead, rest in board_notes(board):
        attr = f" class='{kind}'" if kind else ""
        parts.append(f"<p{attr}><strong>{escape(lead)}</strong> {escape(rest)}</p>")
    for g in board["groups"]:
        cap = caption(g)
        gid = g["id"]
        parts.append(f"<section id='group-{gid}'><h2>{escape(group_heading(g))}</h2>")
        parts.append(_table(*model_table(g), cap, "models", f"models-{gid}"))
        parts.append(
            "<ul class='gen-settings'>" + "".join(f"<li>{escape(line)}</li>" for line in settings_lines(g)) + "</ul>"
        )
        if analytics_table(g):
            parts.append(
                _table(
                    *analytics_table(g),
                    f"reflection analytics, all docs pooled — {cap}",
                    "analytics",
                    f"analytics-{gid}",
                )
            )
        links = view_links(g["models"], out_dir)
        if links:
            parts.append(
                "<p class='views'>Transcripts: "
                + ", ".join(f"<a href='{escape(href)}'>{escape(label)}</a>" for label, href in links)
                + "</p>"
            )
        if control_lines(g):
            parts.append("<h3>Reflection vs its controls (paired, all docs pooled)</h3><ul class='controls'>")
            parts += [f"<li>{escape(line)}</li>" for line in control_lines(g)]
            parts.append("</ul>")
        if g["comparisons"]:
            parts.append("<h3>Paired comparisons on shared docs</h3><ul class='summary'>")
            parts += [f"<li>{escape(c['summary'])}</li>" for c in g["comparisons"]]
            parts.append("</ul>")
            for j, c in enumerate(g["comparisons"], 1):
                parts.append(
                    _table(
                        *comparison_table(c),
                        f"{c['kind']}: {c['a']} vs {c['b']} — {cap}",
                        "comparison",
                        f"comparison-{gid}-{j}",
                    )
                )
        parts.append("<h3>Plots</h3><div class='plots'>")
        for pid, ptitle, png in group_plots(g):
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure id='{pid}'><img alt='{escape(ptitle)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{escape(ptitle)} — {escape(cap)}</figcaption></figure>"
            )
        parts.append("</div></section>")
    if board["not_compared"]:
        parts.append("<h2>Not compared</h2><ul>")
        parts += [
            f"<li>{escape(n['kind'])}: {escape(n['a'])} vs {escape(n['b'])}: {escape(str(n['reason']))}</li>"
            for n in board["not_compared"]
        ]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)

"""The leaderboard's plots as PNG bytes (matplotlib, Agg canvas; no pyplot global state).

Per group: acc@t1 vs acc@tK per model and task, Δ per model (with 95% CIs), and wrong→right vs right→wrong.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

MARKERS = "osD^vP*Xh<>"
DPI = 100


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def accuracy_scatter(group: dict[str, Any]) -> bytes:
    k = group["attempts"]
    fig = Figure(figsize=(6.4, 4.8))
    ax = fig.add_subplot()
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--", label="no change")
    n = len(group["models"])
    for i, (color, m) in enumerate(zip(_colors(n), group["models"])):
        shift = (i - (n - 1) / 2) * 0.8  # models that land on one point stay visible side by side
        for j, (task, t) in enumerate(m["tasks"].items()):
            ax.scatter(
                100 * t["acc@t1"] + shift,
                100 * t[f"acc@t{k}"] + shift,
                color=color,
                marker=MARKERS[j % len(MARKERS)],
                s=50,
                alpha=0.8,
                edgecolors="black",
                linewidths=0.5,
                label=f"{m['label']} · {task}",
            )
    ax.set(
        xlim=(-2, 102),
        ylim=(-2, 102),
        xlabel="acc@t1 (%)",
        ylabel=f"acc@t{k} (%)",
        title=f"acc@t1 vs acc@t{k} ({group['protocol']}, feedback={group['feedback_mode']}; "
        f"models offset {0.8:g} pt apart)"
        if n > 1
        else f"acc@t1 vs acc@t{k} ({group['protocol']}, feedback={group['feedback_mode']})",
    )
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return _png(fig)


def _grouped_bars(ax: Any, group: dict[str, Any], values: Any, errors: Any = None) -> None:
    models, tasks = group["models"], group["tasks"] + ["average"]
    width = 0.8 / len(tasks)
    for j, (color, task) in enumerate(zip(_colors(len(tasks)), tasks)):
        xs = [i + (j - (len(tasks) - 1) / 2) * width for i in range(len(models))]
        ys = [values(m, task) for m in models]
        err = None
        if errors is not None and task != "average":
            bounds = [errors(m, task) for m in models]
            err = [
                [max(0.0, y - lo) for y, (lo, _) in zip(ys, bounds)],
                [max(0.0, hi - y) for y, (_, hi) in zip(ys, bounds)],
            ]
        ax.bar(xs, ys, width, color=color, label=task, yerr=err, capsize=2 if err else 0)
    ax.set_xticks(range(len(models)), [m["label"] for m in models], rotation=20, ha="right", fontsize=8)
    ax.axhline(0, color="black", lw=0.8)
    ax.legend(fontsize=7)


def delta_bars(group: dict[str, Any]) -> bytes:
    k = group["attempts"]
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()

    def value(m: dict[str, Any], task: str) -> float:
        return 100 * (m["average"]["delta"] if task == "average" else m["tasks"][task]["delta"])

    def error(m: dict[str, Any], task: str) -> tuple[float, float]:
        lo, hi = m["tasks"][task]["delta_ci95"]
        return (100 * lo, 100 * hi)

    _grouped_bars(ax, group, value, error)
    ax.set(
        ylabel="Δ (points)",
        title=f"Δ = acc@t{k} − acc@t1 per model (task bars: 95% CI; feedback={group['feedback_mode']})",
    )
    return _png(fig)


def flip_bars(group: dict[str, Any]) -> bytes:
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    models = group["models"]
    for i, m in enumerate(models):
        wr = [t["wrong_to_right"] for t in m["tasks"].values()]
        rw = [t["right_to_wrong"] for t in m["tasks"].values()]
        bottom_up = bottom_down = 0
        for color, task, up, down in zip(_colors(len(wr)), m["tasks"], wr, rw):
            ax.bar(i, up, 0.6, bottom=bottom_up, color=color, label=task if i == 0 else None)
            ax.bar(i, -down, 0.6, bottom=-bottom_down, color=color, hatch="//", edgecolor="white")
            bottom_up += up
            bottom_down += down
    ax.axhline(0, color="black", lw=0.8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{abs(v):g}"))
    ax.set_xticks(range(len(models)), [m["label"] for m in models], rotation=20, ha="right", fontsize=8)
    ax.set(
        ylabel="docs: wrong→right (up), right→wrong (down, hatched)",
        title=f"wrong→right vs right→wrong, attempt 1 → {group['attempts']} ({group['protocol']})",
    )
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor="lightgrey", hatch="//", edgecolor="white"))
    labels.append("right→wrong")
    ax.legend(handles, labels, fontsize=7, title="task (stacked)", title_fontsize=7)
    return _png(fig)


def gain_bars(group: dict[str, Any]) -> bytes | None:
    """The reflection gain over the retry control per model, pooled over all docs, with its bootstrap 95% CI
    (None when no model of the group has a paired retry control)."""
    rows = [
        (m["label"], m["controls"]["reflection_gain"])
        for m in group["models"]
        if "overall" in ((m.get("controls") or {}).get("reflection_gain") or {})
    ]
    if not rows:
        return None
    fig = Figure(figsize=(6.4, 0.6 * len(rows) + 1.6))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))
    diffs = [100 * g["overall"]["diff"] for _, g in rows]
    lo = [d - 100 * g["overall"]["diff_ci95"][0] for d, (_, g) in zip(diffs, rows)]
    hi = [100 * g["overall"]["diff_ci95"][1] - d for d, (_, g) in zip(diffs, rows)]
    ax.barh(ys, diffs, xerr=[lo, hi], color=_colors(len(rows)), capsize=4)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(ys, [label for label, _ in rows])
    metric = rows[0][1]["metric"]
    ax.set(
        xlabel=f"{metric} under {rows[0][1]['protocol']} − under retry (points)",
        title=f"Reflection gain over the retry control ({metric}, all docs pooled, 95% CI)",
    )
    return _png(fig)


def group_plots(group: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """(id, title, PNG) for each plot of one group."""
    k = group["attempts"]
    g = group["id"]
    plots = [
        (f"g{g}-accuracy", f"acc@t1 vs acc@t{k} per model and task", accuracy_scatter(group)),
        (f"g{g}-delta", "Δ per model", delta_bars(group)),
        (f"g{g}-flips", "wrong→right vs right→wrong", flip_bars(group)),
    ]
    gain = gain_bars(group)
    if gain is not None:
        plots.append((f"g{g}-gain", "reflection gain over retry per model", gain))
    return plots

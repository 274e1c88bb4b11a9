"""rich progress per phase (docs done/total, tokens/s, ETA) and the final summary table."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table


class RunProgress:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self._task: Any = None
        self._tokens = 0
        self._start = 0.0

    def __enter__(self) -> "RunProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def start_phase(self, name: str, total: int) -> None:
        self._tokens, self._start = 0, time.perf_counter()
        self._task = self.progress.add_task(name, total=total, rate="")

    def advance(self, completion_tokens: int | None) -> None:
        self._tokens += completion_tokens or 0
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        self.progress.update(self._task, advance=1, rate=f"{self._tokens / elapsed:,.1f} tok/s")

    def end_phase(self) -> None:
        self._task = None


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def summary_table(results: dict[str, Any]) -> Table:
    attempts = results["attempts"]
    table = Table(title=f"protocol={results['protocol']}  attempts={attempts}  feedback={results['feedback_mode']}")
    columns = ["task", "n", "acc@t1 [95% CI]"]
    if attempts > 1:
        columns += [f"acc@t{attempts} [95% CI]", "Δ (pts)", "w→r", "r→w"]
    for col in columns + ["feedback"]:
        table.add_column(col, justify="left" if col in ("task", "feedback") else "right")
    for task, m in results["results"].items():
        row = [task, str(m["n"]), _acc(m, 1)]
        if attempts > 1:
            row += [_acc(m, attempts), f"{100 * m['delta']:+.1f}", str(m["wrong_to_right"]), str(m["right_to_wrong"])]
        table.add_row(*row, m["feedback"])
    return table


def _acc(m: dict[str, Any], k: int) -> str:
    lo, hi = m[f"acc@t{k}_ci95"]
    return f"{_pct(m[f'acc@t{k}'])} [{_pct(lo)}, {_pct(hi)}]"

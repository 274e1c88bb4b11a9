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


def summary_table(results: dict[str, Any]) -> Table:
    from reflectevo_bench.harness.summary import summary_header, summary_rows, title

    table = Table(title=title(results))
    for col in summary_header(results):
        table.add_column(col, justify="left" if col in ("task", "feedback") else "right",
                         no_wrap=col == "task", overflow="fold")
    for row in summary_rows(results):
        table.add_row(*row)
    return table

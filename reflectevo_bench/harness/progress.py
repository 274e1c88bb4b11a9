"""Live progress of a run (per phase and chunk: requests done, generated tokens, token rate, an ETA from tokens)
and the final summary table.

On a terminal a rich bar moves as the backend reports each finished request (HF: each finished batch). Where there
is no terminal (CI logs, a pipe) a bar would only show up at its end, so each phase prints one plain line when it
starts and one when it ends instead."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table


def token_eta(done: int, total: int, tokens: int, elapsed: float) -> float | None:
    """Seconds left: the requests still to come times the mean generated tokens of those finished, at the token
    rate so far. None until a request has finished with a token count (nothing to estimate from)."""
    if done <= 0 or tokens <= 0 or elapsed <= 0:
        return None
    rate = tokens / elapsed
    return max(total - done, 0) * (tokens / done) / rate


def clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class RunProgress:
    """The engine calls ``start_chunk`` per chunk, ``start_phase``/``end_phase`` around each backend call, and the
    backend calls ``advance`` with each finished request's generated-token count (None where unknown)."""

    def __init__(self, console: Console, live: bool | None = None) -> None:
        self.console = console
        self.live = console.is_terminal if live is None else live
        self.progress = (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[tokens]}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA {task.fields[eta]}"),
                console=console,
                transient=False,
            )
            if self.live
            else None
        )
        self._task: Any = None
        self._tokens = 0
        self._done = 0
        self._total = 0
        self._start = 0.0
        self._chunk, self._chunks, self._phases, self._phase = 1, 1, 0, 0
        self._name = ""

    def __enter__(self) -> RunProgress:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def start_chunk(self, number: int, chunks: int, phases: int) -> None:
        """Chunk ``number`` of ``chunks`` begins; it runs at most ``phases`` backend phases."""
        self._chunk, self._chunks, self._phases, self._phase = number, chunks, phases, 0

    def label(self) -> str:
        where = f"phase {self._phase}/{max(self._phases, self._phase)}" if self._phases else f"phase {self._phase}"
        return f"{where}, chunk {self._chunk}/{self._chunks}: {self._name}"

    def start_phase(self, name: str, total: int) -> None:
        self._phase += 1
        self._name = name.split(" (chunk ")[0]  # the engine's own chunk suffix: the label says it already
        self._tokens, self._done, self._total, self._start = 0, 0, total, time.perf_counter()
        if self.progress is not None:
            self._task = self.progress.add_task(self.label(), total=total, tokens="0 tok", rate="", eta=clock(None))
        else:
            self.console.print(f"{self.label()}: {total} requests", highlight=False, soft_wrap=True)

    def advance(self, completion_tokens: int | None) -> None:
        self._tokens += completion_tokens or 0
        self._done += 1
        if self.progress is None or self._task is None:
            return
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        self.progress.update(
            self._task,
            advance=1,
            tokens=f"{self._tokens:,} tok",
            rate=f"{self._tokens / elapsed:,.1f} tok/s",
            eta=clock(token_eta(self._done, self._total, self._tokens, elapsed)),
        )

    def end_phase(self) -> None:
        elapsed = time.perf_counter() - self._start
        if self.progress is not None and self._task is not None:
            self.progress.update(self._task, eta=clock(0))
        elif self.progress is None:
            rate = self._tokens / elapsed if elapsed > 0 else 0.0
            self.console.print(
                f"{self.label()}: done {self._done}/{self._total} requests, {self._tokens:,} tokens, "
                f"{rate:,.1f} tok/s, {elapsed:.1f}s",
                highlight=False,
                soft_wrap=True,
            )
        self._task = None


def summary_table(results: dict[str, Any]) -> Table:
    from reflectevo_bench.harness.summary import summary_header, summary_rows, title

    table = Table(title=title(results))
    for col in summary_header(results):
        table.add_column(
            col, justify="left" if col in ("task", "feedback") else "right", no_wrap=col == "task", overflow="fold"
        )
    for row in summary_rows(results):
        table.add_row(*row)
    return table

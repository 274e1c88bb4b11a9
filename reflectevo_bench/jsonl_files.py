"""Reading a JSON-lines file a user hands over (data dirs, predictions, released datasets, local benchmark files):
one clear line naming the file and line when a line is not JSON. Run records have their own reader
(``harness/records.py``: torn last lines, record shapes)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line


def numbered_lines(lines: Iterable[str], path: Path | str, what: str = "") -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank line of ``path``'s ``lines``; ``what`` names the file in the
    error ("data file", "--predictions", ...)."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            label = f"{what} {path}" if what else str(path)
            raise BenchError(f"{label} line {number} is not valid JSON: {one_line(exc, 200)}") from None
        yield number, value


def read_numbered(path: Path | str, what: str = "") -> Iterator[tuple[int, Any]]:
    """:func:`numbered_lines` of a UTF-8 file (a file that is not UTF-8 is one line too)."""
    try:
        with open(path, encoding="utf-8") as fh:
            yield from numbered_lines(fh, path, what)
    except UnicodeDecodeError as exc:
        raise BenchError(f"{what + ' ' if what else ''}{path} is not UTF-8 text: {one_line(exc, 200)}") from None

"""Local-or-hub data loading for ``custom_dataset`` hooks.

lm-eval calls a task's ``custom_dataset`` with the task's ``metadata`` as keyword arguments; our TaskManager adds
``data_dir=<abs path>`` when the user passes ``--data-dir`` (with stock lm-eval: ``--metadata '{"data_dir": ...}'``).
With ``data_dir`` the file is read from ``<data_dir>/<relative file>`` in the dataset's own schema; without it the
hub copy is loaded, and an offline machine gets one clear line saying which file to provide instead.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.jsonl_files import numbered_lines

Rows = list[dict[str, Any]]


def read_records(path: Path) -> Rows:
    """Records of a JSON-lines file, a JSON array, or a JSON object with an ``examples`` list (BIG-bench, BBH).

    BFCL's ``.json`` files are JSON lines despite the suffix: a file that does not parse as one JSON value is
    read line by line. ``.gz`` files are decompressed.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise BenchError(f"cannot read data file {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, EOFError) as exc:  # not UTF-8 text, or a torn .gz
        raise BenchError(f"data file {path} is not readable text: {one_line(exc, 200)}") from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            value = value["examples"] if isinstance(value.get("examples"), list) else [value]
        if isinstance(value, list):
            return [_record(row, path, f"record {i}") for i, row in enumerate(value, 1)]
    return [_record(row, path, f"line {n}") for n, row in numbered_lines(text.splitlines(), path, "data file")]


def _record(row: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise BenchError(f"data file {path} {where} is not a JSON object (a dataset row)")
    return dict(row)


def local_file(data_dir: str | Path, relative: str, task: str, alternatives: Iterable[str] = ()) -> Path:
    """``<data_dir>/<relative>`` (or the first existing alternative); one clear error naming the expected path."""
    base = Path(data_dir).expanduser()
    alternatives = list(alternatives)
    for rel in (relative, *alternatives):
        path = base / rel
        if path.is_file():
            return path
    others = f" (or {' or '.join(alternatives)})" if alternatives else ""
    raise BenchError(
        f"task '{task}': data file {base / relative} not found: --data-dir must point at a folder "
        f"holding {relative}{others}"
    )


def hub_rows(
    task: str, path: str, name: str | None = None, split: str = "test", local_hint: str = "", **kwargs: Any
) -> Rows:
    """Rows of a hub dataset split; offline (or any loading failure) becomes one BenchError line."""
    try:
        import datasets

        ds = datasets.load_dataset(path, name, split=split, **kwargs)
    except Exception as exc:  # offline: ConnectionError, DatasetNotFoundError, OfflineModeIsEnabled, ...
        reason = one_line(exc, 160, with_type=True)
        raise BenchError(
            f"task '{task}': dataset {path}{f' ({name})' if name else ''} is not available offline "
            f"or could not be loaded ({reason}): pass --data-dir pointing at a folder with {local_hint}"
        ) from None
    return [dict(r) for r in ds]


def to_dataset_dict(splits: dict[str, Rows]):
    """A ``datasets.DatasetDict`` with one ``Dataset`` per split (rows as given)."""
    import datasets

    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})


def load_rows(
    task: str,
    data_dir: str | None,
    local: str,
    *,
    hub: dict[str, Any] | None = None,
    alternatives: Iterable[str] = (),
    reader: Callable[[Path], Rows] = read_records,
) -> Rows:
    """Rows from ``<data_dir>/<local>`` when ``data_dir`` is set, else from the hub (``hub`` = load_dataset kwargs)."""
    if data_dir:
        return reader(local_file(data_dir, local, task, alternatives))
    if not hub:
        raise BenchError(f"task '{task}' has no hub copy: pass --data-dir pointing at a folder with {local}")
    return hub_rows(task, local_hint=local, **hub)


def limit_rows(rows: Rows, num_examples: Any) -> Rows:
    """The first ``num_examples`` rows (None/0/'all' keeps every row)."""
    if num_examples in (None, "", 0, "all"):
        return rows
    return rows[: int(num_examples)]


def chosen_names(task: str, chosen: Any, known: Iterable[str], what: str, key: str) -> list[str]:
    """The ``what`` names a task's metadata ``key`` picks from ``known``: one name or a list (None, '' or 'all':
    every one); an unknown name is one clear error."""
    known = list(known)
    if chosen in (None, "", "all"):
        return known
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise BenchError(f"task '{task}': unknown {what}(s) {unknown} in metadata.{key}; choose from {known}")
    return names

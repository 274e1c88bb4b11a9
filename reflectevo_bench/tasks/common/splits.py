"""Loading one split of a multi-split task, and keeping train items out of a fixed test set.

A ``custom_dataset`` hook returns every split at once, so a task YAML with ``training_split: train`` and
``test_split: test`` would download its training set for every test run. ``load_split`` loads only the split the
run asked for (``load_eval_tasks`` passes it as the ``requested_split`` metadata key; stock lm-eval passes nothing:
the test split) and fills every other split the YAML names with that split's first row: lm-eval's task
constructor reads one doc of the test split and builds its few-shot sampler from the training split, but the run
reads only the split it asked for (the same placeholder rule as ``registry.load_lm_eval_task_on_rows``).

``content_key`` is how "the same item" is decided: the text, lower-cased, with all whitespace collapsed, hashed.
``drop_test_items`` removes train rows whose key is one of a test set's keys (``reflectevo_test_keys.json``: keys,
not data, of the ReflectEvo 500-item test files; rebuilt by ``write_test_keys``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.data import Rows, limit_rows, load_rows, read_records, to_dataset_dict

KEYS_FILE = Path(__file__).with_name("reflectevo_test_keys.json")
SPLIT_KEY = "requested_split"


def content_key(text: str) -> str:
    """A short hash of ``text`` lower-cased with whitespace collapsed."""
    norm = re.sub(r"\s+", " ", str(text)).strip().lower()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:20]


def question_body(question: str) -> str:
    """A ReflectEvo question without its trailing options block (``Options:`` line or ``A.``-style lines) and
    without a trailing ``Answer:``/``A:`` cue: the part that identifies the item whatever the option layout."""
    text = str(question).replace("\r\n", "\n").rstrip()
    text = re.split(r"\n\s*Options:\s*\n", text, maxsplit=1)[0]
    lines = text.split("\n")
    while lines and re.match(r"^\s*(\(?[A-Ea-e][.)．]|\s*$)", lines[-1]) and len(lines) > 1:
        lines.pop()
    text = "\n".join(lines)
    return re.sub(r"\n\s*(Answer|A)\s*:\s*$", "", text).strip()


@lru_cache(maxsize=1)
def _test_keys() -> dict[str, frozenset[str]]:
    try:
        raw = json.loads(KEYS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read the test-set keys {KEYS_FILE}: {exc}") from None
    return {task: frozenset(keys) for task, keys in raw["keys"].items()}


def held_out_keys(task: str) -> frozenset[str]:
    return _test_keys().get(task, frozenset())


def drop_test_items(task: str, rows: Rows, text_of: Callable[[dict[str, Any]], str]) -> Rows:
    """``rows`` without the items whose ``content_key(text_of(row))`` is in ``task``'s test keys."""
    keys = held_out_keys(task)
    return [r for r in rows if content_key(text_of(r)) not in keys]


def write_test_keys(files: dict[str, tuple[Path, Callable[[dict[str, Any]], str]]], out: Path = KEYS_FILE) -> None:
    """Rebuild the key file from the test files (task -> (file, text of a row))."""
    keys = {
        task: sorted({content_key(text_of(r)) for r in read_records(path)})
        for task, (path, text_of) in sorted(files.items())
    }
    body = {
        "about": "content_key() of every item of the ReflectEvo test files (bigai-nlco/ReflectEvo "
        "data/data_source/<task>_test.jsonl); train splits leave these items out",
        "keys": keys,
    }
    out.write_text(json.dumps(body, indent=0, sort_keys=True) + "\n", encoding="utf-8")


def load_split(
    task: str,
    loaders: dict[str, Callable[[], Rows]],
    requested: str | None,
    num_examples: Any,
    named: Iterable[str] = ("train", "test"),
):
    """A DatasetDict whose ``requested`` split (default ``test``) holds ``loaders[requested]()`` and whose other
    ``named`` splits hold that split's first row (placeholders: see the module docstring)."""
    wanted = requested or "test"
    if wanted not in loaders:
        return to_dataset_dict({"test": limit_rows(loaders["test"](), num_examples)})  # lm-eval names the error
    rows = limit_rows(loaders[wanted](), num_examples)
    if not rows:
        raise BenchError(f"task '{task}': split '{wanted}' holds no rows")
    splits = {name: rows[:1] for name in named}
    splits[wanted] = rows
    return to_dataset_dict(splits)


def load_reflectevo_split(
    task: str,
    data_dir: str | None,
    train: Callable[[], Rows],
    meta: dict[str, Any],
    num_examples: Any,
    hub: dict[str, Any] | None = None,
):
    """A ReflectEvo task ``<family>_reflectevo``: test = ``<data_dir>/reflectevo/<family>_test.jsonl`` (``hub``:
    load_dataset kwargs of a stand-in without --data-dir), train = ``train()``; only the split the run asked for
    (``meta``'s requested split) is loaded."""
    family = task.removesuffix("_reflectevo")
    test = f"reflectevo/{family}_test.jsonl"
    return load_split(
        task,
        {"test": lambda: load_rows(task, data_dir, test, hub=hub), "train": train},
        meta.get(SPLIT_KEY),
        num_examples,
    )

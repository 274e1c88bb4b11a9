"""A data dir (what `data build` and `data import` write, `train` and `experiment` read): the data kinds and their
columns (the one list, read by the trainer registry too), the card's file name, reading and writing.

A data dir holds ``train.jsonl``, ``eval.jsonl`` and ``card.json`` (written last; the dir is renamed into place).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.jsonl_files import read_numbered

CARD = "card.json"  # a data dir's card (written last: a dir with a card is complete)
TRAIN_FILE, EVAL_FILE = "train.jsonl", "eval.jsonl"

# the kinds by the shape of their rows (which trainer takes which kind is its registry record's `kinds`)
COMPLETION_KINDS = ("dplus", "dplus-oneturn", "reflection", "correction", "qa")  # prompt/completion rows
PREFERENCE_KINDS = ("dpm", "dpref")  # prompt/chosen/rejected rows
ROLLOUT_KINDS = ("failures",)  # prompts + docs of failed attempts, for rollouts the trainer generates and verifies
KINDS = COMPLETION_KINDS + PREFERENCE_KINDS + ROLLOUT_KINDS

# the chat columns (lists of messages) each kind's rows must hold
COLUMNS: dict[str, tuple[str, ...]] = {
    **{k: ("prompt", "completion") for k in COMPLETION_KINDS},
    **{k: ("prompt", "chosen", "rejected") for k in PREFERENCE_KINDS},
    **{k: ("prompt",) for k in ROLLOUT_KINDS},
}
# kinds whose rows are kept whole (every one of these columns present), not reduced to their chat columns
KEEP: dict[str, tuple[str, ...]] = {
    k: ("prompt", "attempt_prompt", "doc", "task", "doc_hash", "feedback") for k in ROLLOUT_KINDS
}
# what a kind's rows are, where the kind's name does not say it (for the messages of `train`)
NOTES = {k: "prompts + docs for online RL (the trainer generates and verifies)" for k in ROLLOUT_KINDS}
# kinds whose completions hold a user turn (the retry request between reflection and retry)
MULTI_MESSAGE_KINDS = ("dplus",)


@dataclass
class DataDir:
    """One data dir: its card and its rows, reduced to the columns the trainers read."""

    path: Path
    kind: str
    card: dict[str, Any]
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        return {
            "dir": str(self.path),
            "kind": self.kind,
            "content_hash": self.card.get("content_hash"),
            "source_runs": self.card.get("source_runs"),
            "models": self.card.get("models"),
            "rows": {"train": len(self.train), "eval": len(self.eval)},
        }


def read_card(path: Path) -> dict[str, Any]:
    """A data dir's card, its kind one of KINDS. Raises BenchError (one line) for anything else."""
    if not path.is_dir():
        raise BenchError(f"data dir {path} does not exist (build one with `reflectevo-bench data build`)")
    card_path = path / CARD
    if not card_path.is_file():
        raise BenchError(f"data dir {path} has no {CARD}: not a `reflectevo-bench data build` dir")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"{card_path} is not valid JSON: {one_line(exc) or type(exc).__name__}") from exc
    kind = card.get("kind") if isinstance(card, dict) else None
    if kind not in KINDS:
        raise BenchError(f"{card_path}: unknown kind {kind!r} (expected one of {', '.join(KINDS)})")
    return card


def read_data_dir(path: Path, card: dict[str, Any] | None = None) -> DataDir:
    """Read a data dir: its card, train.jsonl (non-empty), eval.jsonl (may be empty or absent), each row checked
    against its kind's columns."""
    card = read_card(path) if card is None else card
    kind = card["kind"]
    columns, keep = COLUMNS[kind], KEEP.get(kind)
    if not (path / TRAIN_FILE).is_file():
        raise BenchError(f"data dir {path} has no {TRAIN_FILE}")
    train = _read_rows(path / TRAIN_FILE, columns, keep)
    if not train:
        raise BenchError(f"{path / TRAIN_FILE} has no rows: nothing to train on")
    eval_rows = _read_rows(path / EVAL_FILE, columns, keep) if (path / EVAL_FILE).is_file() else []
    return DataDir(path=path, kind=kind, card=card, train=train, eval=eval_rows)


def _read_rows(path: Path, columns: tuple[str, ...], keep: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Rows with their chat columns checked; only the columns TRL reads, or ``keep`` (all of them present)."""
    rows = []
    for n, row in read_numbered(path):
        if not isinstance(row, dict):
            raise BenchError(f"{path} line {n} is not a JSON object")
        missing = [c for c in columns if c not in row]
        if missing:
            raise BenchError(f"{path} line {n} lacks {', '.join(missing)} (rows need {', '.join(columns)})")
        for c in columns:
            _check_messages(row[c], f"{path} line {n} {c}")
        if keep is not None:
            absent = [c for c in keep if c not in row]
            if absent:
                raise BenchError(
                    f"{path} line {n} lacks {', '.join(absent)}: rebuild it with "
                    "`reflectevo-bench data build --kind failures`"
                )
            rows.append({c: row[c] for c in keep})
            continue
        # only the columns TRL reads: task, doc_hash, source_run stay in the file and the card
        rows.append({c: [{"role": m["role"], "content": m["content"]} for m in row[c]] for c in columns})
    return rows


def _check_messages(value: Any, where: str) -> None:
    if not isinstance(value, list) or not value:
        raise BenchError(f"{where} is not a non-empty list of chat messages")
    for m in value:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise BenchError(f"{where}: each message needs a string role and content")


def write_data_dir(out: Path, train: list[dict[str, Any]], held: list[dict[str, Any]], card: dict[str, Any]) -> None:
    """Write train.jsonl, eval.jsonl and the card (with the rows' content hash) into a temporary dir beside ``out``,
    then rename it into place: a data dir exists whole or not at all. ``out`` is absent or an empty dir."""
    from reflectevo_bench.harness.records import json_line
    from reflectevo_bench.harness.run_dir import write_json_atomic
    from reflectevo_bench.trainers.data.hf_card import dataset_card

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        digest = hashlib.sha256()
        for name, part in ((TRAIN_FILE, train), (EVAL_FILE, held)):
            with open(tmp / name, "w", encoding="utf-8") as fh:
                for row in part:
                    line = json_line(row)
                    digest.update(line.encode("utf-8"))
                    fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        card["content_hash"] = digest.hexdigest()
        (tmp / "README.md").write_text(dataset_card(card), encoding="utf-8")  # the Hugging Face dataset card
        write_json_atomic(tmp / CARD, card)
        if out.exists():
            out.rmdir()  # empty (checked by the caller)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

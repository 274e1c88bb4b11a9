"""Per-sample records: ``samples_<task>.jsonl``, one line per finished doc, flushed and fsynced.

This module is the written contract of a record. The engine writes :class:`SampleRecord` lines; metrics,
rescoring, leaderboards and the trainers read them back through :func:`read_records`, never by hand.

A record's ``turns`` are the model calls made for the doc, in the order they happened:

- ``kind``: ``"attempt"`` or ``"reflection"``;
- ``round``: attempt k is round k; the reflection written after attempt k−1 failed, in order to make
  attempt k, is round k too (so a round is "reflect, then attempt");
- ``branch``: 1 unless the run sampled several reflections per failure (``run --reflections N``). Then every
  doc wrong at attempt 1 has branches 1…N, each with its own reflection and retry; round-1 turns are shared by
  all branches and carry ``branch`` 1. Branch b's conversation is :func:`branch_turns` (rec, b).
- ``messages``: the exact chat the turn was generated from (the state *before* generation); ``prompt``: the
  exact rendered prompt; ``response``: what the model returned; attempts add ``extracted`` and ``verdict``.

With ``run --samples K`` the record also holds ``attempt_1_samples``: all K sampled attempt-1 answers (``sample``
1…K, ``response``, ``extracted``, ``verdict``, token count, timing; sample 1 is the round-1 attempt turn, which
alone goes on through the protocol) and ``attempt_1_passes``, how many of them passed (failure mining:
:mod:`reflectevo_bench.harness.mining`).

``correct`` (per attempt made) and ``correct_at`` (per round) always describe branch 1, so acc@tk stays
comparable with single-branch runs. Run dirs written before this contract (turns keyed ``attempt`` /
``before_attempt``) read back in this shape.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TypedDict

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.harness.run_dir import check_merged

SAMPLES_GLOB = "samples_*.jsonl"


class Message(TypedDict):
    role: str
    content: str


class VerdictDict(TypedDict, total=False):
    correct: bool
    score: float
    feedback: str
    extracted: Any
    details: dict[str, Any]


class Timing(TypedDict):
    latency_s: float
    cached: bool


class Turn(TypedDict, total=False):
    kind: Literal["attempt", "reflection"]
    round: int
    branch: int
    model: str  # "generator" or "reflector"
    messages: list[Message]
    prompt: Any
    gen_kwargs: dict[str, Any]
    response: str
    prompt_tokens: int | None
    completion_tokens: int | None
    completion_tokens_source: str | None  # "backend" (the backend's own count), "retokenized" (fallback) or None
    timing: Timing
    extracted: Any  # attempts only
    verdict: VerdictDict  # attempts only
    instruction: dict[str, Any]  # reflections (and one-turn attempts): which request template asked (pool draws)
    one_turn: dict[str, str | None]  # reflect-answer attempts: {"reflection", "answer"} parts of the response


class SampleRecord(TypedDict, total=False):
    task: str
    doc_id: int
    doc_hash: str
    doc: dict[str, Any]
    target: Any
    split: str | None
    protocol: str
    feedback_mode: str
    correct: list[bool]
    correct_at: list[bool]
    turns: list[Turn]
    attempt_1_samples: list[dict[str, Any]]  # run --samples K only
    attempt_1_passes: int  # run --samples K only


def samples_path(run_dir: Path, task: str) -> Path:
    safe = task.replace("/", "_")
    return run_dir / f"samples_{safe}.jsonl"


def complete_lines(path: Path, check: Callable[[Any], str | None] | None = None) -> tuple[list[Any], int]:
    """The parsed lines of an append-only JSONL file and the byte length they span. Only the last line may be
    torn (a kill cut it short: no newline, or not JSON): it is left out. Any other line that is not JSON, or that
    ``check`` rejects (it returns what is wrong), is corruption: one line naming the file and line, never a
    silent stop that would pass the lines before it off as the whole file."""
    data = path.read_bytes()
    pieces = data.split(b"\n")
    rows, good = [], 0
    for number, piece in enumerate(pieces[:-1], 1):  # pieces[-1]: what follows the last newline (a torn tail)
        try:
            row = json.loads(piece)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            if number == len(pieces) - 1 and not pieces[-1]:
                break  # the last line: torn by a crash mid-write (e.g. zeros the file system left)
            raise BenchError(
                f"{path}: line {number} is not JSON ({one_line(exc, 80)}): the file is corrupt; only a "
                "torn last line is repaired, so restore the file or remove that line by hand"
            ) from None
        problem = check(row) if check is not None else None
        if problem is not None:
            raise BenchError(
                f"{path}: line {number} {problem}: the file is corrupt; restore it or remove that line by hand"
            )
        rows.append(row)
        good += len(piece) + 1
    return rows, good


def _record_problem(row: Any) -> str | None:
    if not isinstance(row, dict):
        return f"is a JSON {type(row).__name__}, not a record object"
    if (
        not isinstance(row.get("task"), str)
        or isinstance(row.get("doc_id"), bool)
        or not isinstance(row.get("doc_id"), int)
    ):
        return "is not a sample record (it needs a string 'task' and an integer 'doc_id')"
    return None


def repair_tail(path: Path, check: Callable[[Any], str | None] | None = _record_problem) -> None:
    """Drop a last line that a kill cut short, so appends start on a clean line (corruption elsewhere: one line)."""
    _, good = complete_lines(path, check)
    if good != path.stat().st_size:
        with open(path, "r+b") as fh:
            fh.truncate(good)


def normalize_turn(turn: dict[str, Any]) -> Turn:
    """A turn in today's shape: ``round`` and ``branch`` (older records keyed ``attempt``/``before_attempt``)."""
    if "round" not in turn:
        turn = dict(turn)
        turn["round"] = turn.pop("attempt") if turn.get("kind") == "attempt" else turn.pop("before_attempt")
    turn.setdefault("branch", 1)
    return turn  # type: ignore[return-value]


def normalize_record(rec: dict[str, Any]) -> SampleRecord:
    rec["turns"] = [normalize_turn(t) for t in rec.get("turns", [])]
    rec.setdefault("split", None)
    return rec  # type: ignore[return-value]


def iter_records(path: Path) -> Iterator[SampleRecord]:
    rows, _ = complete_lines(path, _record_problem)
    for row in rows:
        yield normalize_record(row)


def read_records(run_dir: Path, shard: bool = False) -> dict[str, list[SampleRecord]]:
    """Every finished record of a run, per task, ordered by doc id; a torn last line is skipped (a kill cut it
    short), a corrupt line anywhere else or a doc recorded twice is an error naming the file and line. A sharded
    run dir is read once merged (one line until then); a shard's own dir (``OUT/shards/<i>``) is refused as a run,
    unless ``shard`` (the shard's own process and the merge read it)."""
    check_merged(Path(run_dir), shard)
    by_task: dict[str, dict[int, SampleRecord]] = {}
    for path in sorted(Path(run_dir).glob(SAMPLES_GLOB)):
        for number, rec in enumerate(iter_records(path), 1):
            docs = by_task.setdefault(rec["task"], {})
            if rec["doc_id"] in docs:
                raise BenchError(
                    f"{path}: line {number} records doc {rec['doc_id']} of task '{rec['task']}' twice"
                    ": the run dir is corrupt"
                )
            docs[rec["doc_id"]] = rec
    return {task: [docs[i] for i in sorted(docs)] for task, docs in sorted(by_task.items())}


def branch_numbers(rec: SampleRecord) -> list[int]:
    return sorted({t.get("branch", 1) for t in rec["turns"]})


def branch_turns(rec: SampleRecord, branch: int = 1) -> list[Turn]:
    """The turns of one branch's conversation: the shared round-1 turns, then the branch's own."""
    return [t for t in rec["turns"] if t["round"] == 1 or t.get("branch", 1) == branch]


def attempts(rec: SampleRecord, branch: int = 1) -> list[Turn]:
    return [t for t in branch_turns(rec, branch) if t["kind"] == "attempt"]


def first_attempt(rec: SampleRecord) -> Turn:
    for turn in rec["turns"]:
        if turn["kind"] == "attempt" and turn["round"] == 1:
            return turn
    raise BenchError(
        f"doc {rec.get('doc_id')} of task '{rec.get('task')}' has no attempt-1 turn: the run dir is corrupt"
    )


def json_line(record: Any) -> str:
    """One JSON line. Text the model or a program produced may hold lone surrogates, which UTF-8 cannot carry:
    those (and only those) are written as JSON escapes, so the line is valid UTF-8 and reads back unchanged."""
    text = json.dumps(record, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(record, ensure_ascii=True, default=str)
    return text + "\n"


class SampleWriter:
    """Appends records, one open file per task; each line reaches the disk before ``write`` returns."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._files: dict[str, Any] = {}

    def write(self, record: SampleRecord) -> None:
        task = record["task"]
        fh = self._files.get(task)
        if fh is None:
            path = samples_path(self.run_dir, task)
            if path.exists():
                repair_tail(path)
            fh = self._files[task] = open(path, "a", encoding="utf-8")
        fh.write(json_line(record))
        fh.flush()
        os.fsync(fh.fileno())

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()

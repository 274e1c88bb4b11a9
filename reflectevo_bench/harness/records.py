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
from pathlib import Path
from typing import Any, Iterator, Literal, TypedDict

from reflectevo_bench.errors import BenchError
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


def _complete_lines(path: Path) -> tuple[list[bytes], int]:
    data = path.read_bytes()
    lines, good = [], 0
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            json.loads(line)
        except json.JSONDecodeError:
            break
        lines.append(line)
        good += len(line)
    return lines, good


def repair_tail(path: Path) -> None:
    """Drop a last line that a kill cut short, so appends start on a clean line."""
    _, good = _complete_lines(path)
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
    lines, _ = _complete_lines(path)
    for line in lines:
        yield normalize_record(json.loads(line))


def read_records(run_dir: Path) -> dict[str, list[SampleRecord]]:
    """Every finished record of a run, per task, ordered by doc id; a torn last line is skipped (a kill cut it
    short), a doc recorded twice is an error. A sharded run dir is read once merged (one line until then)."""
    check_merged(Path(run_dir))
    by_task: dict[str, dict[int, SampleRecord]] = {}
    for path in sorted(Path(run_dir).glob(SAMPLES_GLOB)):
        for rec in iter_records(path):
            docs = by_task.setdefault(rec["task"], {})
            if rec["doc_id"] in docs:
                raise BenchError(f"{path} holds doc {rec['doc_id']} twice: the run dir is corrupt")
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
    raise BenchError(f"doc {rec.get('doc_id')} of task '{rec.get('task')}' has no attempt-1 turn: the run dir is corrupt")


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

"""Load what a leaderboard or gate compares: a run dir (run.json + samples_*.jsonl) or a snapshot file.

Both become an :class:`Evaluation`: per task, one :class:`DocOutcome` per doc keyed by its doc hash, holding
the per-round verdicts (``correct_at``) and a hash of the attempt-1 chat messages (the prompt as recorded
before any chat template, so models with different templates still compare).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.metrics import task_metrics
from reflectevo_bench.harness.records import first_attempt, read_records
from reflectevo_bench.harness.run_dir import read_manifest
from reflectevo_bench.leaderboards.modelsize import model_size
from reflectevo_bench.leaderboards.settings import run_settings

SNAPSHOT_FORMAT = "reflectevo-bench/baseline-snapshot"


@dataclass(frozen=True)
class DocOutcome:
    correct_at: tuple[bool, ...]
    prompt: str  # hash of the attempt-1 messages


@dataclass
class Evaluation:
    source: str
    kind: str  # "run" or "snapshot"
    label: str
    model: str
    model_args: str
    params: int | None
    params_source: str
    protocol: str
    attempts: int
    feedback_mode: str
    tasks: dict[str, dict[str, DocOutcome]]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def protocol_key(self) -> tuple[str, int, str]:
        return (self.protocol, self.attempts, self.feedback_mode)

    def metrics(self, task: str) -> dict[str, Any]:
        """The harness's own per-task metrics (acc@tk with Wilson CIs, Δ with its paired CI, flips)."""
        docs = self.tasks[task]
        return task_metrics(
            [{"correct_at": list(d.correct_at)} for d in docs.values()], self.attempts, self.feedback_mode
        )


def prompt_hash(messages: Any) -> str:
    blob = json.dumps(messages, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def doc_keys(hashes: list[str]) -> list[str]:
    """Doc hashes as keys; a hash seen again (a dataset with duplicate docs) gets ``#2``, ``#3``… in doc order."""
    seen: dict[str, int] = {}
    keys = []
    for h in hashes:
        seen[h] = seen.get(h, 0) + 1
        keys.append(h if seen[h] == 1 else f"{h}#{seen[h]}")
    return keys


def load_run(path: Path, label: str | None = None) -> Evaluation:
    manifest = read_manifest(path)
    try:
        ident, env = manifest["identity"], manifest["environment"]
        attempts, protocol, mode = int(ident["attempts"]), ident["protocol"], env["feedback_mode"]
    except (KeyError, TypeError, ValueError):
        raise BenchError(
            f"{path}/run.json lacks identity/environment fields: is it a reflectevo-bench run dir?"
        ) from None
    records = read_records(path)
    if not any(records.values()):
        raise BenchError(f"{path} holds no finished docs (no samples_*.jsonl lines): run or resume it first")
    tasks: dict[str, dict[str, DocOutcome]] = {}
    for task, recs in records.items():
        keys = doc_keys([r["doc_hash"] for r in recs])
        tasks[task] = {
            k: DocOutcome(tuple(bool(c) for c in r["correct_at"]), prompt_hash(first_attempt(r)["messages"]))
            for k, r in zip(keys, recs)
        }
    sizes = env.get("task_sizes_limited", {})
    model_args = ident.get("model_args") or ""
    params, how = model_size(model_args)
    return Evaluation(
        source=str(path),
        kind="run",
        label=label or default_label(ident.get("model", "?"), model_args, path),
        model=ident.get("model", "?"),
        model_args=model_args,
        params=params,
        params_source=how,
        protocol=protocol,
        attempts=attempts,
        feedback_mode=mode,
        tasks=tasks,
        meta={
            "complete": all(len(records.get(t, [])) == n for t, n in sizes.items()),
            "git_hash": env.get("git_hash"),
            "date": env.get("date"),
            "seed": ident.get("seed"),
            "gen_kwargs": ident.get("gen_kwargs"),
            "limit": ident.get("limit"),
            "system_instruction": ident.get("system_instruction"),
            "settings": run_settings(records, mode),
            "reflection_analytics": _pooled_analytics(records),
        },
    )


def _pooled_analytics(records: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    from reflectevo_bench.harness.analytics import analyse

    return analyse([r for recs in records.values() for r in recs])


def default_label(model: str, model_args: str, path: Path) -> str:
    from reflectevo_bench.harness.backend import parse_model_args

    try:
        pretrained = parse_model_args(model_args).get("pretrained") or parse_model_args(model_args).get("model")
    except BenchError:
        pretrained = None
    return Path(pretrained.rstrip("/")).name if pretrained else f"{model}:{path.name}"


def load_snapshot(path: Path, label: str | None = None) -> Evaluation:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchError(f"cannot read snapshot {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != SNAPSHOT_FORMAT:
        raise BenchError(
            f"{path} is not a baseline snapshot (make one with `reflectevo-bench leaderboard snapshot RUN_DIR`)"
        )
    try:
        tasks = {
            task: {key: DocOutcome(tuple(ch == "1" for ch in d["c"]), d["p"]) for key, d in t["docs"].items()}
            for task, t in data["tasks"].items()
        }
        model = data["model"]
        return Evaluation(
            source=str(path),
            kind="snapshot",
            label=label or model["label"],
            model=model["model"],
            model_args=model["model_args"],
            params=model.get("params"),
            params_source=model.get("params_source", "unknown"),
            protocol=data["protocol"],
            attempts=int(data["attempts"]),
            feedback_mode=data["feedback_mode"],
            tasks=tasks,
            meta=dict(data.get("source") or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BenchError(f"snapshot {path} is malformed (missing or bad field {exc}): make it again") from None


def load_any(path: Path, label: str | None = None) -> Evaluation:
    """A run dir, or a snapshot file."""
    if path.is_dir():
        return load_run(path, label)
    if path.is_file():
        return load_snapshot(path, label)
    raise BenchError(f"{path} does not exist: pass a run dir or a snapshot file")

"""``reflectevo-bench data build``: run records → ``train.jsonl``, ``eval.jsonl`` and ``card.json``.

No model is called, except the judge of ``dpref``. Rows are split by doc (a hash of task, doc hash and seed),
so no doc has rows in both files. The output dir is written next to its final place and renamed into it: a
failed build leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError, one_line
from reflectevo_bench.harness.mining import DEFAULT_FAILURE_RULE, check_rule, is_failure, sample_verdicts
from reflectevo_bench.harness.protocols import Protocol, find_protocol
from reflectevo_bench.harness.records import SampleRecord, first_attempt, read_records
from reflectevo_bench.harness.run_dir import read_manifest
from reflectevo_bench.trainers.data import rows as R
from reflectevo_bench.trainers.data.datadir import write_data_dir
from reflectevo_bench.trainers.data.judge import Judge

FORMAT = "reflectevo-bench/dataset-card"
NEEDS_REFLECTIONS = {"dplus", "reflection", "correction", "dpm", "dpref"}


def run_id(manifest: dict[str, Any]) -> str:
    """A short, stable id of a run: its identity and start date."""
    blob = json.dumps(
        [manifest.get("identity"), (manifest.get("environment") or {}).get("date")], sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def in_eval(task: str, doc_hash: str, fraction: float, seed: int) -> bool:
    if fraction <= 0:
        return False
    digest = hashlib.sha256(f"{seed}/{task}/{doc_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


class Source:
    """One run dir as the builder reads it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise BenchError(f"{path} is not a directory: pass run dirs written by `reflectevo-bench run`")
        self.manifest = read_manifest(self.path)
        try:
            self.identity = self.manifest["identity"]
            self.environment = self.manifest["environment"]
            self.protocol = self.identity["protocol"]
        except (KeyError, TypeError):
            raise BenchError(
                f"{path}/run.json lacks identity/environment fields: is it a reflectevo-bench run dir?"
            ) from None
        self._protocol_spec = str(self.identity.get("protocol_file") or self.protocol)
        self.id = run_id(self.manifest)
        with record_shape(self.path):
            self.records = read_records(self.path)
            for recs in self.records.values():
                for rec in recs:
                    check_record_shape(rec)
        if not any(self.records.values()):
            raise BenchError(f"{path} holds no finished docs (no samples_*.jsonl lines): run or resume it first")

    @property
    def protocol_def(self) -> Protocol:
        """The run's protocol: a built-in one by name, or the plugin file the run recorded (``protocol_file``)."""
        try:
            return find_protocol(self._protocol_spec)
        except BenchError as exc:
            raise BenchError(
                f"{self.path} ran --protocol {self._protocol_spec}, which cannot be loaded: {exc}"
            ) from None

    def describe(self) -> dict[str, Any]:
        ident = self.identity
        return {
            "id": self.id,
            "path": str(self.path.resolve()),
            "model": ident.get("model"),
            "model_args": ident.get("model_args"),
            "reflector_model": ident.get("reflector_model"),
            "reflector_model_args": ident.get("reflector_model_args"),
            "protocol": self.protocol,
            "attempts": ident.get("attempts"),
            "reflections": ident.get("reflections", 1),
            "split": ident.get("split"),
            "splits": self.environment.get("splits"),
            "tasks": sorted(self.records),
            "gen_kwargs": ident.get("gen_kwargs"),
            "task_specs": ident.get("task_specs"),
            "data_dir": ident.get("data_dir"),
            "metadata": ident.get("metadata"),
            "num_fewshot": ident.get("num_fewshot"),
            "feedback_mode": self.environment.get("feedback_mode"),
            "git_hash": self.environment.get("git_hash"),
        }


# The fields every record of `reflectevo-bench run` carries, and the type the builders rely on.
RECORD_FIELDS: dict[str, type | tuple[type, ...]] = {
    "task": str,
    "doc_id": int,
    "doc_hash": str,
    "doc": dict,
    "correct": list,
    "turns": list,
}
TURN_FIELDS: dict[str, type | tuple[type, ...]] = {"kind": str, "response": str, "round": int, "branch": int}


def check_record_shape(rec: Any) -> None:
    if not isinstance(rec, dict):
        raise ValueError(f"a record is a {type(rec).__name__}, not a JSON object")
    _check_fields(rec, RECORD_FIELDS, f"doc {rec.get('doc_id')!r}: ")
    if not rec["turns"]:
        raise ValueError(f"doc {rec['doc_id']} has no turns")
    for turn in rec["turns"]:
        if not isinstance(turn, dict):
            raise ValueError(f"doc {rec['doc_id']}: a turn is a {type(turn).__name__}, not a JSON object")
        _check_fields(turn, TURN_FIELDS, f"doc {rec['doc_id']}: a turn's ")


def _check_fields(obj: dict, fields: dict[str, type | tuple[type, ...]], where: str) -> None:
    for key, typ in fields.items():
        if not isinstance(obj.get(key), typ):
            raise ValueError(f"{where}{key} is {type(obj.get(key)).__name__}, not {getattr(typ, '__name__', typ)}")


class record_shape:
    """Records of another shape (another tool's JSONL, a hand edit) become one line naming the run dir."""

    def __init__(self, path: Path, task: str | None = None) -> None:
        self.where = f"{path}" + (f" (task {task})" if task else "")

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: Any, exc: BaseException | None, tb: Any) -> bool:
        if (
            exc is None
            or isinstance(exc, BenchError)
            or not isinstance(exc, (KeyError, AttributeError, TypeError, ValueError, IndexError))
        ):
            return False
        raise BenchError(
            f"{self.where} holds records of another shape ({one_line(exc, 200, with_type=True)}): "
            "pass run dirs written by `reflectevo-bench run`"
        ) from None


def _distinct(sources: list[Source]) -> list[Source]:
    """The run dirs, each once: one run passed twice (by two spellings of its path, or as a copy) would double its
    rows -- refused in one line."""
    seen: dict[Any, Source] = {}
    for src in sources:
        for key in (src.path.resolve(), src.id):
            if key in seen:
                first = seen[key]
                why = "the same dir" if key == first.path.resolve() else "the same run (a copy?)"
                raise BenchError(f"{first.path} and {src.path} are {why}: pass each run dir once")
            seen[key] = src
    return sources


def build(
    kind: str,
    run_dirs: list[Path],
    out: Path,
    eval_fraction: float = 0.1,
    seed: int = 0,
    judge: Judge | None = None,
    command: list[str] | None = None,
    failure_rule: str = DEFAULT_FAILURE_RULE,
) -> dict[str, Any]:
    if kind not in R.KINDS:
        raise BenchError(f"unknown --kind '{kind}': choose one of {', '.join(R.KINDS)}")
    check_rule(failure_rule)
    if not 0 <= eval_fraction < 1:
        raise BenchError(f"--eval-fraction must be in [0, 1), got {eval_fraction}")
    if kind == "dpref" and judge is None:
        raise BenchError(
            "--kind dpref ranks two passing reflections with a judge: pass --judge-model (and --judge-model-args)"
        )
    if not run_dirs:
        raise BenchError("pass at least one run dir")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BenchError(f"--out {out} exists and is not empty: choose a new directory")
    sources = _distinct([Source(p) for p in run_dirs])
    if kind == "dplus-oneturn":
        for src in sources:
            if not (src.protocol_def.reflects or src.protocol_def.one_turn):
                raise BenchError(
                    f"{src.path} ran --protocol {src.protocol}, which writes no reflections: "
                    f"--kind {kind} needs a reflect-answer or reflect run"
                )
    if kind in NEEDS_REFLECTIONS:
        for src in sources:
            if not src.protocol_def.reflects:
                raise BenchError(
                    f"{src.path} ran --protocol {src.protocol}, which writes no reflections: --kind {kind} "
                    "needs a reflect or self-refine run (failures and qa take any run)"
                )

    counts = R.Counts()
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for src in sources:
        for task, recs in src.records.items():
            with record_shape(src.path, task):
                made, c = list(_rows(kind, src, task, recs, judge, extra, failure_rule)), R.count(recs)
            for key, value in asdict(c).items():
                setattr(counts, key, getattr(counts, key) + value)
            for row in made:
                rows.append({**row, "task": task, "source_run": src.id})
    counts.qa_candidates = extra.pop("qa_candidates", 0)
    counts.qa_rejected_by_verifier = extra.pop("qa_rejected", 0)
    if not rows:
        raise BenchError(_no_rows_message(kind, counts))

    train = [r for r in rows if not in_eval(r["task"], r["doc_hash"], eval_fraction, seed)]
    held = [r for r in rows if in_eval(r["task"], r["doc_hash"], eval_fraction, seed)]
    if not train:
        raise BenchError(f"all {len(rows)} rows fell in the eval split: lower --eval-fraction or add runs")
    models = sorted({f"{s.identity.get('model')}:{s.identity.get('model_args')}" for s in sources})
    card = {
        **_card_head(kind, train, held, eval_fraction, seed),
        "source_runs": [s.describe() for s in sources],
        "models": models,
        "mixed_models": len(models) > 1,
        "protocols": sorted({s.protocol for s in sources}),
        "tasks": sorted({r["task"] for r in rows}),
        "counts": asdict(counts),
        **extra,
        "mining": _mining(sources, failure_rule) if kind == "failures" else None,
        "judge": judge.describe() if judge is not None and kind == "dpref" else None,
        "command": command if command is not None else sys.argv,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_data_dir(out, train, held, card)
    return card


def _mining(sources: list[Source], rule: str) -> dict[str, Any]:
    """How the failures were mined: the rule, K, and every doc's attempt-1 pass count (per run, task, doc id)."""
    per_run: dict[str, Any] = {}
    ks: set[int] = set()
    kept = docs = 0
    for src in sources:
        for task, recs in src.records.items():
            counts = {}
            for rec in recs:
                made = sample_verdicts(rec)
                ks.add(len(made))
                counts[str(rec["doc_id"])] = sum(made)
                kept += is_failure(rec, rule)
                docs += 1
            per_run.setdefault(src.id, {})[task] = counts
    return {
        "failure_rule": rule,
        "samples": sorted(ks)[0] if len(ks) == 1 else sorted(ks),
        "docs": docs,
        "kept": kept,
        "kept_fraction": kept / docs if docs else 0.0,
        "pass_counts": per_run,
        "rules": "any: at least one sample failed; all: every sample failed; first: sample 1 failed",
    }


def write_imported(
    kind: str,
    rows: list[dict[str, Any]],
    extra: dict[str, Any],
    out: Path,
    eval_fraction: float,
    seed: int,
    command: list[str],
) -> dict[str, Any]:
    """Rows converted from a released set (``data import``) → a data dir like ``build``'s, split by doc."""
    if not 0 <= eval_fraction < 1:
        raise BenchError(f"--eval-fraction must be in [0, 1), got {eval_fraction}")
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BenchError(f"--out {out} exists and is not empty: choose a new directory")
    train = [r for r in rows if not in_eval(r["task"], r["doc_hash"], eval_fraction, seed)]
    held = [r for r in rows if in_eval(r["task"], r["doc_hash"], eval_fraction, seed)]
    if not train:
        raise BenchError(f"all {len(rows)} rows fell in the eval split: lower --eval-fraction")
    card = {
        **_card_head(kind, train, held, eval_fraction, seed),
        "source_runs": [],
        "models": [],
        "mixed_models": False,
        "protocols": [],
        "tasks": sorted({r["task"] for r in rows}),
        **extra,
        "command": command,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_data_dir(out, train, held, card)
    return card


def _rows(
    kind: str,
    src: Source,
    task: str,
    recs: list[SampleRecord],
    judge: Judge | None,
    extra: dict[str, Any],
    failure_rule: str = DEFAULT_FAILURE_RULE,
) -> Iterator[dict[str, Any]]:
    if kind == "qa":
        yield from _qa_rows(src, task, recs, extra)
        return
    failures = [r for r in recs if R.is_failure(r)]
    if kind == "failures":
        config = (src.environment.get("task_configs") or {}).get(task) or {}
        builder = R.reflection_prompt_builder(config, src.protocol_def)
        for rec in (r for r in recs if is_failure(r, failure_rule)):
            for row in R.failure(rec, builder):
                yield {**row, "doc_hash": rec["doc_hash"]}
        return
    if kind == "dpref":
        yield from _dpref_rows(failures, judge, extra)  # type: ignore[arg-type]
        return
    if kind == "dplus-oneturn":
        request = R.oneturn_request_builder((src.environment.get("task_configs") or {}).get(task) or {})
        for rec in failures:
            for row in R.dplus_oneturn(rec, request):
                yield {**row, "doc_hash": rec["doc_hash"]}
        return
    make = {"dplus": R.dplus, "reflection": R.reflection, "correction": R.correction, "dpm": R.dpm}[kind]
    for rec in failures:
        for row in make(rec):
            yield {**row, "doc_hash": rec["doc_hash"]}


def _dpref_rows(failures: list[SampleRecord], judge: Judge, extra: dict[str, Any]) -> Iterator[dict[str, Any]]:
    candidates = [(rec, pair) for rec in failures for pair in R.passing_pairs(rec)]
    picks = judge.prefer(
        [(a.reflection["messages"], a.reflection["response"], b.reflection["response"]) for _, (a, b) in candidates]
    )
    stats = extra.setdefault("judged", {"pairs": 0, "kept": 0, "orders_disagreed_or_unreadable": 0})
    for (rec, (a, b)), pick in zip(candidates, picks):
        stats["pairs"] += 1
        if pick is None:
            stats["orders_disagreed_or_unreadable"] += 1
            continue
        stats["kept"] += 1
        good, bad = (a, b) if pick == 0 else (b, a)
        yield {
            "prompt": good.reflection["messages"],
            "chosen": [R.assistant(good.reflection["response"])],
            "rejected": [R.assistant(bad.reflection["response"])],
            "chosen_branch": good.number,
            "rejected_branch": bad.number,
            "doc_hash": rec["doc_hash"],
        }


def _qa_rows(src: Source, task: str, recs: list[SampleRecord], extra: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Attempt-1 prompt → the task's gold answer, kept only where the task's own verifier accepts it."""
    from reflectevo_bench.tasks.registry import load_eval_tasks

    ident = src.identity
    spec = next((s for s in ident.get("task_specs", []) if s == task or Path(s).stem == task), None)
    loaded = {
        t.name: t
        for t in load_eval_tasks(
            spec or task, ident.get("data_dir"), 1, ident.get("num_fewshot"), ident.get("metadata"), ident.get("split")
        )
    }
    if task not in loaded:
        raise BenchError(f"--kind qa: cannot load task '{task}' of {src.path} to verify its gold answers")
    eval_task = loaded[task]
    golds = [eval_task.gold_response(rec["doc"]) for rec in recs]
    usable = [(rec, g) for rec, g in zip(recs, golds) if g]
    verdicts = eval_task.verify_batch([rec["doc"] for rec, _ in usable], [g for _, g in usable])
    extra["qa_candidates"] = extra.get("qa_candidates", 0) + len(usable)
    for (rec, gold), verdict in zip(usable, verdicts):
        if not verdict.correct:
            extra["qa_rejected"] = extra.get("qa_rejected", 0) + 1
            continue
        yield {"prompt": first_attempt(rec)["messages"], "completion": [R.assistant(gold)], "doc_hash": rec["doc_hash"]}


def _no_rows_message(kind: str, c: R.Counts) -> str:
    if kind in ("dplus", "dplus-oneturn", "reflection", "correction"):
        return (
            f"0 of {c.failures} failures had a passing retry ({c.branches} reflections in all): "
            "sample more reflections with --reflections N"
        )
    if kind == "dpm":
        return (
            f"0 of {c.failures} failures had both a passing and a failing retry under one prompt "
            f"({c.failures_with_pass} had a pass): sample more reflections with --reflections N"
        )
    if kind == "dpref":
        return (
            f"0 of {c.failures} failures yielded a judged pair ({c.failures_with_two_passes} had two passing "
            "retries): sample more reflections with --reflections N, or check the judge's output"
        )
    if kind == "failures":
        return (
            f"0 of {c.docs} docs were failures under the --failure-rule: nothing to train on (try harder docs, "
            "run --samples K to mine failures, or --failure-rule any)"
        )
    return (
        f"0 of {c.qa_candidates} gold answers passed the task's verifier "
        f"({c.docs} docs): the task needs a gold_response hook (metadata.reflection.gold_response)"
    )


def _card_head(
    kind: str, train: list[dict[str, Any]], held: list[dict[str, Any]], eval_fraction: float, seed: int
) -> dict[str, Any]:
    """What every data card starts with: the kind, row and doc counts, and how rows were split by doc."""
    return {
        "format": FORMAT,
        "kind": kind,
        "rows": {"train": len(train), "eval": len(held)},
        "docs": {
            "train": len({(r["task"], r["doc_hash"]) for r in train}),
            "eval": len({(r["task"], r["doc_hash"]) for r in held}),
        },
        "eval_fraction": eval_fraction,
        "seed": seed,
        "split_by": "sha256(seed/task/doc_hash)",
    }

"""The view's data: every doc of every run, paired across runs by (task, doc id), read only from the records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.records import branch_numbers, branch_turns, read_records
from reflectevo_bench.harness.run_dir import read_manifest


def _last_user(messages: list[dict[str, Any]]) -> str:
    for msg in reversed(messages or []):
        if msg.get("role") == "user":
            return str(msg.get("content", ""))
    return ""


def _turn(turn: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": turn["kind"],
        "round": turn["round"],
        "branch": turn.get("branch", 1),
        "model": turn.get("model"),
        "asked": _last_user(turn.get("messages") or []),
        "response": str(turn.get("response", "")),
        "prompt_tokens": turn.get("prompt_tokens"),
        "completion_tokens": turn.get("completion_tokens"),
    }
    verdict = turn.get("verdict")
    if turn["kind"] == "attempt" and verdict:
        out["correct"] = bool(verdict.get("correct"))
        out["feedback"] = str(verdict.get("feedback") or "")
        out["extracted"] = turn.get("extracted", verdict.get("extracted"))
    return out


def _branches(rec: dict[str, Any]) -> list[dict[str, Any]]:
    """Each branch's conversation, with its first and last attempt's verdicts (branch 1 = ``correct_at``)."""
    out = []
    for b in branch_numbers(rec):
        turns = [_turn(t) for t in branch_turns(rec, b)]
        verdicts = [t["correct"] for t in turns if t["kind"] == "attempt" and "correct" in t]
        if b == 1 and rec.get("correct_at"):
            first, final = bool(rec["correct_at"][0]), bool(rec["correct_at"][-1])
        else:
            first, final = (verdicts[0], verdicts[-1]) if verdicts else (False, False)
        out.append({"branch": b, "t1": first, "final": final, "turns": turns})
    return out


def _question(rec: dict[str, Any]) -> str:
    for turn in rec["turns"]:
        if turn["kind"] == "attempt" and turn["round"] == 1:
            return _last_user(turn.get("messages") or [])
    return ""


def run_label(manifest: dict[str, Any], path: Path) -> str:
    from reflectevo_bench.leaderboards.load import default_label

    ident = manifest.get("identity", {})
    return (
        f"{default_label(ident.get('model', '?'), ident.get('model_args') or '', path)} · {ident.get('protocol', '?')}"
    )


def generation_settings(manifest: dict[str, Any]) -> dict[str, Any]:
    ident, env = manifest.get("identity", {}), manifest.get("environment", {})
    return {
        "model": ident.get("model"),
        "model_args": ident.get("model_args"),
        "protocol": ident.get("protocol"),
        "attempts": ident.get("attempts"),
        "reflections": ident.get("reflections", 1),
        "feedback_mode": env.get("feedback_mode"),
        "gen_kwargs": ident.get("gen_kwargs"),
        "system_instruction": ident.get("system_instruction"),
        "seed": ident.get("seed"),
    }


def load_view_data(run_dirs: list[Path]) -> dict[str, Any]:
    """``{"runs": [...], "docs": [...]}``: one entry per (task, doc id) found in any run, with each run's record
    (None where that run lacks the doc) in the order of ``run_dirs``."""
    if not run_dirs:
        raise BenchError("view: name at least one run dir")
    from reflectevo_bench.harness.analytics import reflection_analytics

    runs, docs = [], {}
    for i, path in enumerate(run_dirs):
        path = Path(path)
        manifest = read_manifest(path)
        records = read_records(path)
        if not any(records.values()):
            raise BenchError(f"{path} holds no finished docs yet: run it (or wait for it) before viewing")
        runs.append(
            {
                "label": run_label(manifest, path),
                "path": str(path),
                "settings": generation_settings(manifest),
                "analytics": reflection_analytics(records),
            }
        )
        for task, recs in records.items():
            for rec in recs:
                key = f"{task}\u241f{rec['doc_id']}"
                entry = docs.setdefault(
                    key,
                    {
                        "task": task,
                        "doc_id": rec["doc_id"],
                        "doc_hash": rec.get("doc_hash"),
                        "question": _question(rec),
                        "target": rec.get("target"),
                        "hash_mismatch": False,
                        "runs": [None] * len(run_dirs),
                    },
                )
                if entry["doc_hash"] != rec.get("doc_hash"):
                    entry["hash_mismatch"] = True
                entry["runs"][i] = {
                    "correct_at": [bool(c) for c in rec.get("correct_at", [])],
                    "feedback_mode": rec.get("feedback_mode"),
                    "branches": _branches(rec),
                }
    ordered = sorted(docs.values(), key=lambda d: (d["task"], d["doc_id"]))
    return {"runs": runs, "docs": ordered}

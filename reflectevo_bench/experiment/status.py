"""``experiment status DIR``: the stage table of an experiment dir (from plan.json, the markers and stages.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.experiment.execute import LOCK, PLAN, read_log, stage_state
from reflectevo_bench.experiment.graph import Stage


def load_plan(out: Path) -> list[Stage]:
    path = Path(out) / PLAN
    if not path.is_file():
        raise BenchError(f"{out} is not an experiment dir (no {PLAN}): start one with `experiment run SPEC --out DIR`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            Stage(key=s["key"], kind=s["kind"], inputs=s["inputs"], deps=s["deps"], hash=s["hash"], rel=s["dir"])
            for s in data["stages"]
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{path} is malformed ({exc}): run the experiment again") from None


def _running(out: Path) -> bool:
    """Whether an `experiment run` holds the dir's lock now."""
    import fcntl

    path = Path(out) / LOCK
    if not path.is_file():
        return False
    with open(path) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def stage_rows(out: Path) -> list[dict[str, Any]]:
    """One row per stage: key, kind, state (done | running | interrupted | failed | partial | pending), seconds,
    how often it was started and skipped, its folder."""
    log = read_log(out)
    running = _running(out)
    rows = []
    for st in load_plan(out):
        mine = [e for e in log if e.get("stage") == st.key and e.get("hash") == st.hash]
        state = stage_state(out, st)
        last = mine[-1]["event"] if mine else None
        if state != "done" and last == "failed":
            state = "failed"
        elif state != "done" and last == "start":
            state = "running" if running else "interrupted"
        done = [e for e in mine if e["event"] == "done"]
        rows.append(
            {
                "stage": st.key,
                "kind": st.kind,
                "state": state,
                "hash": st.hash,
                "dir": st.rel,
                "seconds": done[-1].get("seconds") if done else None,
                "runs": sum(1 for e in mine if e["event"] == "start"),
                "skips": sum(1 for e in mine if e["event"] == "skip"),
            }
        )
    return rows


def stale_dirs(out: Path) -> list[str]:
    """Stage folders that the current plan does not name (left by an earlier version of the spec; kept, unused)."""
    current = {st.rel for st in load_plan(out)}
    found = [
        f"{p.parent.name}/{p.name}"
        for folder in ("runs", "data", "ckpt")
        for p in sorted((Path(out) / folder).glob("*"))
        if p.is_dir() and not p.name.startswith(".")
    ]
    return [rel for rel in found if rel not in current]


def format_table(rows: list[dict[str, Any]]) -> list[str]:
    header = ["stage", "kind", "state", "seconds", "started", "dir"]
    body = [
        [
            r["stage"],
            r["kind"],
            r["state"],
            "" if r["seconds"] is None else f"{r['seconds']:.1f}",
            str(r["runs"]),
            r["dir"],
        ]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *body]]

"""The output folder of a run: its manifest (``run.json``), and the rules for starting or resuming in it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError

MANIFEST = "run.json"
FORMAT = 1


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON next to ``path`` and rename it into place: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not path.is_file():
        raise BenchError(f"{run_dir} is not a reflectevo-bench run dir (no {MANIFEST})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path} is not valid JSON ({exc.msg}): the run dir is corrupt") from None


# Identity keys added after format 1 run dirs were written, with the value an older run implicitly had.
IDENTITY_DEFAULTS: dict[str, Any] = {"split": None, "reflections": 1, "reflection_pool": None,
                                     "fewshot_as_multiturn": None}


def with_identity_defaults(identity: dict[str, Any]) -> dict[str, Any]:
    return {**IDENTITY_DEFAULTS, **identity}


def check_output_dir(run_dir: Path, identity: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    """Validate before anything is written. Returns the existing manifest when resuming, else None."""
    if run_dir.exists() and not run_dir.is_dir():
        raise BenchError(f"--output {run_dir} is a file, not a directory")
    has_content = run_dir.is_dir() and any(run_dir.iterdir())
    if not has_content:
        if resume:
            raise BenchError(f"--resume: {run_dir} holds no run to resume; drop --resume to start one")
        return None
    if not (run_dir / MANIFEST).is_file():
        raise BenchError(f"--output {run_dir} is not empty and holds no run: choose an empty or new directory")
    manifest = read_manifest(run_dir)
    recorded = with_identity_defaults(manifest.get("identity", {}))
    if recorded != with_identity_defaults(identity):
        diff = sorted(k for k in set(identity) | set(recorded) if identity.get(k) != recorded.get(k))
        raise BenchError(
            f"--output {run_dir} holds a different run (differs in: {', '.join(diff)}): choose another directory"
        )
    if not resume:
        raise BenchError(f"--output {run_dir} already holds this run: pass --resume to continue it or choose another directory")
    return manifest


def start_manifest(run_dir: Path, identity: dict[str, Any], environment: dict[str, Any]) -> dict[str, Any]:
    manifest = {"format": FORMAT, "identity": identity, "environment": environment, "sessions": []}
    write_json_atomic(run_dir / MANIFEST, manifest)
    return manifest


def open_session(run_dir: Path, manifest: dict[str, Any], started: float, pending: int) -> None:
    """Record that a session began (a killed session stays on record, with no wall time)."""
    manifest.setdefault("sessions", []).append({"started": started, "pending_docs": pending, "wall_s": None})
    write_json_atomic(run_dir / MANIFEST, manifest)


def close_session(run_dir: Path, manifest: dict[str, Any], wall_s: float) -> None:
    manifest["sessions"][-1]["wall_s"] = round(wall_s, 3)
    write_json_atomic(run_dir / MANIFEST, manifest)

"""Which runs a leaderboard shows, in which role, under which label: from the command line or a YAML spec.

```yaml
# leaderboard.yaml (paths are relative to this file)
title: SmolLM2 reflection checkpoints
runs:
  - {path: runs/base-135m, role: base, label: SmolLM2-135M}
  - {path: runs/ckpt-1200, role: candidate}
  - {path: runs/base-1.7b, role: reference, label: SmolLM2-1.7B}
```
Roles: ``base``, ``candidate``, ``reference`` (at most one base and one reference) and ``other`` (shown, not
compared). Each candidate is compared with the base and with the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.yaml_files import read_yaml

ROLES = ("base", "candidate", "reference", "other")


@dataclass(frozen=True)
class RunSpec:
    path: Path
    role: str
    label: str | None = None


def _check_role(role: str, where: str) -> str:
    role = role.strip().lower()
    if role not in ROLES:
        raise BenchError(f"{where}: unknown role {role!r}; use one of {', '.join(ROLES)}")
    return role


def parse_role_flag(text: str) -> RunSpec:
    """``ROLE=DIR`` from ``--role``."""
    role, sep, path = text.partition("=")
    if not sep or not path.strip():
        raise BenchError(f"--role {text!r}: expected ROLE=DIR, e.g. --role base=runs/base")
    return RunSpec(Path(path.strip()), _check_role(role, f"--role {text}"))


def read_spec(path: Path) -> tuple[list[RunSpec], dict[str, Any]]:
    """The runs of a YAML spec, and its other settings (title, allow_mismatch)."""
    if not Path(path).is_file():
        raise BenchError(f"cannot read --spec {path}: no such file")
    data = read_yaml(path, "--spec")
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list) or not data["runs"]:
        raise BenchError(f"--spec {path}: expected a mapping with a non-empty 'runs' list")
    unknown = set(data) - {"runs", "title", "allow_mismatch"}
    if unknown:
        raise BenchError(f"--spec {path}: unknown key(s) {sorted(unknown)}; allowed: runs, title, allow_mismatch")
    runs = []
    for i, item in enumerate(data["runs"], 1):
        if not isinstance(item, dict) or "path" not in item:
            raise BenchError(f"--spec {path}: run #{i} needs a 'path' (and optionally 'role', 'label')")
        extra = set(item) - {"path", "role", "label"}
        if extra:
            raise BenchError(f"--spec {path}: run #{i} has unknown key(s) {sorted(extra)}; allowed: path, role, label")
        run_path = Path(str(item["path"]))
        if not run_path.is_absolute():
            run_path = path.parent / run_path
        runs.append(
            RunSpec(
                run_path,
                _check_role(str(item.get("role", "candidate")), f"--spec {path} run #{i}"),
                str(item["label"]) if item.get("label") is not None else None,
            )
        )
    return runs, {k: v for k, v in data.items() if k != "runs"}


def merge(positional: list[Path], roles: list[RunSpec], spec: list[RunSpec]) -> list[RunSpec]:
    """Spec runs, then --role runs, then positional run dirs (role ``candidate``); each path once."""
    out: list[RunSpec] = []
    seen: dict[Path, RunSpec] = {}
    for rs in spec + roles + [RunSpec(p, "candidate") for p in positional]:
        key = rs.path.resolve()
        if key in seen:
            if rs.role != seen[key].role and rs in roles:
                raise BenchError(f"{rs.path} is given twice with different roles ({seen[key].role}, {rs.role})")
            continue
        seen[key] = rs
        out.append(rs)
    return out

"""What both exports need from a run: its manifest, records and the model name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.backend import parse_model_args
from reflectevo_bench.harness.records import SampleRecord, read_records
from reflectevo_bench.harness.run_dir import read_manifest


@dataclass
class RunExport:
    path: Path
    manifest: dict[str, Any]
    records: dict[str, list[SampleRecord]]

    @property
    def identity(self) -> dict[str, Any]:
        return self.manifest["identity"]

    @property
    def model_name(self) -> str:
        """lm-eval's ``model_name``: the ``pretrained=`` (or ``model=``) value, else the model type."""
        try:
            args = parse_model_args(self.identity.get("model_args") or "")
        except Exception:  # noqa: BLE001 - a malformed recorded string only costs the nicer name
            args = {}
        return str(args.get("pretrained") or args.get("model") or self.identity.get("model") or "model")

    @property
    def date(self) -> dt.datetime:
        raw = self.manifest.get("environment", {}).get("date")
        try:
            when = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            when = dt.datetime.fromtimestamp(0, dt.timezone.utc)
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def load_run_export(run_dir: Path) -> RunExport:
    manifest = read_manifest(run_dir)
    records = read_records(run_dir)
    if not any(records.values()):
        raise BenchError(f"{run_dir} holds no finished docs yet: nothing to export")
    return RunExport(Path(run_dir), manifest, records)


def later_turns(rec: SampleRecord) -> list[dict[str, Any]]:
    """Every turn after attempt 1 (reflections and retries, all branches), without the bulky rendered prompt."""
    out = []
    for turn in rec["turns"]:
        if turn["kind"] == "attempt" and turn["round"] == 1:
            continue
        out.append({k: v for k, v in turn.items() if k not in ("prompt", "timing")})
    return out

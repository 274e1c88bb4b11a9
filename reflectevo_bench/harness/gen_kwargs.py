"""``--gen-kwargs K=V,...`` with typed values; the harness default is greedy with 512 new tokens."""

from __future__ import annotations

from typing import Any

import yaml

from reflectevo_bench.errors import BenchError

DEFAULT_GEN_KWARGS: dict[str, Any] = {"do_sample": False, "max_gen_toks": 512}


def parse_gen_kwargs(text: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, raw = part.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"bad --gen-kwargs entry '{part}': expected KEY=VALUE pairs separated by commas")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key.strip()] = value
    if "until" in out and isinstance(out["until"], str):
        out["until"] = [out["until"]]
    return out

"""``K=V,...`` options (``--model-args``, ``--gen-kwargs`` with typed values); default greedy, 512 new tokens."""

from __future__ import annotations

from typing import Any

import yaml

from reflectevo_bench.errors import BenchError


def split_key_values(text: str | None, option: str) -> dict[str, str]:
    """`K=V,K=V` (as lm-eval parses model args) with one clear error naming ``option`` for anything else."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise BenchError(f"bad {option} entry '{part}': expected KEY=VALUE pairs separated by commas")
        out[key.strip()] = value.strip()
    return out


DEFAULT_GEN_KWARGS: dict[str, Any] = {"do_sample": False, "max_gen_toks": 512}


def parse_gen_kwargs(text: str | None, option: str = "--gen-kwargs") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in split_key_values(text, option).items():
        try:
            out[key] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            out[key] = raw
    if "until" in out and isinstance(out["until"], str):
        out["until"] = [out["until"]]
    return out

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
            raise BenchError(f"bad {option} entry {part!r}: expected KEY=VALUE pairs separated by commas")
        out[key.strip()] = value.strip()
    return out


DEFAULT_GEN_KWARGS: dict[str, Any] = {"do_sample": False, "max_gen_toks": 512}

# Typed checks for the keys every backend reads (others pass through untouched): (what it must be, test).
_INT = (int,)
_NUM = (int, float)
_CHECKS: dict[str, tuple[str, Any]] = {
    "max_gen_toks": ("a positive integer", lambda v: _is(v, _INT) and v >= 1),
    "max_new_tokens": ("a positive integer", lambda v: _is(v, _INT) and v >= 1),
    "temperature": ("a number >= 0", lambda v: _is(v, _NUM) and v >= 0),
    "top_p": ("a number in (0, 1]", lambda v: _is(v, _NUM) and 0 < v <= 1),
    "min_p": ("a number in [0, 1]", lambda v: _is(v, _NUM) and 0 <= v <= 1),
    "top_k": ("an integer >= -1", lambda v: _is(v, _INT) and v >= -1),
    "num_beams": ("a positive integer", lambda v: _is(v, _INT) and v >= 1),
    "repetition_penalty": ("a number > 0", lambda v: _is(v, _NUM) and v > 0),
    "seed": ("an integer", lambda v: _is(v, _INT)),
    "do_sample": ("true or false", lambda v: isinstance(v, bool)),
    "until": ("a string or a list of strings", lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v)),
}


def _is(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not isinstance(value, bool) and value == value  # no bool, no NaN


def check_gen_kwargs(kwargs: dict[str, Any], option: str = "--gen-kwargs") -> dict[str, Any]:
    """Refuse a value a backend would choke on later (after the run dir was written): one line naming the key."""
    for key, value in kwargs.items():
        check = _CHECKS.get(key)
        if check is not None and not check[1](value):
            raise BenchError(f"bad {option} value {key}={value!r}: {key} must be {check[0]}")
    return kwargs


def parse_gen_kwargs(text: str | None, option: str = "--gen-kwargs") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in split_key_values(text, option).items():
        try:
            out[key] = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            out[key] = raw
    if "until" in out and isinstance(out["until"], str):
        out["until"] = [out["until"]]
    return check_gen_kwargs(out, option)

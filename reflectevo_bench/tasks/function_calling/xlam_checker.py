"""The APIGen / xLAM check (Reflect, Retry, Reward): the calls must equal the ground truth as a multiset.

Each call must name the right tool and give every argument the right value. Value comparison is type-normalised
in one direction only, and documented here:
- numbers compare by value: ``5 == 5.0``; a bool is not a number (``True != 1``);
- strings compare exactly after stripping surrounding whitespace; a numeric string is *not* a number
  (``"5" != 5``): the tool's declared type decides what the caller must send, and a type mismatch is reported as
  such in the feedback;
- lists compare element by element in order (tuples are lists), dicts key by key.
An argument the model leaves out counts as given when the ground truth passes exactly the tool's declared
default, and an extra argument is tolerated when it equals the declared default (both are the same call).
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.tasks.function_calling.bfcl_checker import Problem
from reflectevo_bench.tasks.function_calling.calls import Call, perfect_matching


def values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # exact, and no OverflowError for an int too large for a float
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return a is None and b is None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


def _defaults(tool: dict[str, Any] | None) -> dict[str, Any]:
    params = (tool or {}).get("parameters") or {}
    if isinstance(params, dict) and "properties" in params and isinstance(params["properties"], dict):
        params = params["properties"]  # a JSON-schema style tool
    out = {}
    for name, spec in params.items() if isinstance(params, dict) else []:
        if isinstance(spec, dict) and "default" in spec:
            out[name] = spec["default"]
    return out


def _default_matches(value: Any, default: Any) -> bool:
    return values_equal(value, default) or (default is not None and str(value).strip() == str(default).strip())


def check_call(call: Call, expected: Call, tool: dict[str, Any] | None) -> Problem | None:
    if call.name != expected.name:
        return Problem("wrong_function", f"Your call to `{call.name}` is not the call this request needs.")
    defaults = _defaults(tool)
    for arg, gold in expected.arguments.items():
        if arg not in call.arguments:
            if arg in defaults and _default_matches(gold, defaults[arg]):
                continue
            return Problem("missing_argument", f"Your call to `{call.name}` is missing the argument `{arg}`.")
        value = call.arguments[arg]
        if not values_equal(value, gold):
            if _kind(value) != _kind(gold):
                return Problem(
                    "wrong_type",
                    f"Your call to `{call.name}` passes argument `{arg}` as a {_kind(value)}, which is the wrong type.",
                )
            return Problem("wrong_value", f"Your call to `{call.name}` has a wrong value for argument `{arg}`.")
    for arg, value in call.arguments.items():
        if arg in expected.arguments:
            continue
        if arg in defaults and _default_matches(value, defaults[arg]):
            continue
        return Problem("unexpected_argument", f"Your call to `{call.name}` has an unexpected argument `{arg}`.")
    return None


def check(calls: list[Call], expected: list[Call], tools: list[dict[str, Any]]) -> Problem | None:
    """None iff ``calls`` equal ``expected`` as a multiset of calls; else the first problem (for feedback)."""
    by_name = {t.get("name"): t for t in tools if isinstance(t, dict)}
    for call in calls:
        if call.name not in by_name:
            return Problem("unknown_function", f"You called `{call.name}`, which is not one of the available tools.")
    if len(calls) != len(expected):
        return Problem("wrong_count", f"You made {len(calls)} call(s); this request needs a different number of calls.")
    ok = [[check_call(c, e, by_name.get(e.name)) is None for e in expected] for c in calls]
    if perfect_matching(ok):
        return None
    for i, call in enumerate(calls):
        if any(ok[i]):
            continue
        same = [e for e in expected if e.name == call.name]
        if not same:
            return Problem("wrong_function", f"Your call to `{call.name}` is not one of the calls this request needs.")
        return check_call(call, same[0], by_name.get(call.name))
    return Problem("wrong_value", "Your calls do not match the request: one of them repeats what another does.")

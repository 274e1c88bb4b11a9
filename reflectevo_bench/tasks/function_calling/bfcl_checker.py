"""BFCL's AST possible-answer check (Python categories), with feedback that never reveals an expected value.

Semantics follow bfcl_eval's ``ast_checker`` for Python:
- a possible answer maps each argument to a list of acceptable values; ``""`` in the list means the argument may
  be omitted; arguments not in the possible answer are unexpected; required arguments must be present;
- types follow the function doc (``integer``, ``float``, ``string``, ``boolean``, ``array``, ``tuple``, ``dict``,
  ``any``); an int is accepted for a ``float`` argument, tuples become lists; bool is not an int; a value whose
  type equals the possible answer's type is accepted (BFCL's "variable" rule);
- strings compare after BFCL's standardisation (drop spaces and ``,./-_*^``, lower case, ``'`` → ``"``), also
  inside lists and dicts; dicts and lists of dicts are checked key by key;
- the number of calls must equal the number of expected calls, and parallel calls match in any order (a full
  bipartite matching, where bfcl_eval matches greedily: the same on every BFCL item, never stricter);
- an empty ground truth (the irrelevance category) expects no call at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reflectevo_bench.tasks.function_calling.calls import Call, perfect_matching

PY_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_STD = re.compile(r"[ ,./\-_*^]")


def standardize(text: str) -> str:
    return _STD.sub("", text).lower().replace("'", '"')


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with one call against one expected call (kind + feedback text)."""

    kind: str
    message: str


def _first_type(allowed: list[Any]) -> type | None:
    for value in allowed:
        if value != "":
            return type(value)
    return None


def _std(value: Any) -> Any:
    return standardize(value) if isinstance(value, str) else value


def _dict_ok(value: dict, allowed: list[Any]) -> bool:
    for option in allowed:
        if option == "" or not isinstance(option, dict):
            continue
        if any(k not in option for k in value):
            continue
        if any(_std(v) not in [_std(a) for a in option[k]] for k, v in value.items()):
            continue
        if any(k not in value and "" not in v for k, v in option.items()):
            continue
        return True
    return False


def _list_of_dicts_ok(value: list, allowed: list[Any]) -> bool:
    for option in allowed:
        if not isinstance(option, list) or len(option) != len(value):
            continue
        if all(isinstance(v, dict) and _dict_ok(v, [o]) for v, o in zip(value, option)):
            return True
    return False


def _list_ok(value: list, allowed: list[Any]) -> bool:
    got = [_std(v) for v in value]
    return any(isinstance(option, list) and got == [_std(v) for v in option] for option in allowed)


def _nested_ok(items: list, option: list, nested: type) -> bool:
    """BFCL's one-level nested type check of list items against one possible answer."""
    answer_type = _first_type(option)
    return all(type(item) is nested or (answer_type is not None and type(item) is answer_type) for item in items)


def _type_ok(value: Any, expected: type, allowed: list[Any], nested: type | None) -> tuple[bool, bool]:
    """(type acceptable, value is a "variable" in BFCL's sense: the possible answer has another type)."""
    answer_type = _first_type(allowed)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return True, is_variable
        # as in bfcl_eval, a non-list possible answer (the "" of an optional argument) passes the nested check
        return any(not isinstance(o, list) or _nested_ok(value, o, nested) for o in allowed), is_variable
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, is_variable


def check_call(
    call: Call, expected_name: str, allowed_args: dict[str, list[Any]], doc: dict[str, Any] | None
) -> Problem | None:
    """None if ``call`` satisfies the expected call, else its first problem."""
    name = expected_name
    if call.name != name:
        return Problem("wrong_function", f"Your call to `{call.name}` is not the call this request needs.")
    props = (doc or {}).get("parameters", {}).get("properties", {}) if doc else {}
    required = (doc or {}).get("parameters", {}).get("required", []) if doc else []
    for param in required:
        if param not in call.arguments:
            return Problem("missing_argument", f"Your call to `{name}` is missing the required argument `{param}`.")
    for param, value in call.arguments.items():
        if param not in allowed_args or (doc is not None and param not in props):
            return Problem("unexpected_argument", f"Your call to `{name}` has an unexpected argument `{param}`.")
        allowed = allowed_args[param]
        spec = props.get(param, {})
        type_name = spec.get("type", "any")
        expected = PY_TYPES.get(type_name, str)
        nested = PY_TYPES.get(spec.get("items", {}).get("type", ""), None) if type_name in ("array", "tuple") else None
        if type_name == "tuple" and isinstance(value, tuple):
            value = list(value)
        if type_name == "float" and type(value) is int:
            value = float(value)
        ok, is_variable = _type_ok(value, expected, allowed, nested)
        if not ok:
            return Problem(
                "wrong_type",
                f"Your call to `{name}` passes argument `{param}` as "
                f"{type(value).__name__}, but the function expects {type_name}.",
            )
        if not is_variable:
            if expected is dict:
                good = _dict_ok(value, allowed)
            elif expected is list and nested is dict:
                good = _list_of_dicts_ok(value, allowed)
            elif expected is str:
                good = standardize(value) in [standardize(a) for a in allowed if isinstance(a, str)]
            elif expected is list:
                good = _list_ok(value, allowed)
            else:
                good = value in [a for a in allowed if a != ""]
        else:
            good = value in allowed
        if not good:
            return Problem("wrong_value", f"Your call to `{name}` has a wrong value for argument `{param}`.")
    for param, allowed in allowed_args.items():
        if param not in call.arguments and "" not in allowed:
            return Problem("missing_argument", f"Your call to `{name}` is missing the argument `{param}`.")
    return None


def _match(calls: list[Call], expected: list[tuple[str, dict]], docs: dict[str, dict]) -> bool:
    """A perfect matching between calls and expected calls where every pair passes."""
    ok = [[check_call(c, n, a, docs.get(n)) is None for (n, a) in expected] for c in calls]
    return len(calls) == len(expected) and perfect_matching(ok)


def check(calls: list[Call], ground_truth: list[dict[str, dict]], functions: list[dict]) -> Problem | None:
    """None if the calls satisfy BFCL's possible answer, else the first problem found (for feedback)."""
    docs = {f["name"]: f for f in functions}
    if not ground_truth:
        if calls:
            names = ", ".join(f"`{c.name}`" for c in calls)
            return Problem("unexpected_call", f"Your response called {names}, which does not fit this request.")
        return None
    expected = [next(iter(gt.items())) for gt in ground_truth]
    for call in calls:
        if call.name not in docs:
            return Problem(
                "unknown_function", f"You called `{call.name}`, which is not one of the available functions."
            )
    if len(calls) != len(expected):
        return Problem(
            "wrong_count", f"You made {len(calls)} function call(s); this request needs a different number of calls."
        )
    if _match(calls, expected, docs):
        return None
    # explain the first call that has no partner: against the same-named expected call it is closest to
    for call in calls:
        if any(check_call(call, n, a, docs.get(n)) is None for n, a in expected):
            continue
        same = [(n, a) for n, a in expected if n == call.name]
        if not same:
            return Problem("wrong_function", f"Your call to `{call.name}` is not one of the calls this request needs.")
        problems = [check_call(call, n, a, docs.get(n)) for n, a in same]
        return problems[0]
    return Problem("wrong_value", "Your calls do not match the request: one of them repeats what another does.")

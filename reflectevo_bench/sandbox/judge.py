"""The harness's side of a verdict: read the candidate's claims, decide pass/fail, build the result.

Only this module decides whether a program passed. Exit codes and stdout count for nothing. The report
channel (fd 3 in the candidate's process) is read as claims:

* every line must be JSON carrying the job's nonce; records must come in order: ``load``, one ``t`` per split
  unit in unit order, then ``end``. A duplicate, out-of-order, foreign or malformed record marks the channel
  as tampered and the run as failed. Missing records mean the tests did not run (status failed/killed/...);
* split units (see :mod:`plan`) carry only values; the verdict expression is evaluated here by a tiny
  evaluator over builtin values (:func:`safe_eval`), or by the trusted judge process when it needs more;
* general units (statements that need the program throughout, e.g. HumanEval checks with loops) are
  judged by the trusted check process (see ``runner.check_main``), which runs the statement itself and gets
  only values from the program's process. Their ``ok``/``err`` records are read from the check channel
  (fd 4 of that process) only; the program's process never holds it, so nothing it writes can pass one.

The evaluator accepts constants, containers, hole names, comparisons, ``and``/``not``, arithmetic on
numbers, a fixed set of pure builtins and a few ``math`` functions; anything else goes to the judge process.
"""

from __future__ import annotations

import ast
import json
import math
import operator
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from .codec import CodecError, check_hash_spread, decode, short_repr, uses_tags
from .plan import Plan, Unit, parse
from .result import SandboxResult, TestOutcome

MAX_INT_BITS = 1 << 16
MAX_ALLOC = 1 << 20  # bytes(n) / bytearray(n) in the inline evaluator
MAX_NDIGITS = 1000  # round(x, n)
EXACT_ONLY = ("M", "R")  # Decimal, Fraction: int()/round() of Decimal('1e999999999') runs for minutes


class NotSafe(Exception):
    pass


def _num(*values: Any) -> None:
    for v in values:
        if type(v) not in (int, float, complex, bool):
            raise NotSafe("arithmetic on non-numbers")
        if type(v) is int and v.bit_length() > MAX_INT_BITS:
            raise NotSafe("integer too large for the inline evaluator")


def _pow(a: Any, b: Any) -> Any:
    _num(a, b)
    if type(b) is int and abs(b) > 256 and type(a) is int and abs(a) > 1:
        raise NotSafe("large power")
    return a**b


BINOPS: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _pow,
}
CMPOPS: dict[type, Callable] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
SAFE_FUNCS: dict[str, Callable] = {
    "set": set,
    "frozenset": frozenset,
    "tuple": tuple,
    "list": list,
    "sorted": sorted,
    "dict": dict,
    "float": float,
    "int": int,
    "str": str,
    "bool": bool,
    "complex": complex,
    "abs": abs,
    "round": round,
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "all": all,
    "any": any,
    "isinstance": isinstance,
    "repr": repr,
    "type": type,
    "bytes": bytes,
}
SAFE_TYPES = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
    "frozenset": frozenset,
    "complex": complex,
    "bytes": bytes,
}
SAFE_MATH = {
    "isclose",
    "pi",
    "e",
    "inf",
    "nan",
    "tau",
    "sqrt",
    "fabs",
    "floor",
    "ceil",
    "isnan",
    "isinf",
    "isfinite",
    "trunc",
}


@lru_cache(maxsize=4096)
def _compiled(verdict: str) -> ast.AST | None:
    """The verdict's AST when the inline evaluator supports every node, else None."""
    try:
        tree = parse(verdict, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, SystemError):
        return None
    for node in ast.walk(tree):
        if isinstance(
            node,
            (
                ast.Constant,
                ast.List,
                ast.Tuple,
                ast.Set,
                ast.Dict,
                ast.Compare,
                ast.UnaryOp,
                ast.Load,
                ast.cmpop,
                ast.unaryop,
                ast.operator,
                ast.keyword,
            ),
        ):
            if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
                return None
            continue
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            continue
        if isinstance(node, ast.boolop):
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            continue
        if isinstance(node, ast.Name) and (
            node.id.startswith("__h") or node.id in SAFE_TYPES or node.id in SAFE_FUNCS or node.id == "math"
        ):
            continue
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "math"
            and node.attr in SAFE_MATH
        ):
            continue
        if isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id in SAFE_FUNCS)
            or (
                isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "math"
                and node.func.attr in SAFE_MATH
            )
        ):
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                return None
            continue
        return None
    return tree


def safe_eval(verdict: str, holes: list[Any]) -> Any:
    tree = _compiled(verdict)
    if tree is None:
        raise NotSafe("not inline-evaluable")
    return _ev(tree, holes)


def _ev(node: ast.AST, h: list[Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id.startswith("__h"):
            return h[int(node.id[3:])]
        if node.id in SAFE_TYPES:
            return SAFE_TYPES[node.id]
        raise NotSafe(node.id)
    if isinstance(node, ast.List):
        return [_ev(e, h) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_ev(e, h) for e in node.elts)
    if isinstance(node, ast.Set):
        return {_ev(e, h) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise NotSafe("dict unpacking")
        return {_ev(k, h): _ev(v, h) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp):
        v = _ev(node.operand, h)
        if isinstance(node.op, ast.Not):
            return not v
        _num(v)
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BinOp):
        a, b = _ev(node.left, h), _ev(node.right, h)
        if isinstance(node.op, ast.Add) and type(a) is type(b) and type(a) in (str, list, tuple):
            return a + b
        _num(a, b)
        return BINOPS[type(node.op)](a, b)
    if isinstance(node, ast.BoolOp):
        result = True
        for v in node.values:
            result = _ev(v, h)
            if not result:
                return result
        return result
    if isinstance(node, ast.Compare):
        left = _ev(node.left, h)
        for op, comp in zip(node.ops, node.comparators):
            right = _ev(comp, h)
            if not CMPOPS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Attribute):
        return getattr(math, node.attr)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            func = getattr(math, node.func.attr)
        else:
            func = SAFE_FUNCS[node.func.id]
        args = [_ev(a, h) for a in node.args]
        kwargs = {k.arg: _ev(k.value, h) for k in node.keywords}
        _bounded_call(func, args, kwargs)
        return func(*args, **kwargs)
    raise NotSafe(type(node).__name__)


def _bounded_call(func: Callable, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse (to the sandboxed judge process) builtin calls whose cost the values could blow up."""
    for v in (*args, *kwargs.values()):
        if type(v) is int and v.bit_length() > MAX_INT_BITS and func in (int, str, float, complex, round, bytes):
            raise NotSafe("large int conversion")
        if type(v) not in (int, float, complex, bool, str, bytes, list, tuple, dict, set, frozenset, type(None)):
            if func in (int, round, float, complex) or func in (getattr(math, n) for n in ("floor", "ceil", "trunc")):
                raise NotSafe("conversion of a non-builtin number")
    if func in (bytes,) and args and type(args[0]) is int and args[0] > MAX_ALLOC:
        raise NotSafe("large allocation")
    if func is round and len(args) > 1 and (type(args[1]) is not int or abs(args[1]) > MAX_NDIGITS):
        raise NotSafe("round with many digits")
    if func is sum and (len(args) > 1 or "start" in kwargs):
        start = args[1] if len(args) > 1 else kwargs["start"]
        if type(start) not in (int, float, complex, bool):
            raise NotSafe("sum of non-numbers (quadratic)")
    if func in (set, frozenset, dict) and args:
        data = args[0]
        if func is dict and type(data) is not dict:
            data = [pair[0] for pair in data if type(pair) in (list, tuple) and len(pair) == 2]
        try:
            check_hash_spread(data)
        except CodecError as exc:
            raise ValueError(str(exc)) from None


def clean_text(text: str | None) -> str | None:
    """A message safe to print and to write as UTF-8: lone surrogates become ``\\udXXX`` text."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def failure_message(unit: Unit, values: list[Any]) -> str:
    if not unit.holes:
        return "AssertionError"
    parts = [f"{src} returned {short_repr(v)}" for src, v in zip(unit.holes, values)]
    return "AssertionError: " + "; ".join(parts)


def _trim(text: str | None, limit: int = 600) -> str | None:
    if text is None:
        return None
    text = clean_text(text if len(text) <= limit else text[: limit - 3] + "...")
    return text


def parse_report(
    raw: str, nonce: str, expected: list[int] | int, needs_load: bool = True, channel: str = "report channel"
) -> tuple[dict | None, list[dict], bool, str | None]:
    """Check one claim stream: returns (load record, unit records in order, complete, tamper reason).

    ``expected`` lists the unit indices this stream must report, in order (an int n means 0..n-1). The
    candidate's stream starts with a load record; the check process's stream (``needs_load=False``) has none.
    """
    if isinstance(expected, int):
        expected = list(range(expected))
    load, units, complete = None, [], False
    n_units = len(expected)
    for line in raw.split("\n"):  # only "\n" ends a record: str.splitlines would also split at U+2028, ...
        if not line:
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError, MemoryError):
            return load, units, False, f"malformed record on the {channel}"
        if not isinstance(rec, dict) or rec.get("n") != nonce:
            return load, units, False, f"record without the job's nonce on the {channel}"
        if "err" in rec and not isinstance(rec["err"], str):
            return load, units, False, f"malformed error record on the {channel}"
        kind = rec.get("k")
        if complete:
            return load, units, False, f"record after the end of the {channel}"
        loaded = load is not None or not needs_load
        if kind == "load" and needs_load:
            if load is not None or units:
                return load, units, False, "duplicate load record"
            load = rec
        elif kind == "t":
            if not loaded or (load is not None and "err" in load):
                return load, units, False, "test record before the program loaded"
            if len(units) >= n_units or rec.get("i") != expected[len(units)]:
                return load, units, False, f"out-of-order or duplicate record for test {rec.get('i')!r}"
            units.append(rec)
        elif kind == "end":
            if not loaded or len(units) != n_units:
                return load, units, False, "end record before every test reported"
            complete = True
        else:
            return load, units, False, f"unknown record on the {channel}"
    return load, units, complete, None


def interpret(
    plan: Plan,
    nonce: str,
    answer: dict,
    backend: str,
    mode: str,
    duration: float,
    oom: bool,
    run_judge: Callable[[dict], dict | None],
    limits_wire: dict,
    warnings: list[str],
) -> SandboxResult:
    """Turn a worker's answer about a candidate job into a SandboxResult."""
    end = answer.get("end")
    split = [u.index for u in plan.units if u.split]
    general = [u.index for u in plan.units if not u.split]
    load, records, complete, tamper = parse_report(answer.get("report", ""), nonce, split)
    if general:  # their verdicts come only from the check process's channel, which the program never holds
        _, checked, checks_complete, check_tamper = parse_report(
            str(answer.get("check", "")), nonce, general, needs_load=False, channel="check channel"
        )
        complete, tamper = complete and checks_complete, tamper or check_tamper
        records += checked
    by_unit = {rec["i"]: rec for rec in records}
    outcomes: list[TestOutcome] = []
    missing: list[TestOutcome] = []
    pending: list[tuple[Unit, list[Any], list[Any]]] = []  # (unit, decoded values, raw trees)
    for unit in plan.units:
        out = TestOutcome(unit.index, unit.source, False, None, True)
        outcomes.append(out)
        rec = by_unit.get(unit.index)
        if rec is None:
            missing.append(out)
        elif "err" in rec:
            out.error = _trim(str(rec["err"]))
        elif unit.split:
            vals = rec.get("v")
            if not isinstance(vals, list) or len(vals) != len(unit.holes or ()):
                tamper = tamper or f"malformed values for test {unit.index}"
                out.error = "malformed report"
                continue
            try:
                values = [decode(v) for v in vals]
            except CodecError as exc:
                out.error = _trim(f"unusable value: {exc}")
                continue
            try:
                if any(uses_tags(v, EXACT_ONLY) for v in vals):
                    raise NotSafe("Decimal/Fraction values are judged in the sandboxed judge process")
                ok = safe_eval(unit.verdict, values)
            except NotSafe:
                pending.append((unit, values, vals))
                out.error = "awaiting judge"
                continue
            except Exception as exc:  # the assertion itself raised (TypeError, ZeroDivisionError, ...)
                out.error = _trim(f"{type(exc).__name__}: {exc}")
                continue
            out.passed = bool(ok)
            out.error = None if out.passed else _trim(failure_message(unit, values))
        else:
            out.passed = rec.get("ok") == 1
            if not out.passed:
                out.error = "malformed report"
    judge_problem = None
    if pending:
        judged = run_judge(
            {
                "kind": "judge",
                "imports": plan.imports,
                "limits": limits_wire,
                "items": [{"i": u.index, "expr": u.verdict, "holes": raw} for u, _, raw in pending],
            }
        )
        by_index = {o.index: o for o in outcomes}
        verdicts = judged or {}
        for unit, vals, _ in pending:
            out = by_index[unit.index]
            rec = verdicts.get(unit.index)
            if rec is None:
                out.error = "the judge process gave no verdict"
                judge_problem = "the trusted judge process failed"
            elif "err" in rec:
                out.error = _trim(str(rec["err"]))
            else:
                out.passed = rec.get("ok") == 1
                out.error = None if out.passed else _trim(failure_message(unit, vals))
    # units that never reported
    if load is not None and "err" in load:
        missing_reason = "not run: the program failed to load"
    elif end == "timeout" or end == "cpu":
        missing_reason = "not run: time limit reached"
    elif end == "output":
        missing_reason = "not run: output limit reached"
    else:
        missing_reason = "not run: the program stopped before this test"
    for out in missing:
        out.error = missing_reason

    errors = [load.get("err")] if load and "err" in load else []
    errors += [o.error for o in outcomes if o.error]
    memory = oom or any(str(e).startswith("MemoryError") for e in errors)
    error: str | None = None
    if end in ("timeout", "cpu"):
        status = "timeout"
        error = "wall-clock limit reached" if end == "timeout" else "CPU time limit reached"
    elif end == "output":
        status, error = "output-limit", "output limit reached"
    elif memory:
        status, error = "memory", "memory limit reached"
    elif tamper:
        status, error = "failed", f"report channel tampered with: {tamper}"
    elif load is not None and "err" in load:
        status, error = "error", _trim(str(load["err"]))
    elif not complete:
        sig = answer.get("sig")
        if load is None and answer.get("code") == 71 and "seccomp setup failed" in answer.get("stderr", ""):
            status, error = "error", "sandbox setup failed: " + answer.get("stderr", "").strip()[:300]
        elif sig is not None:
            status, error = "killed", f"the program was killed by signal {sig} before every test reported"
        elif end == "worker-error" or end == "lost":
            status, error = "killed", f"the sandbox lost the program ({answer.get('msg') or end})"
        else:
            status = "failed"
            code = answer.get("code")
            error = "the program exited before every test reported" + (
                f" (exit code {code})" if code is not None else " (closed its report channel)"
            )
    elif judge_problem:
        status, error = "error", judge_problem
    else:
        status = "passed" if all(o.passed for o in outcomes) else "failed"
    return SandboxResult(
        status=status,
        tests=outcomes,
        stdout=clean_text(str(answer.get("stdout", ""))),
        stderr=clean_text(str(answer.get("stderr", ""))),
        duration_s=round(duration, 4),
        backend=backend,
        mode=mode,
        error=clean_text(error),
        warnings=list(warnings),
    )


def judge_verdicts(answer: dict | None, nonce: str, n: int) -> dict[int, dict] | None:
    """Parse a judge job's answer (trusted process, same channel format, no load record)."""
    if answer is None or answer.get("end") not in ("exit", "closed"):
        return None
    out: dict[int, dict] = {}
    for line in answer.get("report", "").split("\n"):
        if not line:
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError, MemoryError):
            return None
        if not isinstance(rec, dict) or rec.get("n") != nonce:
            return None
        if rec.get("k") == "t" and type(rec.get("i")) is int and ("err" not in rec or isinstance(rec["err"], str)):
            out[rec["i"]] = rec
    return out

"""Parse the function calls a model wrote, as JSON or as Python call syntax (``ast``, never ``eval``).

Accepted forms:
- JSON: ``[{"name": "f", "arguments": {...}}]`` (also ``"parameters"``/``"args"``, ``arguments`` as a JSON string,
  OpenAI's ``{"function": {...}}`` and ``{"tool_calls": [...]}``, BFCL's ``{"f": {...}}``), a single object, or
  several ``<tool_call>{...}</tool_call>`` blocks.
- Python: ``[f(a=1), g.h(b="x")]``, ``f(a=1)``, or one call per line. Arguments must be named and literal
  (numbers, strings, lists, dicts, tuples, ``True``/``true``/``None``/``null``); variables and expressions are
  rejected with a message saying so.
Calls inside fenced code blocks are preferred; otherwise calls are looked for in the whole response, so a short
explanation around them does no harm. ``[]`` is an explicit "no call".

Bounds (untrusted text): only the last ``PARSED_CHARS`` characters are read; values nest at most ``MAX_DEPTH`` levels; a number has at most ``MAX_NUMBER_CHARS``
characters; a call block is at most ``MAX_BLOCK_CHARS`` long; the scan of free text for call blocks reads and
parses at most ``SCAN_BUDGET`` characters in all. Past a bound the text is simply not a call.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

from reflectevo_bench.tasks.common.extract import PARSED_CHARS


@dataclass(frozen=True)
class Call:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


class CallSyntaxError(ValueError):
    """The text looks like a call but cannot be used (positional or non-literal arguments, bad JSON shape)."""


@dataclass
class Parsed:
    calls: list[Call] | None  # None: nothing parseable was found
    error: str | None = None  # why nothing usable was found (for feedback)
    form: str = "none"  # json | python | none


MAX_DEPTH = 32
MAX_NUMBER_CHARS = 100
MAX_BLOCK_CHARS = 20_000
SCAN_BUDGET = 1_000_000

# ----------------------------------------------------------------------------------------------- JSON

_NAME = re.compile(r"^[A-Za-z_][\w.\-/]*$")


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether a decoded value nests deeper than ``limit`` (iterative: never recurses itself)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def _loads(text: str) -> Any:
    """``json.loads`` with bounded numbers and depth; ValueError for anything else (4,301-digit ints included)."""
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if _too_deep(value):
        raise ValueError("nested too deeply")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError("number too long")
    return float(text)


def calls_from_json(value: Any, _depth: int = 0) -> list[Call]:
    """Calls from a decoded JSON value; CallSyntaxError if it is not a call or list of calls."""
    if _depth > 4:
        raise CallSyntaxError("calls nest too deeply")
    if isinstance(value, list):
        out: list[Call] = []
        for item in value:
            out.extend(calls_from_json(item, _depth + 1))
        return out
    if not isinstance(value, dict):
        raise CallSyntaxError(f"expected a call object, got {type(value).__name__}")
    if isinstance(value.get("tool_calls"), list):
        return calls_from_json(value["tool_calls"], _depth + 1)
    if isinstance(value.get("function"), dict) and "name" in value["function"]:
        return calls_from_json(value["function"], _depth + 1)
    if isinstance(value.get("name"), str):
        args: Any = {}
        for key in ("arguments", "parameters", "args", "kwargs"):
            if key in value:
                args = value[key]
                break
        if isinstance(args, str):
            try:
                args = _loads(args) if args.strip() else {}
            except ValueError:
                raise CallSyntaxError(f"the arguments of {value['name']} are not valid JSON") from None
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise CallSyntaxError(f"the arguments of {value['name']} must be an object of named arguments")
        return [Call(value["name"], dict(args))]
    if len(value) == 1:
        name, args = next(iter(value.items()))
        if isinstance(name, str) and _NAME.match(name) and isinstance(args, dict):
            return [Call(name, dict(args))]
    raise CallSyntaxError('a JSON call needs "name" and "arguments"')


# ----------------------------------------------------------------------------------------------- Python

_LITERAL_NAMES = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _literal(node: ast.AST, name: str, arg: str, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise CallSyntaxError(f"argument '{arg}' of {name} nests deeper than {MAX_DEPTH} levels")
    depth += 1
    if isinstance(node, ast.Constant):
        if node.value is Ellipsis:
            raise CallSyntaxError(f"argument '{arg}' of {name} is '...', not a value")
        if isinstance(node.value, int) and abs(node.value).bit_length() > 4 * MAX_NUMBER_CHARS:
            raise CallSyntaxError(f"argument '{arg}' of {name} is a number over {MAX_NUMBER_CHARS} digits")
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, name, arg, depth)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_literal(e, name, arg, depth) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise CallSyntaxError(f"argument '{arg}' of {name} uses ** unpacking")
        return {_literal(k, name, arg, depth): _literal(v, name, arg, depth) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Name) and node.id in _LITERAL_NAMES:
        return _LITERAL_NAMES[node.id]
    raise CallSyntaxError(
        f"argument '{arg}' of {name} is not a literal value (a {type(node).__name__}): "
        "write the value itself, not a variable or an expression"
    )


def _call_from_ast(node: ast.AST) -> Call:
    if not isinstance(node, ast.Call):
        raise CallSyntaxError("not a function call")
    name = _dotted(node.func)
    if name is None:
        raise CallSyntaxError("the called function must be a plain (dotted) name")
    if node.args:
        raise CallSyntaxError(f"{name} has positional arguments: name every argument, e.g. {name}(x=1)")
    args: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise CallSyntaxError(f"{name} uses ** unpacking: name every argument")
        args[kw.arg] = _literal(kw.value, name, kw.arg)
    return Call(name, args)


def calls_from_python(text: str) -> list[Call]:
    """Calls from ``f(a=1)``, ``[f(a=1), g(b=2)]`` or ``(f(a=1), g(b=2))``; CallSyntaxError otherwise."""
    source = text.strip()
    if len(source) > MAX_BLOCK_CHARS:
        raise CallSyntaxError(f"a call block is longer than {MAX_BLOCK_CHARS} characters")
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a 4,301-digit int
        raise CallSyntaxError("not valid call syntax") from None
    body = tree.body
    if isinstance(body, (ast.List, ast.Tuple)):
        return [_call_from_ast(e) for e in body.elts]
    return [_call_from_ast(body)]


# ----------------------------------------------------------------------------------------------- scanning

_FENCE = re.compile(r"```[\w+-]*[ \t]*\n?(.*?)```", re.S)
_TOOL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"
_CALL_START = re.compile(r"[A-Za-z_][\w.]*\s*\(")
_OPEN = {"(": ")", "[": "]", "{": "}"}


def _drop_thinking(text: str) -> str:
    """The text without ``<think>...</think>`` blocks, in one pass (an unclosed ``<think>`` is kept)."""
    out, pos = [], 0
    while True:
        start = text.find(_THINK_OPEN, pos)
        end = text.find(_THINK_CLOSE, start + len(_THINK_OPEN)) if start >= 0 else -1
        if start < 0 or end < 0:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:start])
        pos = end + len(_THINK_CLOSE)


def _matching_end(text: str, start: int, limit: int = MAX_BLOCK_CHARS) -> int | None:
    """Index one past the bracket closing ``text[start]`` (quotes respected) within ``limit`` characters, or
    None."""
    stack: list[str] = []
    quote: str | None = None
    i = start
    stop = min(len(text), start + limit)
    while i < stop:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in _OPEN:
            stack.append(_OPEN[ch])
        elif ch in ")]}":
            if not stack or stack.pop() != ch:
                return None
            if not stack:
                return i + 1
        i += 1
    return None


def _parse_block(text: str) -> tuple[list[Call] | None, str | None, str]:
    """Calls from a whole block of text: JSON first, then Python syntax."""
    s = text.strip()
    if not s:
        return None, None, "none"
    error = None
    if len(s) > MAX_BLOCK_CHARS:
        return None, f"a call block is longer than {MAX_BLOCK_CHARS} characters", "none"
    try:
        value = _loads(s)
    except ValueError:
        value = None
    else:
        try:
            return calls_from_json(value), None, "json"
        except CallSyntaxError as exc:
            error = str(exc)
    try:
        return calls_from_python(s), None, "python"
    except CallSyntaxError as exc:
        if error is None and _CALL_START.search(s):
            error = str(exc)
    lines = [ln.strip().rstrip(",;") for ln in s.splitlines() if ln.strip()]
    if len(lines) > 1:
        out: list[Call] = []
        form = "none"
        for line in lines:
            calls, _, form_line = _parse_block(line) if line != s else (None, None, "none")
            if calls is None:
                out = []
                break
            out.extend(calls)
            form = form_line
        if out:
            return out, None, form
    return None, error, "none"


def _scan(text: str) -> tuple[list[Call] | None, str | None, str]:
    """Every JSON list/object or Python call expression in free text that parses as calls, in order."""
    found: list[Call] = []
    forms: set[str] = set()
    error: str | None = None
    budget = SCAN_BUDGET  # characters read by bracket matching plus characters parsed, over the whole scan
    i = 0
    while i < len(text) and budget > 0:
        ch = text[i]
        start_call = (
            _CALL_START.match(text, i, i + 200)
            if (ch.isalpha() or ch == "_") and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_."))
            else None
        )
        if ch in "[{" or start_call:
            open_at = i if ch in "[{" else start_call.end() - 1
            end = _matching_end(text, open_at, min(MAX_BLOCK_CHARS, budget))
            budget -= (end or min(len(text), open_at + MAX_BLOCK_CHARS)) - open_at
            if end is not None:
                budget -= end - i
                calls, err, form = _parse_block(text[i:end])
                if calls is not None and (calls or ch == "["):
                    found.extend(calls)
                    forms.add(form)
                    i = end
                    continue
                error = error or err
        i += 1
    if found or forms:
        return found, None, "/".join(sorted(forms))
    return None, error, "none"


def parse_calls(response: str) -> Parsed:
    """The calls in a model response (see the module docstring for the accepted forms)."""
    text = _drop_thinking((response or "")[-PARSED_CHARS:])  # the calls are at the end: only the tail is read
    tags = _TOOL_TAG.findall(text)
    if tags:
        out: list[Call] = []
        for tag in tags:
            calls, err, _ = _parse_block(tag)
            if calls is None:
                return Parsed(None, err or "a <tool_call> block is not a valid call", "json")
            out.extend(calls)
        return Parsed(out, None, "json")
    fences = _FENCE.findall(text)
    if fences:
        out, forms, errors = [], set(), []
        any_ok = False
        for block in fences:
            calls, err, form = _parse_block(block)
            if calls is None:
                calls, err2, form = _scan(block)
                err = err or err2
            if calls is None:
                if err:
                    errors.append(err)
                continue
            any_ok = True
            out.extend(calls)
            forms.add(form)
        if any_ok:
            return Parsed(out, None, "/".join(sorted(forms)))
        if errors:
            return Parsed(None, errors[0], "none")
    calls, err, form = _parse_block(text)
    if calls is not None:
        return Parsed(calls, None, form)
    calls, err2, form = _scan(text)
    if calls is not None:
        return Parsed(calls, None, form)
    return Parsed(None, err or err2, "none")


def perfect_matching(ok: list[list[bool]]) -> bool:
    """Whether every row i can be paired with a distinct column j where ``ok[i][j]`` (order-free call matching)."""
    used = [False] * (len(ok[0]) if ok else 0)

    def assign(i: int) -> bool:
        if i == len(ok):
            return True
        for j in range(len(used)):
            if not used[j] and ok[i][j]:
                used[j] = True
                if assign(i + 1):
                    return True
                used[j] = False
        return False

    return assign(0)

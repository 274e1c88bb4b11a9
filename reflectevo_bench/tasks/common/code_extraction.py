"""Finding the program in a model's response (shared by MBPP and HumanEval). Parsing only: nothing here runs code.

Policy, in order:

1. ``[BEGIN] … [END]`` blocks (ReflectEvo / original MBPP format; ``[DONE]`` also closes one, a missing close
   runs to the end of the response) and Markdown code fences (```` ```python ````, ```` ```py ````, a bare
   ```` ``` ````; an unclosed fence runs to the end, which is what a response cut by ``max_gen_toks`` looks
   like). Fences tagged with another language (``bash``, ``text``, ``output``) count only when there is no
   other candidate. A fence inside a ``[BEGIN]`` block is unwrapped.
2. Among the candidates the one that defines the function the tests call wins, then one that parses, then the
   last one (models put a corrected version after a first try, and "example usage" blocks define nothing).
3. Without any block: the whole response if it parses as Python; otherwise the prose is stripped: the code starts
   at the first line that opens a definition or an import and ends at the last line that keeps it parseable.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
import warnings
from dataclasses import dataclass

PYTHON_TAGS = {"", "python", "py", "python3", "py3", "pycon", "ipython"}
_BEGIN = re.compile(r"\[BEGIN\][ \t]*\n?(.*?)(?:\[END\]|\[DONE\]|\Z)", re.S)
_CODE_START = re.compile(r"^(?:async\s+def|def|class|import|from\s+[\w.]+\s+import|@)\b|^@")
MAX_SHRINK = 200  # lines dropped from the end, at most, while looking for a parseable prefix
MAX_TRIES = 16  # parses per candidate start while looking for that prefix
MAX_STARTS = 32  # candidate first lines tried when stripping prose
PARSE_BUDGET = 4_000_000  # characters parsed while looking for code in one response, at most


@dataclass(frozen=True)
class Extracted:
    code: str
    source: str  # begin_end | fence | fence_unclosed | whole | stripped


PARSE_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError)


def parse(code: str) -> ast.Module:
    """``ast.parse`` without the warnings invalid escapes in model (and MBPP reference) code raise."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(code)


def parses(code: str) -> bool:
    try:
        parse(code)
    except PARSE_ERRORS:
        return False
    return True


def defines(code: str, name: str | None) -> bool:
    """Whether ``code`` binds ``name`` at module level (def, async def, class, assignment or import)."""
    if not name:
        return False
    try:
        tree = parse(code)
    except PARSE_ERRORS:
        return bool(re.search(rf"^[ \t]*(?:async[ \t]+)?def[ \t]+{re.escape(name)}[ \t]*\(", code, re.M))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
            (a.asname or a.name.split(".")[0]) == name for a in node.names
        ):
            return True
    return False


def called_function(tests: list[str]) -> str | None:
    """The function the tests call: the first call of a non-builtin name (``assert set(f(x)) == …`` → ``f``)."""
    for test in tests:
        try:
            tree = parse(test)
        except PARSE_ERRORS:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not hasattr(builtins, node.func.id):
                return node.func.id
    return None


def _fences(text: str) -> list[tuple[str, str, bool]]:
    """(language tag, content, closed) of every fenced block, line-based."""
    blocks: list[tuple[str, str, bool]] = []
    lang: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if lang is None:
            if stripped.startswith("```"):
                lang = stripped[3:].strip().split()[0].lower() if stripped[3:].strip() else ""
                lang = lang.strip("{}.")
                body = []
            continue
        if stripped.startswith("```"):
            blocks.append((lang, "\n".join(body), True))
            lang = None
        elif stripped.endswith("```"):  # "    return x```"
            body.append(line.rstrip()[:-3])
            blocks.append((lang, "\n".join(body), True))
            lang = None
        else:
            body.append(line)
    if lang is not None:
        blocks.append((lang, "\n".join(body), False))
    return blocks


def parseable_prefix(lines: list[str], floor: int, head: str = "", budget: list[int] | None = None) -> int | None:
    """The largest ``end`` (``floor <= end <= len(lines)``) such that ``head + "\n".join(lines[:end])`` parses.

    Bounded work on untrusted text: after a syntax error at line L the next try ends before L (not one line
    shorter), at most :data:`MAX_TRIES` parses, and ``budget`` (a one-item list of characters left) is shared
    by every call for one response. A linear one-line-at-a-time search took minutes for 36 KB of prose.
    """
    budget = budget if budget is not None else [PARSE_BUDGET]
    head_lines = head.count("\n")
    end = len(lines)
    for _ in range(MAX_TRIES):
        if end < floor:
            return None
        code = head + "\n".join(lines[:end])
        budget[0] -= len(code)
        if budget[0] < 0:
            return None
        try:
            parse(code)
            return end
        except SyntaxError as exc:
            bad = exc.lineno - 1 - head_lines if isinstance(exc.lineno, int) else None
            end = min(end - 1, bad) if bad is not None and bad >= 0 else end - 1
        except PARSE_ERRORS:
            end -= 1
    return None


def _clean(code: str) -> str:
    code = code.replace("\r\n", "\n")
    return textwrap.dedent(code).strip("\n").rstrip() + "\n"


def _candidates(response: str) -> tuple[list[Extracted], list[Extracted]]:
    """(python candidates, other-language candidates) in response order."""
    python: list[Extracted] = []
    other: list[Extracted] = []
    spans = []
    for match in _BEGIN.finditer(response):
        spans.append(match.span())
        content = match.group(1)
        inner = [(lang, c) for lang, c, _ in _fences(content) if lang in PYTHON_TAGS]
        code = inner[-1][1] if inner else content
        if code.strip():
            python.append(Extracted(_clean(code), "begin_end"))
    pieces, last = [], 0
    for start, end in spans:  # the response without its [BEGIN] blocks, built in one pass
        pieces.append(response[last:start])
        last = end
    pieces.append(response[last:])
    rest = "\n".join(pieces)
    for lang, content, closed in _fences(rest):
        if not content.strip():
            continue
        item = Extracted(_clean(content), "fence" if closed else "fence_unclosed")
        (python if lang in PYTHON_TAGS else other).append(item)
    return python, other


def _strip_prose(response: str) -> str | None:
    lines = response.replace("\r\n", "\n").split("\n")
    budget = [PARSE_BUDGET]
    starts = 0
    for start, line in enumerate(lines):
        if not _CODE_START.match(line.strip()) or line[:1].isspace():
            continue
        starts += 1
        if starts > MAX_STARTS or budget[0] <= 0:
            return None
        body = lines[start:]
        end = parseable_prefix(body, max(1, len(body) - MAX_SHRINK), budget=budget)
        if end is not None:
            return "\n".join(body[:end])
    return None


def extract_code(response: str, name: str | None = None) -> Extracted | None:
    """The program in ``response`` (see the module policy); ``name`` is the function the tests call.

    Never raises on hostile text: anything unexpected means "no code found" for this response only.
    """
    try:
        return _extract(response, name)
    except (RecursionError, MemoryError, ValueError, OverflowError):
        return None


def _extract(response: str, name: str | None) -> Extracted | None:
    if not response or not response.strip():
        return None
    python, other = _candidates(response)
    candidates = python or other
    if candidates:
        best_rank, best = None, None
        for position, cand in enumerate(candidates):
            rank = (defines(cand.code, name), parses(cand.code), position)
            if best_rank is None or rank > best_rank:
                best_rank, best = rank, cand
        return best
    whole = _clean(response)
    if parses(whole):
        return Extracted(whole, "whole")
    stripped = _strip_prose(response)
    if stripped is not None:
        return Extracted(_clean(stripped), "stripped")
    return None

"""HumanEval verifier: build the program, run the doc's ``check(candidate)`` in the sandbox (entry_point mode).

The program is either the prompt plus a body-only completion (the stock lm-eval continuation, or a fenced body),
or the model's full function definition after the prompt's own imports and helper functions (the "preamble":
everything in the prompt but the entry point's def), so a rewritten function still sees ``List`` or a helper
such as ``encode_cyclic``.

Feedback (hidden tests): the failing call of the entry point with its arguments and what it returned or raised;
never the expected value, the assert's message, or any other test. A check the sandbox runs as one unit (loops)
is named as ``check(f)``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Sequence
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common import code_execution as execution
from reflectevo_bench.tasks.common.code_extraction import (
    MAX_SHRINK,
    PARSE_ERRORS,
    defines,
    extract_code,
    parse,
    parseable_prefix,
)
from reflectevo_bench.tasks.humaneval.prompts import ANSWER_FORMAT
from reflectevo_bench.tasks.verdict import FunctionVerifier, Verdict, process_results_from

EXPECTED_HIDDEN = "(expected value hidden)"


def preamble(prompt: str, entry_point: str) -> str:
    """The prompt without the entry point's definition: its imports, constants and helper functions."""
    try:
        tree = parse(prompt)
    except PARSE_ERRORS:
        match = re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", prompt, re.M)
        return prompt[: match.start()] if match else ""
    lines = prompt.splitlines()
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            continue
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        kept.append("\n".join(lines[start - 1 : node.end_lineno]))
    return "\n".join(kept)


def _completion_program(prompt: str, body: str) -> str | None:
    """``prompt + body`` for a body-only completion (indented to the function if it is not), trailing prose cut."""
    lines = body.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    if not lines[0][:1].isspace():
        lines = textwrap.indent("\n".join(lines), "    ").split("\n")
    head = prompt if prompt.endswith("\n") else prompt + "\n"
    end = parseable_prefix(lines, max(1, len(lines) - MAX_SHRINK), head=head)
    return None if end is None else head + "\n".join(lines[:end]) + "\n"


def build_program(doc: dict[str, Any], response: str) -> tuple[str, str] | None:
    """(program, how it was built), or None when the response holds no code."""
    prompt, name = doc["prompt"], doc["entry_point"]
    found = extract_code(response or "", name)
    if found is not None and defines(found.code, name):
        head = preamble(prompt, name)
        return (head + "\n\n" + found.code if head.strip() else found.code), f"{found.source}:function"
    # a body: the raw response first when it has no block (a continuation keeps its own indentation), else the block
    bodies = [(response or "", "raw")]
    if found is not None:
        bodies.insert(0 if found.source != "whole" else 1, (found.code, found.source))
    for body, how in bodies:
        program = _completion_program(prompt, body)
        if program is not None:
            return program, f"{how}:completion"
    if found is not None:  # runs and fails with a clear NameError for the missing function
        return preamble(prompt, name) + "\n\n" + found.code, f"{found.source}:no_function"
    return None


def _entry_calls(source: str, name: str) -> list[str]:
    try:
        tree = parse(source)
    except PARSE_ERRORS:
        return []
    calls: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name:
            calls.append(ast.unparse(node))
            return  # outermost call only: its arguments are part of it
        for child in ast.iter_child_nodes(node):
            visit(child)

    test = tree.body[0].test if tree.body and isinstance(tree.body[0], ast.Assert) else tree
    visit(test)
    return calls


def _show_test(name: str):
    def show(outcome: Any) -> tuple[str, str]:
        calls = _entry_calls(outcome.source, name)
        if calls:
            shown = "; ".join(calls)
            shown = execution.trim(shown, execution.SOURCE_CHARS) + f" {EXPECTED_HIDDEN}"
        else:
            shown = f"check({name}) (a hidden test over several cases)"
        error = outcome.error or ""
        if error.startswith("AssertionError") and not outcome.judged_outside:
            error = "AssertionError"  # an assert run inside the program: its message belongs to the hidden test
        return shown, execution.trim(error)

    return show


def _check_doc(doc: dict[str, Any]) -> None:
    missing = [k for k in ("prompt", "test", "entry_point") if not isinstance(doc.get(k), str)]
    if missing:
        raise BenchError(
            f"humaneval doc lacks {missing} (expected the HumanEval schema: task_id, prompt, "
            "canonical_solution, test, entry_point)"
        )


def verify_many(docs: Sequence[dict[str, Any]], responses: Sequence[str]) -> list[Verdict]:
    """Verdicts for many (doc, response) pairs; the programs run in parallel on the shared sandbox pool."""
    if len(docs) != len(responses):
        raise ValueError("verify_many needs as many responses as docs")
    verdicts: list[Verdict | None] = [None] * len(docs)
    jobs, items = [], []
    for i, (doc, response) in enumerate(zip(docs, responses)):
        _check_doc(doc)
        try:
            built = build_program(doc, response)
        except (RecursionError, MemoryError, ValueError, OverflowError):  # hostile text fails its own row only
            built = None
        if built is None:
            verdicts[i] = execution.no_code_verdict(ANSWER_FORMAT)
            continue
        jobs.append((i, doc["entry_point"], *built))
        items.append({"program": built[0], "tests": [doc["test"]], "entry_point": doc["entry_point"]})
    timeout = execution.settings()["timeout_s"] if items else None
    for (i, name, program, source), result in zip(jobs, execution.run_programs(items)):
        verdicts[i] = execution.verdict_from(result, program, source, _show_test(name), timeout)
    return [v for v in verdicts if v is not None]


def _verify(doc: dict[str, Any], response: str) -> Verdict:
    return verify_many([doc], [response])[0]


# the Verifier (tasks.verdict): one program, a batch on the sandbox pool, the pool started before a run generates
verify = FunctionVerifier(_verify, verify_many, prepare=execution.executor)


process_results = process_results_from(verify, metric="pass@1")  # stock lm-eval scores it as the verifier does

"""Helpers for the task-family tests (imported as a top-level module: tests/ has no __init__.py)."""

from __future__ import annotations

import ast
from pathlib import Path

TASK_FIXTURES = Path(__file__).resolve().parent / "fixtures"
MINI_DATA = TASK_FIXTURES / "data"

# the generated families' task suffixes, pinned: task names must never change (a renamed task breaks old runs)
BBH = [
    "boolean_expressions",
    "causal_judgement",
    "date_understanding",
    "disambiguation_qa",
    "dyck_languages",
    "formal_fallacies",
    "geometric_shapes",
    "hyperbaton",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "logical_deduction_three_objects",
    "movie_recommendation",
    "multistep_arithmetic_two",
    "navigate",
    "object_counting",
    "penguins_in_a_table",
    "reasoning_about_colored_objects",
    "ruin_names",
    "salient_translation_error_detection",
    "snarks",
    "sports_understanding",
    "temporal_sequences",
    "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
    "tracking_shuffled_objects_three_objects",
    "web_of_lies",
    "word_sorting",
]
BFCL = ["simple", "multiple", "parallel", "parallel_multiple", "live_simple", "live_multiple", "irrelevance"]
BIGBENCH = [
    "causal_judgment",
    "date_understanding",
    "logical_deduction_three_objects",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "navigate",
    "object_counting",
    "sports_understanding",
    "strategyqa",
]


def load_tasks(names: str, data_dir: Path | str | None, limit: int | None = None):
    """EvalTasks through our registry (exactly what `run` and `score` use)."""
    from reflectevo_bench.tasks.registry import load_eval_tasks

    return load_eval_tasks(names, str(data_dir) if data_dir else None, limit)


def load_task(name: str, data_dir: Path | str | None, limit: int | None = None):
    tasks = load_tasks(name, data_dir, limit)
    assert len(tasks) == 1, [t.name for t in tasks]
    return tasks[0]


def score_cli(tmp_path: Path, task: str, rows: list[dict], data_dir: Path | str | None) -> list[dict]:
    """`reflectevo-bench score` through click's CliRunner; returns the scores.jsonl rows."""
    import json

    from click.testing import CliRunner

    from reflectevo_bench.cli import main

    preds = tmp_path / f"{task}-preds.jsonl"
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / f"{task}-scored"
    args = ["score", "--task", task, "--predictions", str(preds), "--output", str(out)]
    if data_dir:
        args += ["--data-dir", str(data_dir)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    return [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]


def asserts_equal_to(node: ast.AST, *types: type) -> bool:
    """``node`` is ``assert <expr> == <literal>`` whose literal has exactly one of ``types`` (code-task tests)."""
    return (
        isinstance(node, ast.Assert)
        and isinstance(node.test, ast.Compare)
        and len(node.test.ops) == 1
        and isinstance(node.test.ops[0], ast.Eq)
        and isinstance(node.test.comparators[0], ast.Constant)
        and type(node.test.comparators[0].value) in types
    )

"""Arith: seeded arithmetic with exact answers, disjoint train/test splits, a verifier with directional feedback."""

from __future__ import annotations

import re
import time

import pytest
from task_helpers import load_task, load_tasks, score_cli

from reflectevo_bench.tasks.arith.generator import LEVELS, build_splits, canonical, generate, one_op_problems
from reflectevo_bench.tasks.arith.verifier import ANSWER_FORMAT, verify
from reflectevo_bench.tasks.countdown.expression import evaluate, parse

TASKS = {1: "arith_1op", 2: "arith_2op", 3: "arith_3op"}


@pytest.fixture(scope="module")
def splits():
    """The shipped splits, exactly as the YAMLs configure them."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from reflectevo_bench.tasks.registry import TASKS_ROOT

    out = {}
    for level, name in TASKS.items():
        meta = load_yaml(TASKS_ROOT / "arith" / f"{name}.yaml", resolve_func=False)["metadata"]
        assert meta["level"] == level
        out[level] = build_splits(
            level, meta["num_examples"], meta["seed"], meta["num_train_examples"], meta["train_seed"]
        )
    return out


@pytest.mark.parametrize("level", LEVELS)
def test_generator_is_deterministic_and_prefix_stable(level):
    rows = generate(80, seed=7, level=level)
    assert generate(80, seed=7, level=level) == rows
    assert generate(30, seed=7, level=level) == rows[:30]
    assert generate(30, seed=8, level=level) != rows[:30]
    assert [r["id"] for r in rows] == list(range(80))


def test_shipped_test_rows_are_pinned(splits):
    """Changing the generator changes the benchmark: these first problems must not move."""
    assert [(r["expression"], r["answer"]) for r in splits[1]["test"][:3]] == [
        ("15 / 3", 5),
        ("29 - 7", 22),
        ("14 + 16", 30),
    ]
    assert [(r["expression"], r["answer"]) for r in splits[2]["test"][:3]] == [
        ("20 + 10 / 10", 21),
        ("7 - (19 - 13)", 1),
        ("12 + 15 + 20", 47),
    ]
    assert [(r["expression"], r["answer"]) for r in splits[3]["test"][:2]] == [
        ("19 + 20 - (20 + 6)", 13),
        ("16 * 3 - (18 + 14)", 16),
    ]


@pytest.mark.parametrize("level", LEVELS)
def test_splits_are_disjoint_and_unique_up_to_operand_order(splits, level):
    test, train = splits[level]["test"], splits[level]["train"]
    assert (len(test), len(train)) == (500, 1000)
    test_keys, train_keys = {canonical(r["expression"]) for r in test}, {canonical(r["expression"]) for r in train}
    assert len(test_keys) == len(test) and len(train_keys) == len(train)
    assert not test_keys & train_keys


def test_canonical_ignores_operand_order_of_plus_and_times_only():
    assert canonical("3 + 4") == canonical("4 + 3")
    assert canonical("2 * (3 + 4)") == canonical("(4 + 3) * 2")
    assert canonical("7 - 3") != canonical("3 - 7")
    assert canonical("8 / 2") != canonical("2 / 8")


@pytest.mark.parametrize("level", LEVELS)
def test_every_answer_is_exact_and_every_step_a_whole_number(splits, level):
    for row in splits[level]["test"] + splits[level]["train"]:
        expr = row["expression"]
        assert evaluate(parse(expr)) == row["answer"]
        # an independent oracle for the rendering (the generator's own strings, in a test only)
        assert eval(expr, {"__builtins__": {}}) == row["answer"]  # noqa: S307
        assert isinstance(row["answer"], int) and row["answer"] >= 0
        assert len(re.findall(r"[-+*/]", expr)) == level
        _assert_whole_steps(parse(expr).body)


def _assert_whole_steps(node):
    import ast
    from fractions import Fraction

    if isinstance(node, ast.BinOp):
        _assert_whole_steps(node.left)
        _assert_whole_steps(node.right)
        value = evaluate(ast.Expression(node))
        assert value >= 0 and value == Fraction(int(value))


def test_level_one_is_the_whole_space_drawn_without_replacement():
    space = one_op_problems()
    assert len({canonical(e) for e, _ in space}) == len(space) > 1900
    rows = generate(len(space), seed=1, level=1)
    assert {canonical(r["expression"]) for r in rows} == {canonical(e) for e, _ in space}
    with pytest.raises(ValueError, match="fewer than"):
        generate(len(space) + 1, seed=1, level=1)


@pytest.mark.parametrize("level", LEVELS)
def test_gold_answers_all_pass(splits, level):
    for row in splits[level]["test"] + splits[level]["train"]:
        v = verify(row, f"{row['expression']} = {row['answer']}\nAnswer: {row['answer']}")
        assert v.correct and v.score == 1.0 and v.extracted == str(row["answer"]), row


ROW = {"id": 0, "level": 1, "expression": "17 + 18", "answer": 35}


@pytest.mark.parametrize(
    "response",
    [
        "Answer: 35",
        "17 + 18 = 35",
        "17 + 18 = 35\n\nThe answer is 35.",
        "**Answer:** 35",
        "Answer: $35$.",
        "\\boxed{35}",
        "Answer: 35.0",
        "I add them.\nAnswer: 17 + 18 = 35",
        "Answer: 34\nWait.\nAnswer: 35",
        "Answer: \u221235 + 70 = 35",
    ],
)
def test_right_answers_in_the_forms_models_write(response):
    assert verify(ROW, response).correct, response


@pytest.mark.parametrize(
    "response,direction",
    [
        ("Answer: 34", "too small"),
        ("17 + 18 = 25", "too small"),
        ("Answer: 36", "too large"),
        ("Answer: 35.5", "too large"),
        ("Answer: -35", "too small"),
        ("The answer is 350.", "too large"),
    ],
)
def test_wrong_answers_say_which_way_without_the_value(response, direction):
    v = verify(ROW, response)
    assert not v.correct and v.score == 0.0 and v.details["reason"] == "wrong_value"
    assert direction in v.feedback and "17 + 18" in v.feedback
    assert "35" not in v.feedback.replace("35.5", "").replace("-35", "").replace("350", "")


def test_feedback_never_states_the_value(splits):
    for row in splits[1]["test"] + splits[2]["test"] + splits[3]["test"]:
        wrong = row["answer"] + 1
        v = verify(row, f"Answer: {wrong}")
        allowed = set(re.findall(r"\d+", row["expression"])) | {str(wrong)}
        assert set(re.findall(r"\d+", v.feedback)) <= allowed, (row, v.feedback)


def test_last_number_fallback_is_named_in_the_feedback():
    v = verify(ROW, "17 + 18 = 25")
    assert not v.correct and "No `Answer:` line" in v.feedback and v.details["source"] == "last_number"
    assert "No `Answer:` line" not in verify(ROW, "Answer: 25").feedback
    assert "whole number" in verify(ROW, "Answer: 35.5").feedback


@pytest.mark.parametrize("response", ["", "   ", "I don't know.", "Answer: thirty-five", "Answer:", "\x00\x01"])
def test_malformed_responses_get_format_feedback(response):
    v = verify(ROW, response)
    assert not v.correct and v.details["reason"] == "no_answer" and ANSWER_FORMAT in v.feedback


@pytest.mark.parametrize(
    "response",
    [
        "Answer: " + "9" * 100_000,  # too many digits for int()
        "Answer: " + "9" * 4000,  # a valid but enormous number
        "1 + " * 250_000 + "Answer: 35",  # a 1 MB response
        "Answer: \u0663\u0665",  # Arabic-Indic digits
        "Answer: \uff13\uff15",  # fullwidth digits
        "Answer: 3\u200b5",
        "Answer: \u202e53\u202c",
        "Answer: 35\U0001f600",
        "Answer: \ud800 35",
        "Answer: 35" + "\u0301" * 1000,
        "<answer>" * 10_000,
        "\\boxed{" * 10_000 + "35",
    ],
)
def test_hostile_responses_are_judged_quickly_without_errors(response):
    start = time.perf_counter()
    v = verify(ROW, response)
    assert time.perf_counter() - start < 5
    assert isinstance(v.correct, bool) and len(v.feedback) < 500
    if not v.correct:
        assert "35" not in v.feedback or "35" in (v.extracted or "")


def test_loads_through_the_registry_with_both_splits():
    task = load_task("arith_1op", None, limit=5)
    assert len(task.docs) == 5 and task.docs[0]["expression"] == "15 / 3"
    assert task.task.has_training_docs() and len(task.task.training_docs()) == 1000
    assert task.verifier_name.endswith(":verify")
    assert task.reflection.answer_format == ANSWER_FORMAT
    assert task.verify(task.docs[0], "Answer: 5").correct
    text = task.task.doc_to_text(task.docs[0])
    assert "15 / 3" in text and "Answer: <number>" in text


def test_train_split_loads_for_training_runs(splits):
    from reflectevo_bench.tasks.registry import load_eval_tasks

    (task,) = load_eval_tasks("arith_1op", None, 4, split="train")
    assert task.docs == splits[1]["train"][:4]
    assert (
        task.gold_response(task.docs[0]) == f"{task.docs[0]['expression']} = {task.docs[0]['answer']}\nAnswer: "
        f"{task.docs[0]['answer']}"
    )
    assert task.verify(task.docs[0], task.gold_response(task.docs[0])).correct


def test_group_loads_every_level():
    tasks = load_tasks("arith", None, limit=2)
    assert sorted(t.name for t in tasks) == sorted(TASKS.values())


def test_stock_lm_eval_scores_like_the_verifier():
    task = load_task("arith_2op", None, limit=3)
    doc = task.docs[0]
    for response in (f"Answer: {doc['answer']}", f"Answer: {doc['answer'] + 1}", "no idea"):
        assert task.task.process_results(doc, [response]) == {"exact_match": int(task.verify(doc, response).correct)}


def test_score_cli_judges_inline_docs_and_doc_ids(tmp_path, splits):
    doc = splits[1]["test"][1]
    rows = [
        {"doc": doc, "response": f"Answer: {doc['answer']}"},
        {"doc": doc, "response": "Answer: 0"},
        {"doc_id": 0, "response": "15 / 3 = 5"},
    ]
    scored = score_cli(tmp_path, "arith_1op", rows, None)
    assert [r["correct"] for r in scored] == [True, False, True]

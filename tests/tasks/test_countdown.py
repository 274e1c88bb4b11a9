"""Countdown: seeded generator with search-proven targets; verifier built on ast, never eval."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from reflectevo_bench.tasks.countdown.expression import ExpressionError, evaluate, parse
from reflectevo_bench.tasks.countdown.generator import generate, is_reachable
from reflectevo_bench.tasks.countdown.solver import solve
from reflectevo_bench.tasks.countdown.verifier import extract_answer, verify


@pytest.fixture(scope="module")
def rows():
    return generate(60, seed=7)


def test_generator_is_deterministic_and_prefix_stable(rows):
    assert generate(60, seed=7) == rows
    assert generate(20, seed=7) == rows[:20]
    assert generate(20, seed=8) != rows[:20]


def test_every_target_is_reachable_and_the_stored_solution_is_right(rows):
    for row in rows:
        assert 3 <= len(row["nums"]) <= 4
        assert is_reachable(row["nums"], row["target"])
        assert verify(row, f"Answer: {row['solution']}").correct


def test_solver_finds_known_and_rejects_impossible():
    assert Fraction(24) == evaluate(parse(solve([4, 7, 8, 8], 24)))
    assert solve([1, 1, 1], 100) is None
    assert solve([3, 3, 8, 8], 24) is not None  # needs fractions: 8 / (3 - 8 / 3)


def test_wrong_value_feedback_names_the_value(rows):
    row = {"nums": [2, 3, 4], "target": 20}
    v = verify(row, "Answer: 2 + 3 + 4")
    assert not v.correct and "evaluates to 9, not the target 20" in v.feedback


def test_numbers_must_each_be_used_exactly_once():
    row = {"nums": [2, 3, 4], "target": 20}
    assert verify(row, "Answer: (2 + 3) * 4").correct
    for bad in ("(2 + 3) * 4 * 1", "(3 + 2) * 4 + 4 - 4", "5 * 4", "(2 + 2 + 1) * 4"):
        v = verify(row, f"Answer: {bad}")
        assert not v.correct and "exactly once" in v.feedback, bad


def test_exact_rational_arithmetic_not_floats():
    row = {"nums": [3, 3, 8, 8], "target": 24}
    assert verify(row, "Answer: 8 / (3 - 8 / 3)").correct
    assert not verify({"nums": [1, 3, 3], "target": 1}, "Answer: 1 / 3 * 3 * 1").correct  # uses 1 twice


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('true')",
        "(lambda: 24)()",
        "2 ** 3 * 3",
        "open('/etc/passwd')",
        "24 if True else 0",
        "[24][0]",
        "2.5 * 4",
        "-2 * -12",
        "2 % 3",
        "x * 24",
    ],
)
def test_anything_but_plain_arithmetic_is_refused(hostile):
    with pytest.raises(ExpressionError):
        parse(hostile)


def test_unparsable_and_missing_answers_get_feedback():
    row = {"nums": [2, 3, 4], "target": 20}
    assert "could not be parsed" in verify(row, "Answer: (2 + 3 * 4").feedback
    assert "No final answer" in verify(row, "I am not sure.").feedback
    assert "divides by zero" in verify({"nums": [2, 2, 4], "target": 10}, "Answer: 4 / (2 - 2)").feedback


@pytest.mark.parametrize(
    "response,expected",
    [
        ("blah\nAnswer: (1 + 2) * 3", "(1 + 2) * 3"),
        ("<answer>(1+2)*3</answer>", "(1+2)*3"),
        ("Answer: 1\nthen\nAnswer: (1 + 2) * 3", "(1 + 2) * 3"),
        ("so we get\n(1 + 2) * 3 = 9", "(1 + 2) * 3 = 9"),
        ("**Answer:** (1 + 2) × 3", "(1 + 2) × 3"),
        ("So, the answer is `Answer: 98`.", "98"),
        ("Answer: $(1 + 2) * 3$.", "(1 + 2) * 3"),
    ],
)
def test_extraction_variants(response, expected):
    assert extract_answer(response) == expected


def test_equation_form_and_unicode_operators_are_accepted():
    row = {"nums": [1, 2, 3], "target": 9}
    assert verify(row, "Answer: (1 + 2) × 3 = 9").correct
    assert verify(row, "Answer: 9 = (1 + 2) * 3").correct


def test_random_perturbations_of_solutions_fail(rows):
    rng = random.Random(0)
    for row in rows[:30]:
        sol = row["solution"]
        digits = [i for i, ch in enumerate(sol) if ch.isdigit()]
        i = rng.choice(digits)
        bumped = sol[:i] + str((int(sol[i]) + 1) % 10) + sol[i + 1 :]
        assert not verify(row, f"Answer: {bumped}").correct


def test_dataset_cache_returns_exactly_the_generated_rows(tmp_path, monkeypatch):
    from reflectevo_bench.tasks.countdown.generator import cached_generate

    monkeypatch.setenv("REFLECTEVO_BENCH_CACHE", str(tmp_path))
    first = cached_generate(15, 3)
    assert list((tmp_path / "countdown").iterdir())
    assert cached_generate(15, 3) == first == generate(15, 3)


# sha256 of json.dumps(rows) for the 500 test problems as shipped before the train split existed (seed 2505)
TEST_SPLIT_SHA256 = "75b0cb327e13195c7f33d76d0599c530412554d45ea82a68877c08c8294133d9"


def test_test_split_is_unchanged():
    import hashlib
    import json

    assert hashlib.sha256(json.dumps(generate(500, 2505)).encode()).hexdigest() == TEST_SPLIT_SHA256


def test_excluded_problems_are_skipped_without_shifting_the_rest(rows):
    from reflectevo_bench.tasks.countdown.generator import problem_key

    more = generate(61, seed=7)
    key = problem_key(rows[3]["nums"], rows[3]["target"])
    assert problem_key(list(reversed(rows[3]["nums"])), rows[3]["target"]) == key
    kept = [r for r in more if problem_key(r["nums"], r["target"]) != key][:60]
    assert [(r["nums"], r["target"]) for r in generate(60, seed=7, exclude={key})] == [
        (r["nums"], r["target"]) for r in kept
    ]


def test_train_split_holds_no_test_problem_and_is_cached(tmp_path, monkeypatch):
    from lm_eval.tasks._yaml_loader import load_yaml

    from reflectevo_bench.tasks.countdown.generator import build_dataset, build_splits, problem_key
    from reflectevo_bench.tasks.registry import TASKS_ROOT

    cfg = load_yaml(TASKS_ROOT / "countdown" / "countdown.yaml", resolve_func=False)
    meta = cfg["metadata"]
    assert (cfg["training_split"], cfg["test_split"]) == ("train", "test")
    assert (meta["num_examples"], meta["seed"]) == (500, 2505) and meta["train_seed"] != meta["seed"]
    monkeypatch.setenv("REFLECTEVO_BENCH_CACHE", str(tmp_path))
    args = (meta["num_examples"], meta["seed"], meta["num_train_examples"], meta["train_seed"])
    splits = build_splits(*args)
    test, train = splits["test"], splits["train"]
    assert len(train) == meta["num_train_examples"] and [r["id"] for r in train] == list(range(len(train)))
    test_keys = {problem_key(r["nums"], r["target"]) for r in test}
    assert not test_keys & {problem_key(r["nums"], r["target"]) for r in train}
    unfiltered = generate(len(train), meta["train_seed"])
    assert any(problem_key(r["nums"], r["target"]) in test_keys for r in unfiltered)  # the exclusion is needed
    for row in train:
        assert 3 <= len(row["nums"]) <= 4 and is_reachable(row["nums"], row["target"])
        assert verify(row, f"Answer: {row['solution']}").correct
    assert len(list((tmp_path / "countdown").iterdir())) == 2
    assert build_splits(*args) == splits  # from the cache files now
    dataset = build_dataset(*args)
    assert dataset["test"].to_list() == test and dataset["train"].to_list() == train


def test_loads_with_both_splits_through_the_registry():
    from reflectevo_bench.tasks.registry import load_eval_tasks

    (task,) = load_eval_tasks("countdown", None, 3)
    assert [d["id"] for d in task.docs] == [0, 1, 2]
    assert task.task.has_training_docs() and len(task.task.training_docs()) == 1000

"""BIG-Bench Hard: 27 subtasks, "So the answer is X." answers compared per answer kind."""

from __future__ import annotations

import json
import re

import pytest
from task_helpers import load_task, load_tasks, score_cli

from reflectevo_bench.tasks.bbh.verifier import (
    verify_dyck,
    verify_mc,
    verify_number,
    verify_true_false,
    verify_valid_invalid,
    verify_words,
    verify_yes_no,
)
from reflectevo_bench.tasks.common.extract import parse_options

MC = {"input": "Which?\nOptions:\n(A) one\n(B) two\n(C) three", "target": "(B)"}


@pytest.mark.parametrize(
    "response,ok",
    [
        ("So the answer is (B).", True),
        ("So the answer is B.", True),
        ("... so the answer is (b)", True),
        ("So the answer is two.", True),
        ("So the answer is (A).", False),
        ("So the answer is (B) or (C).", False),
        ("So the answer is (D).", False),
    ],
)
def test_mc(response, ok):
    assert verify_mc(MC, response).correct is ok


def test_mc_text_target_upstream_quirk():
    doc = {"input": "Find a movie:\nOptions:\n(A) Monsters\n(B) Inc\n(C) Heat", "target": "Monsters, Inc"}
    assert verify_mc(doc, "So the answer is Monsters, Inc.").correct
    assert not verify_mc(doc, "So the answer is (A).").correct


@pytest.mark.parametrize(
    "fn,target,response,ok",
    [
        (verify_yes_no, "Yes", "So the answer is Yes.", True),
        (verify_yes_no, "yes", "So the answer is YES", True),
        (verify_yes_no, "No", "So the answer is yes.", False),
        (verify_yes_no, "No", "So the answer is: no, because", True),
        (verify_yes_no, "No", "So the answer is yes or no.", False),
        (verify_true_false, "False", "So the answer is False.", True),
        (verify_true_false, "True", "False", False),
        (verify_valid_invalid, "invalid", "So the answer is invalid.", True),
        (verify_valid_invalid, "invalid", "So the answer is not valid.", True),
        (verify_valid_invalid, "valid", "So the answer is invalid.", False),
        (verify_valid_invalid, "valid", "So the answer is valid.", True),
        (verify_number, "-50", "So the answer is -50.", True),
        (verify_number, "1000", "So the answer is 1,000.", True),
        (verify_number, "3", "So the answer is three.", True),
        (verify_number, "24", "So the answer is 25.", False),
        (verify_number, "2", "So the answer is 5 - 3 = 2.", True),
        (verify_dyck, "] } ]", "So the answer is ] } ].", True),
        (verify_dyck, "] } ]", "So the answer is ]}].", True),
        (verify_dyck, "] } ]", "So the answer is ] ].", False),
        (verify_words, "apple banana cherry", "So the answer is apple banana cherry.", True),
        (verify_words, "apple banana cherry", "So the answer is Apple, banana, cherry", True),
        (verify_words, "apple banana cherry", "So the answer is banana apple cherry.", False),
    ],
)
def test_answer_kinds(fn, target, response, ok):
    assert fn({"input": "Input: [ { [", "target": target}, response).correct is ok


@pytest.mark.parametrize(
    "fn,target,response",
    [
        # truncated / looping chains of thought (real code-davinci-002 rows): no "So the answer is" means no answer
        (verify_true_false, "False", "not False and False = not False and False = not False and"),
        (verify_number, "8", "(8 + 1 + 6 + 6) = (8 + 1 + 6 + 6) = (8 + 1 + 6 + 6) ="),
        (verify_dyck, ")", "30: ) ; stack: ( < { { { ( [ ( ( [\n31: ] ; stack: ( < { { { ( [ ( (\n32: )"),
        (verify_mc, "(B)", "Let's think step by step.\n(B)"),
    ],
)
def test_no_final_answer_phrase_is_no_answer(fn, target, response):
    doc = {"input": "Q?\nOptions:\n(A) one\n(B) two" if target == "(B)" else "Input: ( [", "target": target}
    verdict = fn(doc, response)
    assert not verdict.correct and "No final answer" in verdict.feedback


def test_dyck_accepts_the_completed_sequence():
    doc = {"input": "Complete the rest of the sequence. Input: [ { [", "target": "] } ]"}
    assert verify_dyck(doc, "So the answer is [ { [ ] } ].").correct


def test_feedback_does_not_reveal_the_target():
    verdict = verify_number({"input": "", "target": "24"}, "So the answer is 25.")
    assert verdict.feedback == 'Your final answer "25" is incorrect.'
    assert "No final answer" in verify_words({"input": "", "target": "a b"}, "").feedback


def test_fixture_task_zero_and_few_shot(mini_data, tmp_path):
    task = load_task("bbh_boolean_expressions", mini_data)
    zero, _ = task.first_turn(task.docs[0], lambda m, add_generation_prompt=True: "")
    assert zero[0]["content"].startswith("Evaluate the Boolean expression.\n\nQ: not ( True ) and ( True ) is")
    assert "So the answer is True.` or `So the answer is False." in zero[0]["content"]
    task.task.config.num_fewshot = 3  # the knob: num_fewshot: 3 (stock lm-eval: --num_fewshot 3)
    few, _ = task.first_turn(task.docs[0], lambda m, add_generation_prompt=True: "")
    # stock lm-eval's default (fewshot_as_multiturn=True): each exemplar is a user turn and an assistant turn
    assert [m["role"] for m in few] == ["user", "assistant"] * 3 + ["user"]
    assert few[0]["content"] == "Q: not ( False ) is\nA: Let's think step by step."
    assert few[1]["content"].startswith("not False = True.") and few[-1] == zero[0]
    task.fewshot_as_multiturn = False  # --no-fewshot-as-multiturn: one user turn
    few, _ = task.first_turn(task.docs[0], lambda m, add_generation_prompt=True: "")
    assert few[0]["content"].startswith("Q: not ( False ) is\nA: Let's think step by step.\nnot False = True.")
    assert few[0]["content"].count("Let's think step by step.") == 3 and few[0]["content"].endswith(zero[0]["content"])
    raw = json.loads((mini_data / "bbh" / "boolean_expressions.json").read_text())["examples"]
    scores = score_cli(
        tmp_path,
        "bbh_boolean_expressions",
        [{"doc": raw[0], "response": "So the answer is False."}, {"doc_id": 1, "response": "So the answer is False."}],
        mini_data,
    )
    assert [s["correct"] for s in scores] == [True, False]


def _perturbed(target: str, text: str) -> str:
    if re.fullmatch(r"\([A-Z]\)", target):
        others = [letter for letter in sorted(parse_options(text)) if letter != target[1]]
        return f"({others[0] if others else 'Z'})"
    flips = {"yes": "No", "no": "Yes", "true": "False", "false": "True", "valid": "invalid", "invalid": "valid"}
    if target.lower() in flips:
        return flips[target.lower()]
    if re.fullmatch(r"-?\d+", target):
        return str(int(target) + 1)
    if set(target) <= set(")]}> "):
        return target + " )"
    words = target.split()
    return " ".join(words[1:] + words[:1]) if len(words) > 1 else target + "s"


def test_gold_scores_all_and_perturbed_none(shared_data):
    tasks = load_tasks("bbh", shared_data)
    assert len(tasks) == 27 and sum(len(t.docs) for t in tasks) == 6511
    for task in tasks:
        assert all(
            task.verify(d, f"Let's think step by step.\nSo the answer is {d['target']}.").correct for d in task.docs
        ), task.name
        assert not any(
            task.verify(d, f"So the answer is {_perturbed(d['target'], d['input'])}.").correct for d in task.docs
        ), task.name

"""LogiQA (hub schema / original Test.txt) and ReflectEvo's LogiQA: robust single-letter answers."""

from __future__ import annotations

import json

import pytest
from task_helpers import TASK_FIXTURES, load_task, score_cli

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.logiqa.verifier import verify, verify_reflectevo

HUB_DOC = {"context": "c", "query": "q", "options": ["w", "x", "y", "z"], "correct_option": 1}
REFLECTEVO_DOC = {"id": 1, "question": "P.\nQ?\nA.one\nB.two\nC.three\nD.four", "answer": "c"}


@pytest.mark.parametrize(
    "response",
    [
        "C",
        "(C)",
        "C.",
        "c",
        "Answer: C",
        "answer is (c)",
        "Finish[C]",
        "**C**",
        "The answer is C. D is wrong.",
        "Step 1 ...\nStep 2 ...\nTherefore the correct option is C",
        "Answer: three",
    ],
)
def test_reflectevo_accepts_every_form_of_the_right_letter(response):
    assert verify_reflectevo(REFLECTEVO_DOC, response).correct  # ReflectEvo's strict match would reject "C."


@pytest.mark.parametrize("response", ["Answer: C or D", "Finish[C, D]", "C\n\nD", "Answer: (C) and (A)"])
def test_two_letters_are_wrong_with_feedback(response):
    verdict = verify_reflectevo(REFLECTEVO_DOC, response)
    assert not verdict.correct and verdict.details["reason"] == "ambiguous" and "exactly one" in verdict.feedback


def test_wrong_and_missing():
    wrong = verify(HUB_DOC, "Answer: A")
    assert not wrong.correct and wrong.feedback == "Your final answer (A) is incorrect."
    assert not verify(HUB_DOC, "I am not sure").correct
    assert verify(HUB_DOC, "Answer: B").correct
    with pytest.raises(BenchError):
        verify_reflectevo({"question": "q", "answer": "e"}, "A")


def test_fixture_tasks_both_local_formats(mini_data):
    hub_style = load_task("logiqa", mini_data)
    original = load_task("logiqa", TASK_FIXTURES / "logiqa_original")
    assert [hub_style.target(d) for d in hub_style.docs] == ["B", "C"]
    assert [original.target(d) for d in original.docs] == ["C", "A"]
    assert original.docs[1]["options"][0] == "Ana is a member."
    text = original.task.doc_to_text(original.docs[0])
    assert "Passage: Some doctors" in text and "\nC. Some doctors are patient." in text and "Answer: X" in text
    reflectevo = load_task("logiqa_reflectevo", mini_data)
    assert [reflectevo.verify(d, f"Answer: {d['answer'].upper()}.").correct for d in reflectevo.docs] == [True, True]


def test_score_cli_with_raw_rows(mini_data, tmp_path):
    rows = [json.loads(line) for line in (mini_data / "reflectevo" / "logiqa_test.jsonl").read_text().splitlines()]
    preds = [
        {"doc": rows[0], "response": "B."},
        {"doc": rows[1], "response": "Finish[A]"},
        {"doc": rows[1], "response": "A or D"},
    ]
    scores = score_cli(tmp_path, "logiqa_reflectevo", preds, mini_data)
    assert [s["correct"] for s in scores] == [True, False, False]
    hub_rows = [json.loads(line) for line in (mini_data / "logiqa" / "test.jsonl").read_text().splitlines()]
    scores = score_cli(tmp_path, "logiqa", [{"doc": hub_rows[0], "response": "(B)"}], mini_data)
    assert scores[0]["correct"] and scores[0]["extracted"] == "B"


def test_gold_scores_all_and_perturbed_none(shared_data):
    rows = [json.loads(line) for line in (shared_data / "reflectevo" / "logiqa_test.jsonl").read_text().splitlines()]
    assert len(rows) == 500
    for template in ("{L}", "{L}.", "({L})", "Answer: {L}", "Finish[{l}]", "**{L}**", "So the answer is {L}."):
        assert all(verify_reflectevo(r, template.format(L=r["answer"].upper(), l=r["answer"])).correct for r in rows)
    shift = {"a": "B", "b": "C", "c": "D", "d": "A"}
    assert not any(verify_reflectevo(r, f"Answer: {shift[r['answer']]}").correct for r in rows)
    assert not any(verify_reflectevo(r, f"Answer: {r['answer'].upper()} or {shift[r['answer']]}").correct for r in rows)


def test_score_inline_docs_loads_no_dataset(mini_data, tmp_path):
    """Inline {"doc": ...} rows need no dataset: logiqa_reflectevo has no hub copy, yet no --data-dir is needed."""
    rows = [json.loads(line) for line in (mini_data / "reflectevo" / "logiqa_test.jsonl").read_text().splitlines()]
    scores = score_cli(
        tmp_path,
        "logiqa_reflectevo",
        [{"doc": rows[0], "response": "Answer: B"}, {"doc": rows[1], "response": 'Action: Answer("D")'}],
        None,
    )
    assert [s["correct"] for s in scores] == [True, True]
    raw = json.loads((mini_data / "bbh" / "boolean_expressions.json").read_text())["examples"]
    scores = score_cli(
        tmp_path, "bbh_boolean_expressions", [{"doc": raw[0], "response": "So the answer is False."}], None
    )  # a task with a fewshot split too
    assert scores[0]["correct"]

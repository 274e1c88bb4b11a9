"""GSM8K: numeric extraction and exact numeric equality."""

from __future__ import annotations

import json

import pytest
from task_helpers import load_task, score_cli

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.gsm8k.verifier import gold_answer, verify

DOC = {"question": "?", "answer": "work <<1000+234=1234>>\n#### 1,234"}


@pytest.mark.parametrize(
    "response",
    [
        "#### 1234",
        "#### 1,234",
        "The answer is $1,234.",
        "Answer: 1234.00",
        "so 1000 + 234 = 1234",
        "\\boxed{1234}",
        "Answer: 1234 dollars",
        "First 1233, then corrected: 1234.",
    ],
)
def test_right_answers(response):
    assert verify(DOC, response).correct


@pytest.mark.parametrize("response", ["#### 1235", "Answer: 1,233", "The answer is 12.34", "Answer: -7"])
def test_wrong_answers_name_the_value_not_the_gold(response):
    verdict = verify(DOC, response)
    assert not verdict.correct and "incorrect" in verdict.feedback and "1234" not in verdict.feedback.replace(",", "")


def test_no_number():
    verdict = verify(DOC, "I have no idea.")
    assert not verdict.correct and "No final numeric answer" in verdict.feedback


def test_gold_parsing():
    assert gold_answer(DOC) == "1234"
    with pytest.raises(BenchError):
        verify({"question": "?"}, "1")


def test_fixture_task_and_prompt(mini_data):
    task = load_task("gsm8k", mini_data)
    assert [gold_answer(d) for d in task.docs] == ["12", "1500", "-3"]
    assert [task.verify(d, f"Answer: {gold_answer(d)}").correct for d in task.docs] == [True] * 3
    messages, _ = task.first_turn(task.docs[0], lambda m, add_generation_prompt=True: "")
    assert messages == [{"role": "user", "content": task.task.doc_to_text(task.docs[0])}]
    assert "Answer: <number>" in messages[0]["content"] and "3 boxes" in messages[0]["content"]
    assert task.target(task.docs[2]) == "-3"


def test_score_cli_with_raw_rows(mini_data, tmp_path):
    rows = [json.loads(line) for line in (mini_data / "gsm8k" / "test.jsonl").read_text().splitlines()]
    preds = [
        {"doc": rows[0], "response": "3 * 4 = 12\n#### 12"},
        {"doc": rows[1], "response": "Answer: 1,501"},
        {"doc_id": 2, "response": "It is -3 degrees."},
    ]
    assert [s["correct"] for s in score_cli(tmp_path, "gsm8k", preds, mini_data)] == [True, False, True]


def test_offline_hub_error_is_one_line():
    with pytest.raises(BenchError) as err:
        load_task("gsm8k", None)
    text = str(err.value)
    assert "openai/gsm8k" in text and "not available offline" in text and "gsm8k/test.jsonl" in text
    assert "\n" not in text


def test_gold_scores_all_and_perturbed_none(shared_data):
    rows = [json.loads(line) for line in (shared_data / "gsm8k" / "test.jsonl").read_text().splitlines()]
    assert len(rows) == 1319
    assert all(verify(r, r["answer"]).correct for r in rows)  # the worked solution itself, "#### N" last
    assert all(verify(r, f"Answer: {gold_answer(r)}").correct for r in rows)
    assert not any(verify(r, f"Answer: {int(gold_answer(r)) + 1}").correct for r in rows)
    assert not any(verify(r, f"#### {int(gold_answer(r)) - 1}").correct for r in rows)

"""MATH, MATH-500 and ReflectEvo MATH: \\boxed{} / final-answer extraction, math-verify equivalence."""

from __future__ import annotations

import json
import re
import threading

import pytest
from task_helpers import load_task, score_cli

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.hendrycks_math.verifier import equivalent, extract_answer, gold_answer, verify


@pytest.mark.parametrize(
    "gold,answer",
    [
        ("\\frac{1}{2}", "0.5"),
        ("\\frac{1}{2}", "\\frac12"),
        ("\\frac{1}{2}", "\\dfrac{1}{2}"),
        ("\\frac12", "1/2"),
        ("(-\\infty, 2]", "(-\\infty,2]"),
        ("2\\sqrt{2}", "\\sqrt{8}"),
        ("3", "x = 3"),
        ("\\text{(C)}", "C"),
        ("\\$18.90", "18.90"),
        ("1000", "1,000"),
        ("\\{1,2\\}", "\\{2,1\\}"),
        ("90^\\circ", "90"),
    ],
)
def test_equivalent_latex_variants(gold, answer):
    assert equivalent(gold, answer)[0]


@pytest.mark.parametrize(
    "gold,answer",
    [
        ("\\frac{1}{2}", "\\frac{1}{3}"),
        ("(-\\infty, 2]", "(-\\infty, 2)"),
        ("5", "6"),
        ("2\\sqrt{2}", "\\sqrt{6}"),
    ],
)
def test_different_answers_are_not_equivalent(gold, answer):
    assert not equivalent(gold, answer)[0]


@pytest.mark.parametrize(
    "response,answer",
    [
        ("so \\boxed{1} no wait \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
        ("Final Answer: The final answer is $\\frac{1}{2}$. I hope it is correct.", "$\\frac{1}{2}$"),
        ("The answer is: 7", "7"),
        ("I am unsure.", None),
    ],
)
def test_extraction(response, answer):
    assert extract_answer(response)[0] == answer


def test_verify_feedback_and_no_answer():
    doc = {"problem": "?", "answer": "\\frac{1}{2}"}
    assert verify(doc, "Thus the result is $\\boxed{0.5}$.").correct
    wrong = verify(doc, "\\boxed{\\frac{1}{3}}")
    assert not wrong.correct and "\\frac{1}{3}" in wrong.feedback and "1}{2" not in wrong.feedback
    missing = verify(doc, "It is one half.")
    assert not missing.correct and "\\boxed{}" in missing.feedback
    with pytest.raises(BenchError):
        verify({"problem": "?"}, "\\boxed{1}")


def test_verify_works_outside_the_main_thread():
    """math-verify's signal.alarm timeout only works in the main thread: elsewhere it is switched off."""
    doc = {"problem": "?", "solution": "so $\\boxed{\\dfrac{1}{2}}$"}
    out: dict[str, bool] = {}

    def work() -> None:
        out["right"] = verify(doc, "\\boxed{0.5}").correct
        out["wrong"] = verify(doc, "\\boxed{0.4}").correct

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(30)
    assert out == {"right": True, "wrong": False}


def test_fixture_loaders(mini_data):
    math500 = load_task("math500", mini_data)
    assert [gold_answer(d) for d in math500.docs] == ["\\frac{1}{2}", "4", "(-\\infty, 2]"]
    assert math500.docs[0].keys() >= {"problem", "solution", "answer", "unique_id"}
    full = load_task("math", mini_data)  # the original MATH layout, all 7 subjects
    assert len(full.docs) == 7 and all(full.verify(d, f"\\boxed{{{gold_answer(d)}}}").correct for d in full.docs)
    reflectevo = load_task("math_reflectevo", mini_data)
    assert [gold_answer(d) for d in reflectevo.docs] == ["4", "\\dfrac{1}{2}"]
    assert reflectevo.verify(reflectevo.docs[1], "\\boxed{0.5}").correct
    messages, _ = math500.first_turn(math500.docs[0], lambda m, add_generation_prompt=True: "")
    assert "\\boxed{}" in messages[0]["content"] and "frac{1}{4}" in messages[0]["content"]


def test_score_cli_with_raw_rows(mini_data, tmp_path):
    rows = [json.loads(line) for line in (mini_data / "math" / "test.jsonl").read_text().splitlines()]
    preds = [
        {"doc": rows[0], "response": "So $\\boxed{0.5}$."},
        {"doc": rows[1], "response": "\\boxed{5}"},
        {"doc_id": 2, "response": "Final answer: $(-\\infty,2]$"},
    ]
    scores = score_cli(tmp_path, "math500", preds, mini_data)
    assert [s["correct"] for s in scores] == [True, False, True]
    raw = [json.loads(line) for line in (mini_data / "reflectevo" / "math_test.jsonl").read_text().splitlines()]
    scores = score_cli(tmp_path, "math_reflectevo", [{"doc": raw[0], "response": "\\boxed{4}"}], mini_data)
    assert scores[0]["correct"]


def test_missing_file_and_offline_errors(tmp_path):
    with pytest.raises(BenchError, match=r"math/test\.jsonl not found"):
        load_task("math500", tmp_path)
    with pytest.raises(BenchError, match=r"HuggingFaceH4/MATH-500 is not available offline.*--data-dir"):
        load_task("math500", None)
    with pytest.raises(BenchError, match=r"no hub copy.*reflectevo/math_test\.jsonl"):
        load_task("math_reflectevo", None)


def _perturb(answer: str) -> str:
    match = re.search(r"\d+", answer)
    if match:
        return answer[: match.start()] + str(int(match.group()) + 1) + answer[match.end() :]
    return "\\text{none of these}"


@pytest.mark.parametrize("file", ["math/test.jsonl", "reflectevo/math_test.jsonl"])
def test_gold_scores_all_and_perturbed_none(shared_data, file):
    rows = [json.loads(line) for line in (shared_data / file).read_text().splitlines()]
    golds = [gold_answer(r) for r in rows]
    assert len(rows) == 500 and all(golds)
    assert all(verify(r, f"Reasoning...\nThe answer is $\\boxed{{{g}}}$.").correct for r, g in zip(rows, golds))
    sample = list(zip(rows, golds))[::4]  # math-verify costs ~10 ms a call: a quarter keeps the suite fast
    assert not [g for r, g in sample if verify(r, f"\\boxed{{{_perturb(g)}}}").correct]

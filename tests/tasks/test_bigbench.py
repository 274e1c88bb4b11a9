"""BIG-bench JSON tasks (multiple choice and free text) and ReflectEvo's BIG-bench mix."""

from __future__ import annotations

import json

from task_helpers import load_task, load_tasks, score_cli

from reflectevo_bench.tasks.bigbench.docs import LETTERS, to_doc
from reflectevo_bench.tasks.bigbench.verifier import verify, verify_reflectevo

MC_ROW = {"input": "Yesterday was April 30. Today is?", "target_scores": {"05/01": 1, "04/29": 0, "05/09": 0}}
FREE_ROW = {"input": "How many?", "target": ["three", "3"]}


def _letter(doc, choice):
    return LETTERS[doc["choices"].index(choice)]


def test_canonical_docs_do_not_depend_on_dict_order_or_schema():
    doc = to_doc(MC_ROW)
    reordered = to_doc({"input": MC_ROW["input"], "target_scores": {"05/09": 0, "04/29": 0, "05/01": 1}})
    arrow_union = to_doc({"input": MC_ROW["input"], "target_scores": {**MC_ROW["target_scores"], "06/01": None}})
    assert doc == reordered == arrow_union and to_doc(doc) == doc
    assert doc["kind"] == "mc" and sorted(doc["choices"]) == ["04/29", "05/01", "05/09"]
    hub = to_doc(
        {"inputs": "Q?", "targets": ["a"], "multiple_choice_targets": ["x", "y"], "multiple_choice_scores": [0, 1]}
    )
    assert hub["kind"] == "mc" and [hub["choices"][i] for i in hub["gold"]] == ["y"]
    assert to_doc({"inputs": "Q?", "targets": ["t1", "t2"], "multiple_choice_targets": []})["targets"] == ["t1", "t2"]
    both = to_doc({"input": "Frost?", "target": "Yes. Because ...", "target_scores": {"Yes": 1, "No": 0}})
    assert both["kind"] == "mc"  # strategyqa: target_scores wins


def test_mc_letters_and_option_text():
    doc = to_doc(MC_ROW)
    right, wrong = _letter(doc, "05/01"), _letter(doc, "04/29")
    assert verify(MC_ROW, f"Answer: ({right})").correct  # a raw row is canonicalised by the verifier too
    assert verify(doc, "Answer: 05/01").correct
    bad = verify(doc, f"Answer: {wrong}")
    assert not bad.correct and bad.feedback == f"Your final answer ({wrong}) is incorrect."
    assert verify(doc, f"Answer: {right} or {wrong}").details["reason"] == "ambiguous"


def test_free_text_normalised_exact_match_and_f1():
    assert verify(FREE_ROW, "I count them.\nAnswer: Three.").correct
    assert verify(FREE_ROW, "Answer: 3").correct
    partial = verify({"input": "Where?", "target": "on the red mat"}, "Answer: on the mat")
    assert not partial.correct and 0 < partial.details["f1"] < 1
    assert "on the mat" in partial.feedback and "red" not in partial.feedback


def test_reflectevo_kinds():
    mc = {"question": "Sky green?\nOptions:\nA. Yes\nB. No", "answer": "b"}
    free = {"question": "Passage...\n\nQuestion: Where did the cat sit?", "answer": "on the mat"}
    assert verify_reflectevo(mc, "B.").correct and verify_reflectevo(mc, "Answer: No").correct
    assert not verify_reflectevo(mc, "Answer: A").correct
    assert verify_reflectevo(free, "Answer: On the mat.").correct
    assert verify_reflectevo(free, "The cat sat.\nAnswer: on the mat").details["kind"] == "free"
    assert not verify_reflectevo(free, "Answer: under the table").correct


def test_fixture_tasks(mini_data, tmp_path):
    navigate, counting = load_tasks("bigbench_navigate,bigbench_object_counting", mini_data)
    text = navigate.task.doc_to_text(navigate.docs[0])
    assert text.startswith("If you follow these instructions") and "(A) " in text and "(B) " in text
    assert [navigate.verify(d, f"Answer: {navigate.target(d)}").correct for d in navigate.docs] == [True, True]
    assert counting.docs[0]["kind"] == "free" and counting.verify(counting.docs[0], "Answer: three").correct
    reflectevo = load_task("bigbench_reflectevo", mini_data)
    assert [reflectevo.target(d) for d in reflectevo.docs] == ["B", "on the mat", "A"]
    # raw task.json examples score through process_docs (letters as in the prompt)
    raw = json.loads((mini_data / "bigbench" / "navigate" / "task.json").read_text())["examples"]
    gold_letters = [navigate.target(d) for d in navigate.docs]
    scores = score_cli(
        tmp_path,
        "bigbench_navigate",
        [{"doc": raw[0], "response": f"Answer: {gold_letters[0]}"}, {"doc": raw[1], "response": "Answer: False"}],
        mini_data,
    )
    assert [s["correct"] for s in scores] == [True, True]
    rows = [json.loads(x) for x in (mini_data / "reflectevo" / "bigbench_test.jsonl").read_text().splitlines()]
    scores = score_cli(
        tmp_path,
        "bigbench_reflectevo",
        [{"doc": rows[1], "response": "Answer: on the mat."}, {"doc": rows[2], "response": "Answer: B"}],
        mini_data,
    )
    assert [s["correct"] for s in scores] == [True, False]


def _perturbed(doc):
    if doc["kind"] == "mc":
        wrong = [i for i in range(len(doc["choices"])) if i not in doc["gold"]]
        return f"({LETTERS[wrong[0]]})"
    return doc["targets"][0] + " x"


def test_gold_scores_all_and_perturbed_none(shared_data):
    tasks = load_tasks("bigbench", shared_data)
    assert len(tasks) == 9
    for task in tasks:
        assert task.docs, task.name
        assert all(task.verify(d, f"Let me think.\nAnswer: {task.target(d)}").correct for d in task.docs), task.name
        assert not any(task.verify(d, f"Answer: {_perturbed(d)}").correct for d in task.docs), task.name


def test_reflectevo_gold_scores_all_and_perturbed_none(shared_data):
    task = load_task("bigbench_reflectevo", shared_data)
    kinds = [verify_reflectevo(d, "x").details["kind"] for d in task.docs]
    assert len(task.docs) == 500 and kinds.count("mc") == 356
    assert all(task.verify(d, f"Answer: {task.target(d)}").correct for d in task.docs)
    swap = {"A": "B", "B": "A", "C": "A"}
    perturbed = [swap.get(task.target(d), task.target(d) + " extra") for d in task.docs]
    assert not any(task.verify(d, f"Answer: {p}").correct for d, p in zip(task.docs, perturbed))

"""HumanEval: building the program from a completion or a rewritten function, hidden-test feedback, gold/corrupted."""

from __future__ import annotations

import ast
import json
import time

import pytest
from task_helpers import asserts_equal_to, load_task, score_cli

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.data import read_records
from reflectevo_bench.tasks.humaneval.verifier import build_program, preamble, verify, verify_many
from reflectevo_bench.tasks.verdict import Verdict

pytestmark = pytest.mark.usefixtures("sandbox_pool")


@pytest.fixture(scope="module")
def fixture_docs(mini_data):
    return read_records(mini_data / "humaneval" / "HumanEval.jsonl.gz")


def fenced(code: str) -> str:
    return f"Here is the function:\n\n```python\n{code}\n```\n\nIt should pass the examples."


def def_only(doc: dict) -> str:
    """The entry point's definition with its body, without the prompt's imports and helpers."""
    start = doc["prompt"].index(f"def {doc['entry_point']}(")
    return doc["prompt"][start:] + doc["canonical_solution"]


# ----------------------------------------------------------------------------------------------- programs


def test_preamble_keeps_imports_and_helpers(fixture_docs):
    head = preamble(fixture_docs[0]["prompt"], "mean_of")
    assert "from typing import List" in head and "def _total" in head and "def mean_of" not in head
    assert preamble(fixture_docs[1]["prompt"], "shout").strip() == ""


def test_program_forms_that_pass(fixture_docs):
    doc = fixture_docs[0]
    body = doc["canonical_solution"]
    forms = {
        "raw continuation": (body, "raw:completion"),
        "fenced body at column 0": (fenced("return _total(xs) / len(xs)"), "fence:completion"),
        "fenced indented body": (fenced(body.rstrip()), "fence:completion"),
        "continuation with trailing prose": (body + "\nThis divides the total by the count.", "raw:completion"),
        "fenced prompt + body": (fenced(doc["prompt"] + body), "fence:function"),
        "function without the prompt's imports/helpers": (fenced(def_only(doc)), "fence:function"),
        "unfenced function after prose": ("Sure.\n\n" + def_only(doc) + "\nDone.", "stripped:function"),
    }
    for name, (response, how) in forms.items():
        program, source = build_program(doc, response)
        assert source == how, (name, source)
        verdict = verify(doc, response)
        assert verdict.correct, (name, verdict.feedback, program)


def test_no_code(fixture_docs):
    for response in ("", "I cannot help with that, sorry!"):
        verdict = verify(fixture_docs[0], response)
        assert not verdict.correct and verdict.details["reason"] == "no_code"
        assert "```python" in verdict.feedback


def test_wrong_name_is_reported_not_swallowed(fixture_docs):
    verdict = verify(fixture_docs[0], fenced("def average(xs):\n    return sum(xs) / len(xs)"))
    assert not verdict.correct
    # the function was not rewritten: the fenced code became the body of mean_of, which now returns None
    assert "mean_of([1, 2, 3]) returned None" in verdict.feedback


# ----------------------------------------------------------------------------------------------- feedback


def test_feedback_names_the_call_and_value_but_hides_the_expected_value(fixture_docs):
    verdict = verify(fixture_docs[0], "    return 0\n")
    assert not verdict.correct
    assert verdict.feedback == (
        "Test failed: mean_of([1, 2, 3]) (expected value hidden)\nAssertionError: mean_of([1, 2, 3]) returned 0"
    )
    assert "2.0" not in verdict.feedback and "==" not in verdict.feedback


def test_general_check_hides_its_assert_message(fixture_docs):
    doc = fixture_docs[1]
    assert verify(doc, doc["canonical_solution"]).correct
    verdict = verify(doc, "    return s.upper()\n")
    assert not verdict.correct
    assert verdict.feedback == "Test failed: check(shout) (a hidden test over several cases)\nAssertionError"
    assert "4242" not in verdict.feedback and "'A!'" not in verdict.feedback


def test_exceptions_and_load_errors(fixture_docs):
    doc = fixture_docs[0]
    verdict = verify(doc, "    return xs[10]\n")
    assert verdict.feedback.startswith("Test failed: mean_of([1, 2, 3]) (expected value hidden)\nIndexError")
    verdict = verify(doc, fenced("def mean_of(xs):\n    return (\n"))
    assert verdict.feedback.startswith("Your code raised an error before any test ran:\nSyntaxError: '(' was never")


@pytest.mark.parametrize("prefix", ["import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n", "raise SystemExit\n"])
def test_exiting_before_the_tests_fails(fixture_docs, prefix):
    doc = fixture_docs[0]
    assert not verify(doc, fenced(prefix + doc["prompt"] + doc["canonical_solution"])).correct
    assert not verify(doc, fenced(doc["prompt"] + doc["canonical_solution"] + prefix)).correct


def test_exit_inside_the_function_fails(fixture_docs):
    assert not verify(fixture_docs[0], "    import os\n    os._exit(0)\n").correct
    assert not verify(fixture_docs[1], "    import sys\n    sys.exit(0)\n").correct


# ----------------------------------------------------------------------------------------------- task


def test_fixture_task_prompt_and_score_cli(mini_data, tmp_path, fixture_docs):
    task = load_task("humaneval", mini_data)
    assert [d["task_id"] for d in task.docs] == ["Fixture/0", "Fixture/1"]
    text = task.task.doc_to_text(task.docs[0])
    assert "def mean_of(xs: List[int]) -> float:" in text and "```python" in text and "check" not in text
    assert task.target(task.docs[1]).endswith("return s.upper() + '!'\n")
    assert all(task.verify(d, task.target(d)).correct for d in task.docs)
    preds = [
        {"doc": fixture_docs[0], "response": fenced(def_only(fixture_docs[0]))},
        {"doc": fixture_docs[1], "response": "    return s\n"},
        {"doc_id": 1, "response": "no code"},
    ]
    assert [s["correct"] for s in score_cli(tmp_path, "humaneval", preds, mini_data)] == [True, False, False]


def test_stock_lm_eval_scores_like_our_verifier(mini_data):
    from lm_eval.tasks import TaskManager

    from reflectevo_bench.tasks.registry import TASKS_ROOT

    tm = TaskManager(
        include_path=[str(TASKS_ROOT / "humaneval")], include_defaults=False, metadata={"data_dir": str(mini_data)}
    )
    stock = tm.load("humaneval")["tasks"]["humaneval"]
    doc = list(stock.eval_docs)[0]
    assert stock.process_results(doc, [doc["canonical_solution"]]) == {"pass@1": 1}
    assert stock.process_results(doc, ["    return 0\n"]) == {"pass@1": 0}


def test_offline_hub_error_is_one_line(tmp_path):
    with pytest.raises(BenchError) as err:
        load_task("humaneval", None)
    assert "openai/openai_humaneval" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(BenchError) as err:
        load_task("humaneval", tmp_path)
    assert str(tmp_path / "humaneval" / "HumanEval.jsonl.gz") in str(err.value)


# ----------------------------------------------------------------------------------------------- shared data


def test_gold_and_corrupted_on_shared_data(shared_data):
    task = load_task("humaneval", shared_data)
    docs = task.docs
    assert len(docs) == 164
    started = time.monotonic()
    gold = verify_many(docs, [d["canonical_solution"] for d in docs])
    elapsed = time.monotonic() - started
    print(f"\nhumaneval gold: {sum(v.correct for v in gold)}/164 in {elapsed:.1f} s")
    assert [d["task_id"] for d, v in zip(docs, gold) if not v.correct] == []
    assert all(v.details["extraction"] == "raw:completion" for v in gold)
    assert all(v.correct for v in verify_many(docs, [fenced(d["prompt"] + d["canonical_solution"]) for d in docs]))
    assert all(v.correct for v in verify_many(docs, [fenced(def_only(d)) for d in docs]))

    none = verify_many(docs, ["    return None\n"] * len(docs))
    assert [d["task_id"] for d, v in zip(docs, none) if v.correct] == []
    for prefix in ("import sys\nsys.exit(0)\n", "import os\nos._exit(0)\n"):
        exits = verify_many(docs, [fenced(prefix + d["prompt"] + d["canonical_solution"]) for d in docs])
        assert not any(v.correct for v in exits)
    numeric = [d for d in docs if any(asserts_equal_to(n, int, float) for n in ast.walk(ast.parse(d["test"])))]
    assert len(numeric) > 40
    off = [
        d["prompt"] + d["canonical_solution"] + f"\n\n_reference = {d['entry_point']}\n\n"
        f"def {d['entry_point']}(*args, **kwargs):\n    result = _reference(*args, **kwargs)\n"
        "    return result + 1 if type(result) in (int, float) else result\n"
        for d in numeric
    ]
    assert not any(v.correct for v in verify_many(numeric, [fenced(o) for o in off]))
    for d, v in zip(docs, none):  # hidden tests: no feedback ever shows a comparison with the expected value
        assert "==" not in v.feedback.split("\n")[0], (d["task_id"], v.feedback)


def test_records_of_a_verdict_are_json(fixture_docs):
    verdict = verify(fixture_docs[0], "    return 0\n")
    assert not verdict.correct and verdict.feedback
    assert Verdict.from_dict(json.loads(json.dumps(verdict.to_dict()))) == verdict


def test_completion_building_is_bounded_on_hostile_responses() -> None:
    doc = {"prompt": 'def f(x):\n    """Return x."""\n', "entry_point": "f", "test": "", "task_id": "t/0"}
    for response in (
        "    return x\n" + "Prose that is not code at all, line after line.\n" * 190,
        "    (\n" * 5000,
        ("This is prose. " * 20 + "\n") * 200,
    ):
        start = time.monotonic()
        build_program(doc, response)
        assert time.monotonic() - start < 3.0
    program, how = build_program(doc, "    return x\nThat returns x.\n")
    assert how.endswith("completion") and program.endswith("    return x\n")

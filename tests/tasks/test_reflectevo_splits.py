"""ReflectEvo train splits: loaded under the test tasks' names, offline from local files, disjoint from the 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.splits import KEYS_FILE, content_key, held_out_keys, question_body
from reflectevo_bench.tasks.hendrycks_math.data import SUBJECTS
from reflectevo_bench.tasks.reflectevo_keys import KEY_TEXT, files
from reflectevo_bench.tasks.registry import load_eval_tasks

TASKS = ["logiqa_reflectevo", "math_reflectevo", "mbpp_reflectevo", "bigbench_reflectevo"]


def _load(task: str, data_dir: Path | str, split: str | None = "train", **meta):
    [loaded] = load_eval_tasks(task, str(data_dir), None, None, meta, split)
    return loaded


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _test_keys(task: str, data_dir: Path) -> set[str]:
    rel, text_of = KEY_TEXT[task]
    return {content_key(text_of(r)) for r in _rows(data_dir / rel)}


def test_committed_keys_are_the_shared_test_files(shared_data, tmp_path):
    """The key file shipped in the package is exactly what the 500-item test files give (rebuild if not)."""
    from reflectevo_bench.tasks.common.splits import write_test_keys

    out = tmp_path / "keys.json"
    write_test_keys(files(shared_data), out)
    assert json.loads(out.read_text()) == json.loads(KEYS_FILE.read_text())
    assert all(len(held_out_keys(t)) >= 499 for t in TASKS)


def test_every_task_loads_train_offline_where_local_files_exist(shared_data):
    """mbpp (mbpp/mbpp.jsonl) and bigbench (strategyqa's task.json) are local: they load, disjoint from the 500;
    logiqa, math and bigbench's other subtasks are not: one line names the missing file."""
    mbpp = _load("mbpp_reflectevo", shared_data)
    assert mbpp.split == "train" and 360 < len(mbpp.docs) <= 374
    assert all(601 <= d["task_id"] <= 974 for d in mbpp.docs)
    test_texts = {r["text"] for r in _rows(shared_data / "reflectevo" / "mbpp_test.jsonl")}
    assert not test_texts & {d["text"] for d in mbpp.docs}

    bigbench = _load("bigbench_reflectevo", shared_data, bigbench_subtasks=["strategyqa"])
    questions = {d["question"] for d in bigbench.docs}
    assert len(bigbench.docs) > 2200 and not questions & {
        r["question"] for r in _rows(shared_data / "reflectevo" / "bigbench_test.jsonl")
    }
    assert {content_key(KEY_TEXT["bigbench_reflectevo"][1](d)) for d in bigbench.docs}.isdisjoint(
        _test_keys("bigbench_reflectevo", shared_data)
    )
    first = bigbench.docs[0]
    assert first["question"].endswith("\nOptions:\nA. Yes\nB. No") and first["answer"] in ("a", "b")
    assert bigbench.verify(first, f"Answer: {first['answer'].upper()}").correct

    missing = {
        "logiqa_reflectevo": "logiqa_train.jsonl",
        "math_reflectevo": "MATH/train/algebra",
        "bigbench_reflectevo": "bigbench/vitaminc_fact_verification/task.json",
    }
    for task, name in missing.items():
        with pytest.raises(BenchError) as err:
            _load(task, shared_data)
        assert name in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_test_split_needs_no_training_data(tmp_path):
    """Loading the 500 reads only the test file (the train sources are absent here)."""
    from task_helpers import MINI_DATA

    for task in TASKS:
        rel = KEY_TEXT[task][0]
        _write(tmp_path / rel, _rows(MINI_DATA / rel))
        loaded = _load(task, tmp_path, None)
        assert loaded.split == "test" and len(loaded.docs) == len(_rows(MINI_DATA / rel))


def test_overlapping_items_are_dropped_from_every_local_source(shared_data, tmp_path):
    """Positive control: a real test item planted in each local train source is left out; new items stay."""
    re_dir = shared_data / "reflectevo"
    logiqa_test = _rows(re_dir / "logiqa_test.jsonl")[0]
    fresh = {"id": 1, "question": "A new passage.\nWhich is right?\nA.w\nB.x\nC.y\nD.z", "answer": "b"}
    _write(tmp_path / "reflectevo" / "logiqa_train.jsonl", [logiqa_test, fresh])
    assert [d["question"] for d in _load("logiqa_reflectevo", tmp_path).docs] == [fresh["question"]]

    math_test = _rows(re_dir / "math_test.jsonl")[0]
    new_problem = {"problem": "What is $1+1$?", "level": "Level 1", "type": "Algebra", "solution": "$\\boxed{2}$"}
    for subject in SUBJECTS:
        _write(
            tmp_path / "hendrycks_math" / subject / "train.jsonl",
            [math_test, new_problem] if subject == "algebra" else [new_problem],
        )
    math = _load("math_reflectevo", tmp_path)
    assert len(math.docs) == len(SUBJECTS) and all(d["problem"] == new_problem["problem"] for d in math.docs)

    mbpp_rows = _rows(shared_data / "mbpp" / "mbpp.jsonl")
    planted = dict(next(r for r in mbpp_rows if r["task_id"] == 11), task_id=700)  # a test problem, train id
    kept = next(r for r in mbpp_rows if r["task_id"] == 601)
    _write(tmp_path / "mbpp" / "mbpp.jsonl", [planted, kept, next(r for r in mbpp_rows if r["task_id"] == 12)])
    assert [d["task_id"] for d in _load("mbpp_reflectevo", tmp_path).docs] == [601]

    bb_test = _rows(re_dir / "bigbench_test.jsonl")
    yes_no = next(r for r in bb_test if r["question"].endswith("Options:\nA. Yes\nB. No"))
    body = yes_no["question"].split("\nOptions:")[0]
    task = {
        "name": "strategyqa",
        "examples": [
            {"input": body, "target_scores": {"Yes": 1, "No": 0}},
            {"input": "Is water wet?", "target_scores": {"Yes": 0, "No": 1}},
        ],
    }
    (tmp_path / "bigbench" / "strategyqa").mkdir(parents=True)
    (tmp_path / "bigbench" / "strategyqa" / "task.json").write_text(json.dumps(task))
    bb = _load("bigbench_reflectevo", tmp_path, bigbench_subtasks="strategyqa")
    assert [(d["question"], d["answer"]) for d in bb.docs] == [("Is water wet?\nOptions:\nA. Yes\nB. No", "b")]


def test_logiqa_original_train_file_is_rendered_in_reflectevo_schema(tmp_path):
    from task_helpers import TASK_FIXTURES

    original = TASK_FIXTURES / "logiqa_original" / "logiqa" / "Test.txt"
    (tmp_path / "logiqa").mkdir()
    (tmp_path / "logiqa" / "Train.txt").write_text(original.read_text(encoding="utf-8"), encoding="utf-8")
    loaded = _load("logiqa_reflectevo", tmp_path)
    doc = loaded.docs[0]
    assert doc["answer"] in "abcd" and "\nA." in doc["question"] and "\nD." in doc["question"]
    assert loaded.verify(doc, f"Answer: {doc['answer'].upper()}").correct


def test_unknown_bigbench_subtask_is_one_line(shared_data):
    with pytest.raises(BenchError, match="unknown subtask"):
        _load("bigbench_reflectevo", shared_data, bigbench_subtasks=["nope"])


def test_cli_run_reads_reflectevo_data_dir(shared_data, tiny_model, tmp_path, monkeypatch):
    """`run --split train` with no --data-dir takes REFLECTEVO_DATA_DIR (the manifest says which split ran)."""
    from click.testing import CliRunner

    from reflectevo_bench.cli import main

    monkeypatch.setenv("REFLECTEVO_DATA_DIR", str(shared_data))
    result = CliRunner().invoke(
        main,
        [
            "run",
            "--model",
            "hf",
            "--model-args",
            f"pretrained={tiny_model}",
            "--device",
            "cpu",
            "--tasks",
            "bigbench_reflectevo",
            "--split",
            "train",
            "--metadata",
            '{"bigbench_subtasks": ["strategyqa"]}',
            "--limit",
            "1",
            "--protocol",
            "single",
            "--gen-kwargs",
            "max_gen_toks=4",
            "--output",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "r" / "run.json").read_text())
    assert manifest["identity"]["data_dir"] == str(shared_data.resolve())
    env = manifest["environment"]
    assert env["splits"]["bigbench_reflectevo"] == "train" and env["task_sizes"]["bigbench_reflectevo"] > 2200


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_question_body_never_crashes_and_is_idempotent(text):
    body = question_body(text)
    assert question_body(body) == body or len(question_body(body)) <= len(body)


def test_question_body_strips_options_and_answer_cue():
    assert question_body("P.\nQ?\nA.one\nB.two\nC.three\nD.four") == "P.\nQ?"
    assert question_body("Is it?\nOptions:\nA. Yes\nB. No") == "Is it?"
    assert question_body("Passage\n\nQuestion: why?\nAnswer:") == "Passage\n\nQuestion: why?"

"""The Reflect, Retry, Reward paper's data: xLAM-60k's seeded content-hash train/test split, TinyZero's Countdown
tasks with a 15k-style test split, and the Countdown generator's --metadata settings."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflectevo_bench.cli import main
from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.run import parse_metadata
from reflectevo_bench.tasks.countdown.tinyzero import content_key as countdown_key
from reflectevo_bench.tasks.countdown.verifier import verify
from reflectevo_bench.tasks.function_calling.data import xlam_content_key
from reflectevo_bench.tasks.registry import load_eval_tasks


def xlam_rows(n: int, seed: int = 0) -> list[dict]:
    """Rows in xLAM-60k's own schema (id, query, tools and answers as JSON strings), with one duplicated problem."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        city, days = rng.choice(["Paris", "Rome", "Oslo", "Lima"]), rng.randint(1, 9)
        tools = [
            {
                "name": "get_weather",
                "description": "Weather forecast",
                "parameters": {"city": {"type": "str"}, "days": {"type": "int"}},
            }
        ]
        rows.append(
            {
                "id": i,
                "query": f"Weather in {city} for {days} days, case {i}?",
                "tools": json.dumps(tools),
                "answers": json.dumps([{"name": "get_weather", "arguments": {"city": city, "days": days}}]),
            }
        )
    rows.append({**rows[3], "id": n})  # the same problem twice under another id
    return rows


def write_xlam(folder: Path, rows: list[dict], name: str = "xlam_function_calling_60k.jsonl") -> Path:
    (folder / "xlam").mkdir(parents=True, exist_ok=True)
    (folder / "xlam" / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def tinyzero_rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [
        {"target": rng.randint(10, 99), "nums": [rng.randint(1, 99) for _ in range(rng.choice((3, 4)))]}
        for _ in range(n)
    ]


def docs(name: str, data_dir, split: str, metadata: dict | None = None) -> list[dict]:
    (task,) = load_eval_tasks(name, str(data_dir) if data_dir else None, None, None, metadata or {}, split)
    return task.docs


def test_xlam_split_is_a_fifth_content_disjoint_and_stable(tmp_path):
    rows = xlam_rows(100)
    a = write_xlam(tmp_path / "a", rows)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    b = write_xlam(tmp_path / "b", [{**r, "id": r["id"] + 1000} for r in shuffled])  # other order, other ids
    test, train = docs("xlam_fc", a, "test"), docs("xlam_fc", a, "train")
    assert len(test) + len(train) == 101 and len(test) in (20, 21)  # a fifth (+1 if the duplicate sits at the cut)
    keys = lambda ds: {xlam_content_key(d) for d in ds}  # noqa: E731
    assert not keys(test) & keys(train)  # content-disjoint: the duplicated problem is on one side only
    assert keys(docs("xlam_fc", b, "test")) == keys(test)  # row order and ids do not choose the split
    assert [d["id"] for d in train] == sorted(d["id"] for d in train)  # each split keeps the file's order
    other = docs("xlam_fc", a, "test", {"split_seed": 7})
    assert keys(other) != keys(test) and len(other) in (20, 21)  # the seed does
    assert len(docs("xlam_fc", a, "test", {"test_size": 30})) in (30, 31)  # a row count works too


def test_xlam_paper_size_12000_of_60000(tmp_path):
    from reflectevo_bench.tasks.common.content_split import content_split

    rows = [{"query": f"q{i}", "tools": "[]", "answers": "[]"} for i in range(60000)]
    split = content_split(rows, xlam_content_key, 0.2, 0, "xlam_fc")
    assert len(split["test"]) == 12000 and len(split["train"]) == 48000


def test_xlam_hub_error_says_gated_and_how(tmp_path):
    with pytest.raises(BenchError) as err:
        docs("xlam_fc", None, "test")
    text = str(err.value)
    assert "gated" in text and "huggingface.co/datasets/Salesforce/xlam-function-calling-60k" in text
    assert "HF_TOKEN" in text and "--data-dir" in text and "\n" not in text


def test_tinyzero_loader_split_and_verifier(tmp_path):
    rows = tinyzero_rows(400)
    folder = tmp_path / "d" / "countdown"
    folder.mkdir(parents=True)
    (folder / "countdown_tasks_3to4.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta = {"test_size": 100}
    test, train = (
        docs("countdown_tinyzero", tmp_path / "d", "test", meta),
        docs("countdown_tinyzero", tmp_path / "d", "train", meta),
    )
    assert len(test) >= 100 and len(test) + len(train) == 400
    assert not {countdown_key(d) for d in test} & {countdown_key(d) for d in train}
    assert set(test[0]) == {"id", "nums", "target"}
    # the same problems from the hub's parquet file, in another order: the same test problems
    import datasets

    random.Random(2).shuffle(rows)
    (folder / "countdown_tasks_3to4.jsonl").unlink()
    datasets.Dataset.from_list(rows).to_parquet(str(folder / "countdown_tasks_3to4.parquet"))
    again = docs("countdown_tinyzero", tmp_path / "d", "test", meta)
    assert sorted(map(countdown_key, again)) == sorted(map(countdown_key, test))
    (task,) = load_eval_tasks("countdown_tinyzero", str(tmp_path / "d"), 20, None, meta, "test")
    solved = 0
    for doc in task.docs:  # the generated set's verifier; the target is a searched solution
        target = task.target(doc)
        if target:
            solved += 1
            assert verify(doc, f"Answer: {target}").correct
        assert not verify(doc, "Answer: 1 + 1").correct
    assert solved > 0


def test_tinyzero_bad_rows_and_sizes_are_one_line(tmp_path):
    folder = tmp_path / "countdown"
    folder.mkdir()
    (folder / "countdown_tasks_3to4.jsonl").write_text(json.dumps({"target": "x", "nums": [1, 2]}) + "\n")
    with pytest.raises(BenchError, match="lacks integer `target`"):
        docs("countdown_tinyzero", tmp_path, "test")
    (folder / "countdown_tasks_3to4.jsonl").write_text(json.dumps({"target": 5, "nums": [1, 4, 2]}) + "\n")
    with pytest.raises(BenchError, match="test_size 15000 is more than the 1 rows"):
        docs("countdown_tinyzero", tmp_path, "test")


def test_countdown_generator_metadata_from_cli_and_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv("REFLECTEVO_BENCH_CACHE", str(tmp_path / "cache"))
    meta = parse_metadata(
        "numbers=2,min_number=2,max_number=9,min_target=11,max_target=40,num_examples=15,num_train_examples=25"
    )
    assert meta == {
        "numbers": 2,
        "min_number": 2,
        "max_number": 9,
        "min_target": 11,
        "max_target": 40,
        "num_examples": 15,
        "num_train_examples": 25,
    }
    assert parse_metadata('{"numbers": [2, 3]}') == {"numbers": [2, 3]}
    test, train = docs("countdown", None, "test", meta), docs("countdown", None, "train", meta)
    assert len(test) == 15 and len(train) == 25
    for doc in test + train:
        assert len(doc["nums"]) == 2 and all(2 <= n <= 9 for n in doc["nums"]) and 11 <= doc["target"] <= 40
        assert verify(doc, f"Answer: {doc['solution']}").correct
    assert not {(tuple(sorted(d["nums"])), d["target"]) for d in test} & {
        (tuple(sorted(d["nums"])), d["target"]) for d in train
    }
    default = docs("countdown", None, "test", {"num_examples": 5})  # defaults: today's rows
    assert all(len(d["nums"]) in (3, 4) for d in default)
    yaml_path = tmp_path / "cd5.yaml"  # a task YAML (a spec) setting them instead
    yaml_path.write_text(
        f"include: {Path(__import__('reflectevo_bench').__file__).parent}/tasks/countdown/countdown.yaml\n"
        "task: countdown_small\nmetadata:\n  version: 1.0\n  numbers: [3]\n  max_number: 6\n"
        "  max_target: 30\n  num_examples: 6\n  num_train_examples: 6\n  reflection:\n"
        '    answer_format: "End with the line `Answer: <expression>`."\n'
    )
    small = docs(str(yaml_path), None, "test")
    assert len(small) == 6 and all(len(d["nums"]) == 3 and max(d["nums"]) <= 6 for d in small)


def test_metadata_bad_inputs_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("REFLECTEVO_BENCH_CACHE", str(tmp_path / "cache"))
    for meta, msg in (
        ("numbers=9", "counts from 2 to 5"),
        ("max_number=x", "must be integers"),
        ("numbers=2,min_target=5000,max_target=5001,num_examples=1", "widen the metadata ranges"),
        ("[1]", "bad --metadata entry"),
    ):
        res = CliRunner().invoke(
            main, ["run", "--tasks", "countdown", "--metadata", meta, "--limit", "1", "--output", str(tmp_path / "o")]
        )
        assert res.exit_code == 2 and msg in res.output and len(res.output.strip().splitlines()) == 1, res.output
        assert not (tmp_path / "o").exists()

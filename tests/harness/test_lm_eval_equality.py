"""Attempt 1 of our run equals stock lm_eval.simple_evaluate on the same YAML, model and greedy decoding."""

from __future__ import annotations

import pytest
from stock_lm_eval import QUESTIONS, context, ours_and_stock, write_qa_task

from reflectevo_bench.harness.records import read_records


def test_attempt_one_equals_stock_lm_eval(tiny_model, tmp_path):
    yaml_path = write_qa_task(tmp_path, "plain_qa", QUESTIONS, ["first_word"], max_gen_toks=10)
    out_dir, ours, stock = ours_and_stock(tiny_model, yaml_path, tmp_path / "ours", "reflect", 3)
    stock_acc = stock["results"]["plain_qa"]["exact_match,first_word"]
    assert ours["results"]["plain_qa"]["acc@t1"] == stock_acc

    records = {r["doc_id"]: r for r in read_records(out_dir)["plain_qa"]}
    samples = stock["samples"]["plain_qa"]
    assert len(samples) == len(records) == len(QUESTIONS)
    for sample in samples:
        first = records[sample["doc_id"]]["turns"][0]
        assert first["prompt"] == context(sample["arguments"])
        assert first["response"] == sample["resps"][0][0]
        assert first["extracted"] == sample["filtered_resps"][0]
        assert first["verdict"]["score"] == sample["exact_match"]


TRAIN = [
    ("What is 1 plus 1?", "2"),
    ("Name a fruit.", "apple"),
    ("What is 5 minus 2?", "3"),
    ("Spell dog.", "dog"),
    ("What is 2 times 4?", "8"),
    ("Say no.", "no"),
    ("What is 9 minus 9?", "0"),
]


@pytest.mark.parametrize("multiturn", [True, False])
def test_few_shot_attempt_one_equals_stock_lm_eval(tiny_model, tmp_path, multiturn):
    """Stock simple_evaluate(apply_chat_template=True) defaults to fewshot_as_multiturn=True, and so does run;
    both filters are scored as lm-eval scores them; exemplars are lm-eval's own random draws, doc by doc."""
    yaml_path = write_qa_task(
        tmp_path,
        "fewshot_qa",
        QUESTIONS,
        ["first_word", "last_word"],
        max_gen_toks=8,
        train=TRAIN,
        num_fewshot=2,
        target=" {{answer}}",
    )
    extra = {} if multiturn else {"fewshot_as_multiturn": False}
    out_dir, results, stock = ours_and_stock(tiny_model, yaml_path, tmp_path / "ours", "single", 3, **extra)
    records = {r["doc_id"]: r for r in read_records(out_dir)["fewshot_qa"]}
    samples = stock["samples"]["fewshot_qa"]
    assert {s["filter"] for s in samples} == {"first_word", "last_word"}
    assert len(samples) == 2 * len(records) == 2 * len(QUESTIONS)
    exemplar_sets = set()
    for sample in samples:
        first = records[sample["doc_id"]]["turns"][0]
        assert first["prompt"] == context(sample["arguments"])
        assert first["response"] == sample["resps"][0][0]
        assert first["verdict"]["details"]["filtered"][sample["filter"]] == sample["filtered_resps"][0]
        assert first["verdict"]["details"]["scores"][f"exact_match,{sample['filter']}"] == sample["exact_match"]
        users = [m["content"] for m in first["messages"] if m["role"] == "user"]
        assert len(users) == (3 if multiturn else 1)
        exemplar_sets.add(tuple(users[:-1]) if multiturn else users[0].split("Question: ")[1])
    assert len(exemplar_sets) > 1  # the random sampler draws different exemplars for different docs
    for name in ("first_word", "last_word"):
        ours = [r["turns"][0]["verdict"]["details"]["scores"][f"exact_match,{name}"] for r in records.values()]
        assert sum(ours) / len(ours) == stock["results"]["fewshot_qa"][f"exact_match,{name}"]
        assert (
            results["results"]["fewshot_qa"]["attempt_1_filters"][f"exact_match,{name}"]
            == stock["results"]["fewshot_qa"][f"exact_match,{name}"]
        )

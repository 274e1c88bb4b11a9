"""Attempt 1 of our run equals stock lm_eval.simple_evaluate on the same YAML, model and greedy decoding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from reflectevo_bench.harness.records import read_records
from reflectevo_bench.harness.run import RunOptions, run

QUESTIONS = [
    ("What is 2 plus 3?", "5"),
    ("Name a colour of the sky.", "blue"),
    ("What is 10 minus 4?", "6"),
    ("Spell the word cat.", "cat"),
    ("What is 3 times 3?", "9"),
    ("Say yes.", "yes"),
]


def _write_task(folder: Path) -> Path:
    data = folder / "qa.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in QUESTIONS))
    yaml_path = folder / "plain_qa.yaml"
    yaml_path.write_text(f"""task: plain_qa
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: ["\\n\\n"]
  do_sample: false
  max_gen_toks: 10
filter_list:
  - name: first_word
    filter:
      - function: regex
        regex_pattern: "(\\\\w+)"
      - function: take_first
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
""")
    return yaml_path


def test_attempt_one_equals_stock_lm_eval(tiny_model, tmp_path):
    import lm_eval

    from reflectevo_bench.tasks.registry import task_manager

    yaml_path = _write_task(tmp_path)
    out_dir, ours = run(
        RunOptions(
            model="hf",
            model_args=f"pretrained={tiny_model}",
            tasks=str(yaml_path),
            protocol="reflect",
            batch_size="3",
            output=str(tmp_path / "ours"),
        ),
        Console(file=open("/dev/null", "w")),
    )
    stock = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_model}",
        tasks=[str(yaml_path)],
        task_manager=task_manager([str(tmp_path)]),
        apply_chat_template=True,
        batch_size=3,
        device="cpu",
        log_samples=True,
    )
    stock_acc = stock["results"]["plain_qa"]["exact_match,first_word"]
    assert ours["results"]["plain_qa"]["acc@t1"] == stock_acc

    records = {r["doc_id"]: r for r in read_records(out_dir)["plain_qa"]}
    samples = stock["samples"]["plain_qa"]
    assert len(samples) == len(records) == len(QUESTIONS)
    for sample in samples:
        first = records[sample["doc_id"]]["turns"][0]
        assert first["prompt"] == _context(sample["arguments"])
        assert first["response"] == sample["resps"][0][0]
        assert first["extracted"] == sample["filtered_resps"][0]
        assert first["verdict"]["score"] == sample["exact_match"]


def _context(arguments) -> str:
    """The context string of a logged lm-eval sample (the layout differs between lm-eval releases)."""
    if isinstance(arguments, dict):
        return arguments["gen_args_0"]["arg_0"]
    return arguments[0][0]


TRAIN = [
    ("What is 1 plus 1?", "2"),
    ("Name a fruit.", "apple"),
    ("What is 5 minus 2?", "3"),
    ("Spell dog.", "dog"),
    ("What is 2 times 4?", "8"),
    ("Say no.", "no"),
    ("What is 9 minus 9?", "0"),
]


def _write_fewshot_task(folder: Path) -> Path:
    """A few-shot YAML: a fewshot_split, lm-eval's default random sampler, two filters."""
    (folder / "fs_test.jsonl").write_text(
        "".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in QUESTIONS)
    )
    (folder / "fs_train.jsonl").write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in TRAIN))
    yaml_path = folder / "fewshot_qa.yaml"
    yaml_path.write_text(f"""task: fewshot_qa
dataset_path: json
dataset_kwargs:
  data_files:
    test: {folder / "fs_test.jsonl"}
    train: {folder / "fs_train.jsonl"}
test_split: test
fewshot_split: train
num_fewshot: 2
output_type: generate_until
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: " {{{{answer}}}}"
generation_kwargs:
  until: ["\\n\\n"]
  do_sample: false
  max_gen_toks: 8
filter_list:
  - name: first_word
    filter:
      - function: regex
        regex_pattern: "(\\\\w+)"
      - function: take_first
  - name: last_word
    filter:
      - function: regex
        regex_pattern: "(\\\\w+)\\\\W*$"
      - function: take_first
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
""")
    return yaml_path


@pytest.mark.parametrize("multiturn", [True, False])
def test_few_shot_attempt_one_equals_stock_lm_eval(tiny_model, tmp_path, multiturn):
    """Stock simple_evaluate(apply_chat_template=True) defaults to fewshot_as_multiturn=True, and so does run;
    both filters are scored as lm-eval scores them; exemplars are lm-eval's own random draws, doc by doc."""
    import lm_eval

    from reflectevo_bench.tasks.registry import task_manager

    yaml_path = _write_fewshot_task(tmp_path)
    opts = RunOptions(
        model="hf",
        model_args=f"pretrained={tiny_model}",
        tasks=str(yaml_path),
        protocol="single",
        batch_size="3",
        output=str(tmp_path / "ours"),
    )
    if not multiturn:
        opts.fewshot_as_multiturn = False
    out_dir, results = run(opts, Console(file=open("/dev/null", "w")))
    extra = {} if multiturn else {"fewshot_as_multiturn": False}
    stock = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_model}",
        tasks=[str(yaml_path)],
        task_manager=task_manager([str(tmp_path)]),
        apply_chat_template=True,
        batch_size=3,
        device="cpu",
        log_samples=True,
        **extra,
    )
    records = {r["doc_id"]: r for r in read_records(out_dir)["fewshot_qa"]}
    samples = stock["samples"]["fewshot_qa"]
    assert {s["filter"] for s in samples} == {"first_word", "last_word"}
    assert len(samples) == 2 * len(records) == 2 * len(QUESTIONS)
    exemplar_sets = set()
    for sample in samples:
        first = records[sample["doc_id"]]["turns"][0]
        assert first["prompt"] == _context(sample["arguments"])
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

"""Few-shot exemplars are a function of the doc id: whatever order docs are processed in (chunks, --resume after a
kill), doc i gets the exemplars a stock lm-eval run draws for it."""

from __future__ import annotations

import json
from pathlib import Path

from task_helpers import load_task


def _task_yaml(folder: Path, sampler: str = "default") -> Path:
    rows = [{"q": f"question {i}", "a": str(i)} for i in range(12)]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "train.jsonl").write_text("".join(json.dumps({"q": f"shot {i}", "a": f"s{i}"}) + "\n" for i in range(9)))
    path = folder / "fs_order.yaml"
    path.write_text(f"""task: fs_order
dataset_path: json
dataset_kwargs:
  data_files: {{test: {folder / "test.jsonl"}, train: {folder / "train.jsonl"}}}
test_split: test
fewshot_split: train
fewshot_config: {{sampler: {sampler}}}
num_fewshot: 3
output_type: generate_until
doc_to_text: "Q: {{{{q}}}}"
doc_to_target: "{{{{a}}}}"
generation_kwargs: {{until: [], do_sample: false, max_gen_toks: 4}}
metric_list: [{{metric: exact_match, aggregation: mean, higher_is_better: true}}]
""")
    return path


def _render(messages, add_generation_prompt=True):
    return json.dumps(messages)


def test_exemplars_do_not_depend_on_processing_order(tmp_path):
    path = str(_task_yaml(tmp_path))
    forward = load_task(path, None)
    ahead = [forward.first_turn(d, _render)[0] for d in forward.docs]
    backward = load_task(path, None)
    behind = [backward.first_turn(d, _render)[0] for d in reversed(backward.docs)][::-1]
    assert ahead == behind
    resumed = load_task(path, None)  # a resumed run starts at doc 7
    assert [resumed.first_turn(d, _render)[0] for d in resumed.docs[7:]] == ahead[7:]
    assert len({json.dumps(m[:-1]) for m in ahead}) > 1  # random draws differ between docs

    stock = load_task(path, None).task  # lm-eval itself, docs in order from one seeded generator
    stock.set_fewshot_seed(seed=1234)
    expected = [
        json.loads(
            stock.fewshot_context(d, 3, apply_chat_template=True, fewshot_as_multiturn=True, chat_template=_render)
        )
        for d in forward.docs
    ]
    assert ahead == expected


def test_single_turn_rendering_and_a_raw_doc(tmp_path):
    task = load_task(str(_task_yaml(tmp_path, "first_n")), None)
    task.fewshot_as_multiturn = False
    messages, _ = task.first_turn(task.docs[4], _render)
    assert len(messages) == 1 and messages[0]["content"].startswith("Q: shot 0")
    outside = {"q": "not a task doc", "a": "x"}  # e.g. a row being scored: seeded by its own content
    assert task.first_turn(outside, _render)[0] == task.first_turn(dict(outside), _render)[0]

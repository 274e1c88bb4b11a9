"""A toy generative task whose verifier is a coin the random tiny model flips: a response passes when the sum of
its code points is even. Training tests use it so groups and branches get both verdicts (the tiny model never
solves a real task)."""

from __future__ import annotations

import json
from pathlib import Path

VERIFIER = """
from reflectevo_bench.tasks.verdict import Verdict

def verify(doc, response):
    ok = sum(map(ord, response)) % 2 == 0
    return Verdict(ok, float(ok), "" if ok else "The parity is odd.", response[-4:], {})
"""
TASK = """
task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
{files}
{splits}
output_type: generate_until
doc_to_text: "Question {{{{id}}}}: write a few words."
doc_to_target: "{{{{answer}}}}"
generation_kwargs:
  until: []
  do_sample: false
  max_gen_toks: {max_gen_toks}
metric_list:
  - metric: exact_match
metadata:
  version: 1.0
  reflection:
    verifier: "parity_verifier.py:verify"
    answer_format: "Write a few words."
"""
SPLIT_KEYS = {"train": "training_split", "test": "test_split"}


def write_parity_task(folder: Path, name: str, docs: dict[str, range], max_gen_toks: int) -> Path:
    """Write ``folder/<name>.yaml``, its verifier and one JSONL file per split (doc ids from ``docs``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "parity_verifier.py").write_text(VERIFIER)
    for split, ids in docs.items():
        (folder / f"{split}.jsonl").write_text("".join(json.dumps({"id": i, "answer": "x"}) + "\n" for i in ids))
    files = "\n".join(f"    {split}: {folder / f'{split}.jsonl'}" for split in docs)
    splits = "\n".join(f"{SPLIT_KEYS[split]}: {split}" for split in docs)
    path = folder / f"{name}.yaml"
    path.write_text(TASK.format(name=name, files=files, splits=splits, max_gen_toks=max_gen_toks))
    return path

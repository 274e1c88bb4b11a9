"""BBH rows in the upstream schema (``{input, target}``) plus the optional CoT exemplars.

Test split: ``<data_dir>/bbh/<task>.json`` (suzgunmirac/BIG-Bench-Hard ``bbh/<task>.json``) or hub
``lukaemon/bbh`` (config ``<task>``, split test). Few-shot split ``fewshot``: the three exemplars of
``<data_dir>/bbh/cot-prompts/<task>.txt`` as ``{input, target: <chain of thought>}``; it is empty without
``--data-dir`` (the exemplars are not on the hub), so few-shot runs (``num_fewshot: 3``) need --data-dir.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.common.data import limit_rows, load_rows, to_dataset_dict

COT_START = "A: Let's think step by step."


def parse_cot_prompts(path: Path) -> list[dict[str, str]]:
    """``[{input, target}]`` from a BBH ``cot-prompts/<task>.txt`` file (target = the chain of thought)."""
    text = path.read_text(encoding="utf-8")
    if "\n-----\n" in text:
        text = text.split("\n-----\n", 1)[1]
    blocks = re.split(r"(?m)^Q: ", text)[1:]
    out = []
    for block in blocks:
        if COT_START not in block:
            raise BenchError(f"{path}: an exemplar has no '{COT_START}' line")
        question, cot = block.split(COT_START, 1)
        out.append({"input": question.strip(), "target": cot.strip()})
    return out


def load(data_dir: str | None = None, bbh_task: str | None = None, num_examples: Any = None, **_: Any):
    if not bbh_task:
        raise BenchError("a BBH task YAML needs metadata.bbh_task (e.g. boolean_expressions)")
    name = f"bbh_{bbh_task}"
    rows = load_rows(
        name, data_dir, f"bbh/{bbh_task}.json", hub={"path": "lukaemon/bbh", "name": bbh_task, "split": "test"}
    )
    rows = [{"input": r["input"], "target": r["target"]} for r in rows]
    fewshot: list[dict[str, str]] = []
    if data_dir:
        cot = Path(data_dir).expanduser() / "bbh" / "cot-prompts" / f"{bbh_task}.txt"
        if cot.is_file():
            fewshot = parse_cot_prompts(cot)
    return to_dataset_dict({"test": limit_rows(rows, num_examples), "fewshot": fewshot})

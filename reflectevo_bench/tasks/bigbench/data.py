"""BIG-bench data: ``<data_dir>/bigbench/<task>/task.json`` (the BIG-bench repository layout) or the hub.

Metadata knobs (YAML ``metadata:``): ``bigbench_task`` (path under ``bigbench/``, e.g. ``logical_deduction/
three_objects``), ``hub_name`` (the ``hails/bigbench`` config) and ``hub_filter`` (keep hub rows whose input holds
this text: the hub merges logical_deduction's subtasks), ``num_examples``.

``bigbench_reflectevo``: test = ReflectEvo's 500-item mix (``<data_dir>/reflectevo/bigbench_test.jsonl``: 332
vitaminc_fact_verification, 144 squad_shifts, 14 strategyqa, 4 social_iqa and 6 dialogue ``<MASK>`` items whose
subtask is not identified). train = every example of the identified source subtasks (``REFLECTEVO_SOURCES``; the
``bigbench_subtasks`` metadata key picks a subset) that is not among the 500, rendered in ReflectEvo's schema
(``question`` with ``Options:`` and ``A. choice`` lines in the task's choice order, ``answer`` a lower-case letter;
free-text items: the input and its first target): ``<data_dir>/reflectevo/bigbench_train.jsonl`` (ReflectEvo's own
file name and schema) if present, else ``<data_dir>/bigbench/<subtask>/task.json``, else hub ``hails/bigbench``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.tasks.bigbench.docs import LETTERS, to_doc
from reflectevo_bench.tasks.common.data import (
    chosen_names,
    hub_rows,
    limit_rows,
    local_file,
    read_records,
    to_dataset_dict,
)
from reflectevo_bench.tasks.common.splits import content_key, held_out_keys, load_reflectevo_split, question_body

REFLECTEVO_SOURCES = ("vitaminc_fact_verification", "squad_shifts", "strategyqa", "social_iqa")
KEY_TAIL = 400  # the item's identity: the last characters of its question body (a subtask prefix may differ)


def load(
    data_dir: str | None = None,
    bigbench_task: str | None = None,
    hub_name: str | None = None,
    hub_filter: str | None = None,
    num_examples: Any = None,
    **_: Any,
):
    if not bigbench_task:
        raise BenchError("a BIG-bench task YAML needs metadata.bigbench_task (e.g. date_understanding)")
    name = f"bigbench_{bigbench_task.replace('/', '_')}"
    rel = f"bigbench/{bigbench_task}/task.json"
    if data_dir:
        import json

        path = local_file(data_dir, rel, name)
        task = json.loads(path.read_text(encoding="utf-8"))
        examples = task.get("examples") or []
        if not examples:
            raise BenchError(f"task '{name}': {path} holds no examples (is it only a parent task's metadata?)")
        prefix = str(task.get("task_prefix") or "")
        docs = [to_doc(dict(e), prefix) for e in examples]
    else:
        rows = hub_rows(name, "hails/bigbench", hub_name or f"{bigbench_task}_zero_shot", "default", local_hint=rel)
        if hub_filter:
            rows = [r for r in rows if hub_filter in str(r.get("inputs", ""))]
        docs = [to_doc(r) for r in rows]
    return to_dataset_dict({"test": limit_rows(docs, num_examples)})


def reflectevo_key_text(question: str) -> str:
    """The text whose ``content_key`` identifies a ReflectEvo BIG-bench item."""
    body = re.sub(r"\s+", " ", question_body(question)).strip()
    return body[-KEY_TAIL:]


def _clean_input(text: str) -> str:
    text = re.sub(r"\n\s*(A|Answer)\s*:\s*$", "", str(text).rstrip())
    return re.sub(r"^Q:\s*", "", text.strip())


def to_reflectevo(text: str, scores: dict[str, float] | None, targets: list[str]) -> dict[str, Any]:
    """One example as a ReflectEvo row: options in the task's own order, the best one's letter as the answer."""
    text = _clean_input(text)
    if scores:
        choices = list(scores)[: len(LETTERS)]
        best = max(scores[c] for c in choices)
        options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))
        answer = LETTERS[next(i for i, c in enumerate(choices) if scores[c] == best)].lower()
        return {"question": f"{text}\nOptions:\n{options}", "answer": answer}
    if not targets:
        raise BenchError("BIG-bench example has neither target_scores nor target")
    return {"question": text, "answer": str(targets[0])}


def _local_source(data_dir: str, subtask: str) -> list[dict[str, Any]]:
    rel = f"bigbench/{subtask}/task.json"
    if not (Path(data_dir).expanduser() / rel).is_file():
        raise BenchError(
            f"task 'bigbench_reflectevo': data file {Path(data_dir).expanduser() / rel} not found: "
            "--data-dir must point at a folder holding reflectevo/bigbench_train.jsonl or "
            f"bigbench/<subtask>/task.json for each of {', '.join(REFLECTEVO_SOURCES)} (metadata "
            "bigbench_subtasks picks a subset)"
        )
    path = Path(data_dir).expanduser() / rel
    task = json.loads(path.read_text(encoding="utf-8"))
    prefix = str(task.get("task_prefix") or "")
    rows = []
    for ex in task.get("examples") or []:
        target = ex.get("target")
        targets = [target] if isinstance(target, str) else [str(t) for t in (target or [])]
        scores = ex.get("target_scores") if isinstance(ex.get("target_scores"), dict) else None
        rows.append(to_reflectevo(prefix + str(ex["input"]), scores, targets))
    return rows


def _hub_source(subtask: str) -> list[dict[str, Any]]:
    rows = []
    for r in hub_rows(
        "bigbench_reflectevo",
        "hails/bigbench",
        f"{subtask}_zero_shot",
        "default",
        local_hint=f"bigbench/{subtask}/task.json",
    ):
        mc = list(r.get("multiple_choice_targets") or [])
        scores = dict(zip(mc, (float(x) for x in r.get("multiple_choice_scores") or []))) if mc else None
        rows.append(to_reflectevo(str(r["inputs"]), scores, [str(t) for t in r.get("targets") or []]))
    return rows


def _train_rows(data_dir: str | None, subtasks: Any) -> list[dict[str, Any]]:
    prepared = Path(data_dir).expanduser() / "reflectevo" / "bigbench_train.jsonl" if data_dir else None
    if prepared is not None and prepared.is_file():
        rows = read_records(prepared)
    else:
        rows = []
        for subtask in chosen_names(
            "bigbench_reflectevo", subtasks, REFLECTEVO_SOURCES, "subtask", "bigbench_subtasks"
        ):
            rows += _local_source(data_dir, subtask) if data_dir else _hub_source(subtask)
    keys, seen, out = held_out_keys("bigbench_reflectevo"), set(), []
    for row in rows:
        key = content_key(reflectevo_key_text(row["question"]))
        if key not in keys and key not in seen:  # strategyqa repeats some questions
            seen.add(key)
            out.append(row)
    return out


def load_reflectevo(data_dir: str | None = None, num_examples: Any = None, bigbench_subtasks: Any = None, **meta: Any):
    return load_reflectevo_split(
        "bigbench_reflectevo", data_dir, lambda: _train_rows(data_dir, bigbench_subtasks), meta, num_examples
    )

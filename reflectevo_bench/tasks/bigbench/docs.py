"""One canonical doc shape for BIG-bench examples, whatever schema they come in.

Accepted raw rows:
- a BIG-bench ``task.json`` example: ``{input, target_scores}`` (multiple choice) or ``{input, target}`` (free
  text; ``target`` a string or a list of acceptable strings). strategyqa has both: it is multiple choice.
- a hub row (``hails/bigbench``, ``tasksource/bigbench``): ``{inputs, targets, multiple_choice_targets,
  multiple_choice_scores}``.
Canonical doc: ``{input, kind: "mc"|"free", choices: [...], gold: [indices], targets: [...]}``. Choices are
sorted and then shuffled with a seed taken from the input text, so option letters never depend on dict order
(``task.json`` often lists the right answer first) and a raw row always gets the letters its prompt had.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from reflectevo_bench.errors import BenchError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _shuffled(choices: list[str], text: str) -> list[str]:
    seed = int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:16], 16)
    out = sorted(choices)
    random.Random(seed).shuffle(out)
    return out


def _mc(text: str, scores: dict[str, float]) -> dict[str, Any]:
    if not scores:
        raise BenchError("BIG-bench example has an empty target_scores")
    if len(scores) > len(LETTERS):
        raise BenchError(f"BIG-bench example has {len(scores)} choices; at most {len(LETTERS)} are supported")
    choices = _shuffled(list(scores), text)
    best = max(scores.values())
    gold = [i for i, c in enumerate(choices) if scores[c] == best]
    return {"input": text, "kind": "mc", "choices": choices, "gold": gold, "targets": [choices[i] for i in gold]}


def to_doc(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The canonical doc for one raw row (canonical docs pass through unchanged)."""
    if row.get("kind") in ("mc", "free") and "choices" in row:
        return dict(row)
    if "inputs" in row:  # hub schema
        text = str(row["inputs"])
        mc_targets = list(row.get("multiple_choice_targets") or [])
        if mc_targets:
            mc_scores = list(row.get("multiple_choice_scores") or [])
            return _mc(text, {c: float(s) for c, s in zip(mc_targets, mc_scores)})
        targets = [str(t) for t in (row.get("targets") or [])]
        return {"input": text, "kind": "free", "choices": [], "gold": [], "targets": targets}
    if "input" not in row:
        raise BenchError("BIG-bench row needs 'input' (task.json example) or 'inputs' (hub schema)")
    text = prefix + str(row["input"])
    scores = row.get("target_scores")
    if isinstance(scores, dict) and any(v is not None for v in scores.values()):
        # rows that went through a datasets.Dataset share one struct: other rows' keys come back as None
        return _mc(text, {k: float(v) for k, v in scores.items() if v is not None})
    target = row.get("target")
    targets = [target] if isinstance(target, str) else [str(t) for t in (target or [])]
    if not targets:
        raise BenchError("BIG-bench example has neither target_scores nor target")
    return {"input": text, "kind": "free", "choices": [], "gold": [], "targets": targets}


def process_docs(dataset):
    """lm-eval ``process_docs``: raw rows of any accepted schema → canonical docs."""
    import datasets

    return datasets.Dataset.from_list([to_doc(dict(r)) for r in dataset])

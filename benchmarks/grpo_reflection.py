"""Reflect, Retry, Reward on a small model, end to end through the CLI, with the RLVR control beside it.

1. the base model on the task's TRAIN split (``single``, greedy) finds failures; ``data build --kind failures``;
2. ``train grpo`` (reflection objective) and ``train grpo --objective answer`` with the same budget;
3. base, reflection-GRPO and answer-GRPO on the held-out TEST split under ``reflect`` and the ``retry`` control;
4. the reward curve (mean reward per step from ``rollouts.jsonl``) and the leaderboard's paired lines;
5. the cost ratios: one reflection-GRPO step (L + L tokens) over one plain TRL GRPO step generating L tokens (half)
   and one generating 2 x L (the same total; every completion forced to its full length with
   ``min_new_tokens``), with the retry continuing the reflection's KV cache and with a fresh retry prefill
   (``retry_reuse_cache: false``); and a plain step generating 2 x L tokens from the reflection prompts themselves
   (the reflection's longer prompt is inherent to the method; this baseline leaves only the rollout's own cost).
   Goal: <= 1.15x of the same-tokens step.

    python benchmarks/grpo_reflection.py [--model smollm2-135m] [--task arith] [--train-limit 64]
        [--test-limit 60] [--max-steps 20] [--out bench-out/grpo_reflection] [--cost-only]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

import yaml
from bench_cli import eval_on_test, step  # noqa: E402  (benchmarks/ is on sys.path when a script runs)


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def reward_curve(out: Path) -> list[float]:
    by_step: dict[int, list[float]] = {}
    for line in (out / "rollouts.jsonl").read_text().splitlines():
        row = json.loads(line)
        by_step.setdefault(row["step"], []).append(row["reward"])
    return [statistics.mean(by_step[s]) for s in sorted(by_step)]


def step_seconds(out: Path) -> float:
    metrics = json.loads((out / "reflectevo_checkpoint.json").read_text())["metrics"]
    return float(metrics.get("seconds_per_step_after_first") or metrics["seconds_per_step"])


def reflection_prompts_as_answers(failures: Path, out: Path) -> Path:
    """A copy of the failures dir whose attempt prompts are the reflection prompts: plain GRPO (``objective:
    answer``) on it generates from the very prompts reflection-GRPO reflects on (its reward is meaningless; only
    its cost is read)."""
    copy = out / "failures-reflection-prompts"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(failures, copy)
    for name in ("train.jsonl", "eval.jsonl"):
        path = copy / name
        if path.exists():
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            path.write_text("".join(json.dumps({**r, "attempt_prompt": r["prompt"]}) + "\n" for r in rows))
    return copy


def cost_ratio(args: argparse.Namespace, failures: Path, out: Path) -> dict[str, float]:
    """One reflection-GRPO step (L reflection tokens + an L-token retry per completion) against two plain TRL GRPO
    steps on the same prompts and G: one generating L tokens per completion (half the tokens: what the reflection
    alone costs) and one generating 2 x L (the same total tokens). Every completion and retry is forced to its full
    length with ``min_new_tokens``; the retry is capped at L with ``retry_max_length``."""
    length = args.cost_tokens
    base = {
        "model": args.model,
        "data": str(failures),
        "num_generations": args.num_generations,
        "per_device_train_batch_size": args.num_generations,
        "max_steps": args.cost_steps,
        "logging_steps": 1,
        "save_strategy": "no",
        "disable_tqdm": True,
        "merge": True,
    }
    runs = (
        ("reflection", "reflection", length, {"retry_max_length": length}),
        ("reflection-fresh-prefill", "reflection", length, {"retry_max_length": length, "retry_reuse_cache": False}),
        ("plain-half", "answer", length, {}),
        ("plain-same", "answer", 2 * length, {}),
        ("plain-same-prompts", "answer", 2 * length, {"data": str(reflection_prompts_as_answers(failures, out))}),
    )
    results = {}
    for name, objective, tokens, extra in runs:
        ckpt = out / f"cost-{name}"
        shutil.rmtree(ckpt, ignore_errors=True)
        cfg = write_config(
            out / f"cost-{name}.yaml",
            {
                **base,
                **extra,
                "objective": objective,
                "output_dir": str(ckpt),
                "max_completion_length": tokens,
                "generation_kwargs": {"min_new_tokens": tokens},
            },
        )
        step(f"cost: {name} GRPO, {args.cost_steps} steps", ["train", "grpo", "--config", str(cfg)])
        results[name] = step_seconds(ckpt)  # the first step (warm-up) left out
    half, same = results["reflection"] / results["plain-half"], results["reflection"] / results["plain-same"]
    fresh = results["reflection-fresh-prefill"] / results["plain-same"]
    prompts = results["reflection"] / results["plain-same-prompts"]
    print(
        f"\ncost: reflection-GRPO {results['reflection']:.2f} s/step ({length} + {length} tokens per completion; the retry"
        f" continues the reflection's KV cache)"
        f"\n  vs plain GRPO with {length} tokens (half):      {results['plain-half']:.2f} s/step -> {half:.2f}x"
        f"\n  vs plain GRPO with {2 * length} tokens (same total): {results['plain-same']:.2f} s/step -> {same:.2f}x"
        f" (goal <= 1.15x)"
        f"\n  vs plain GRPO with {2 * length} tokens from the reflection prompts (same prompts, same total):"
        f" {results['plain-same-prompts']:.2f} s/step -> {prompts:.2f}x"
        f"\n  with a fresh retry prefill (retry_reuse_cache: false): {results['reflection-fresh-prefill']:.2f} s/step"
        f" -> {fresh:.2f}x of the same-tokens step"
    )
    return {
        **results,
        "ratio_vs_half_tokens": half,
        "ratio_vs_same_tokens": same,
        "ratio_vs_same_tokens_same_prompts": prompts,
        "fresh_prefill_vs_same": fresh,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--task", default="arith")
    ap.add_argument("--train-limit", type=int, default=64)
    ap.add_argument("--test-limit", type=int, default=60)
    ap.add_argument("--max-steps", type=int, default=20)
    ap.add_argument("--num-generations", type=int, default=4)
    ap.add_argument("--max-gen-toks", type=int, default=128, help="evaluation and GRPO completion length")
    ap.add_argument("--learning-rate", type=float, default=1e-5)
    ap.add_argument("--cost-tokens", type=int, default=32)
    ap.add_argument("--cost-steps", type=int, default=4)
    ap.add_argument("--cost-only", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("bench-out/grpo_reflection"))
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args()
    if args.fresh and args.out.exists():
        shutil.rmtree(args.out)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    toks = f"max_gen_toks={args.max_gen_toks}"

    mine = out / "mine-run"
    if not (mine / "results.json").exists():
        step(
            "failure mining (train split, single, greedy)",
            [
                "run",
                "--model-args",
                f"pretrained={args.model}",
                "--tasks",
                args.task,
                "--split",
                "train",
                "--limit",
                str(args.train_limit),
                "--protocol",
                "single",
                "--gen-kwargs",
                toks,
                "--output",
                str(mine),
                *(["--resume"] if mine.exists() else []),
            ],
        )
    failures = out / "failures"
    if not (failures / "card.json").exists():
        step(
            "data build failures",
            ["data", "build", "--kind", "failures", str(mine), "--out", str(failures), "--eval-fraction", "0"],
        )
    if args.cost_only:
        cost_ratio(args, failures, out)
        return

    ckpts = {}
    for name, objective in (("grpo", "reflection"), ("grpo-answer", "answer")):
        ckpt = out / name
        if not (ckpt / "reflectevo_checkpoint.json").exists():
            shutil.rmtree(ckpt, ignore_errors=True)
            cfg = write_config(
                out / f"{name}.yaml",
                {
                    "model": args.model,
                    "data": str(failures),
                    "objective": objective,
                    "output_dir": str(ckpt),
                    "num_generations": args.num_generations,
                    "per_device_train_batch_size": args.num_generations,
                    "max_steps": args.max_steps,
                    "max_completion_length": args.max_gen_toks,
                    "learning_rate": args.learning_rate,
                    "logging_steps": 1,
                    "save_strategy": "no",
                    "disable_tqdm": True,
                    "peft": {"r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"},
                },
            )
            step(f"train grpo ({objective})", ["train", "grpo", "--config", str(cfg)])
        ckpts[name] = ckpt

    evals = {}
    for name, pretrained in (
        ("base", args.model),
        ("grpo", str(ckpts["grpo"])),
        ("grpo-answer", str(ckpts["grpo-answer"])),
    ):
        for protocol in ("reflect", "retry"):
            run_dir, _ = eval_on_test(out, name, pretrained, args.task, args.test_limit, protocol, toks)
            evals[(name, protocol)] = run_dir

    print("\n================ grpo_reflection ================")
    card = json.loads((failures / "card.json").read_text())
    print(
        f"model {args.model}, task {args.task}: {card['rows']['train']} failures of {card['counts']['docs']} "
        f"train docs; G={args.num_generations}, {args.max_steps} steps, lr {args.learning_rate}, LoRA r=16"
    )
    for name in ("grpo", "grpo-answer"):
        curve = reward_curve(ckpts[name])
        print(
            f"{name}: {step_seconds(ckpts[name]):.1f} s/step; mean reward per step: "
            + " ".join(f"{r:.2f}" for r in curve)
        )
    for protocol in ("reflect", "retry"):
        board = out / f"leaderboard-{protocol}"
        shutil.rmtree(board, ignore_errors=True)
        step(
            f"leaderboard ({protocol})",
            [
                "leaderboard",
                "build",
                str(evals[("grpo", protocol)]),
                str(evals[("grpo-answer", protocol)]),
                "--role",
                f"base={evals[('base', protocol)]}",
                "--out",
                str(board),
            ],
        )
        data = json.loads((board / "leaderboard.json").read_text())
        for name in ("base", "grpo", "grpo-answer"):
            res = json.loads((evals[(name, protocol)] / "results.json").read_text())["results"][args.task]
            print(
                f"{protocol:8s} {name:12s} (feedback {res['feedback']}, n={res['n']}): acc@t1 "
                f"{100 * res['acc@t1']:.1f} acc@t2 {100 * res['acc@t2']:.1f} Δ {100 * res['delta']:+.1f}"
            )
        for group in data["groups"]:
            for comparison in group["comparisons"]:
                print(f"  {comparison['summary']}")
    cost_ratio(args, failures, out)


if __name__ == "__main__":
    main()

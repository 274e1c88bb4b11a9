"""The slowest row per task on 1 MB hostile responses (issue 17): every verifier, through the guard the harness uses.

    python benchmarks/verifier_worst_case.py [--data-dir ../shared/data] [--tasks a,b] [--size 1000000]

Each class of the issue's hostile outputs (crashing inputs, repeated markers, deep nesting, huge numbers, long runs
of one character, control and surrogate characters) is repeated to ``--size`` characters and verified once per
task through ``EvalTask.verify_batch`` (the guarded path of run, score, rescore, GRPO and data build). Prints, per
task, the slowest case, its wall seconds, the CPU seconds of this process for that row (the math worker's forked
child is not counted: it is killed after 0.5 CPU seconds) and its verdict reason, then the slowest row overall.
On a shared, loaded host the wall figures are inflated; the CPU figures are not. Tasks whose data is
missing (also from the tests' one-row fixture data) are listed as skipped. Code tasks (mbpp, humaneval) need the sandbox. Exit 2 with one line on bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
MINI_DATA = REPO / "tests" / "tasks" / "fixtures" / "data"

# one unit per class; each is repeated to the requested size
UNITS = {
    "minus_run": "-",
    "sum_terms": "1+",
    "answer_equals": "Answer: =\n",
    "open_brackets": "[",
    "call_minus": "f(x=" + "-" * 1000 + "1)\n",
    "json_nesting": '{"a":',
    "not_nesting": "not ",
    "plus_run": "+",
    "big_int_call": "f(x=" + "1" * 4301 + ")\n",
    "hashes": "#### ",
    "answer_colon": "Answer: ",
    "so_the_answer": "So the answer is ",
    "finish": "Finish[",
    "boxed_parens": "\\boxed{" + "(" * 50,
    "answer_tag": "<answer>",
    "think_tag": "<think>",
    "unstructured": "ab(c[d{e\"f'g ",
    "one_char": "a",
    "digits": "9",
    "hedged_mc": 'Answer("B") and Answer("E") ',
    "controls_surrogates": "\x00\x1b[2J\ud800\u202e ",
}


def hostile(size: int) -> dict[str, str]:
    return {name: (unit * (size // len(unit) + 1))[:size] for name, unit in UNITS.items()}


def task_names() -> list[str]:
    from lm_eval.tasks._yaml_loader import load_yaml

    from reflectevo_bench.tasks.registry import TASKS_ROOT

    names = set()
    for path in TASKS_ROOT.rglob("*.yaml"):
        cfg = load_yaml(path, resolve_func=False)
        if isinstance(cfg.get("task"), str):
            names.add(cfg["task"])
    return sorted(names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", default=os.environ.get("REFLECTEVO_DATA_DIR", str(REPO.parent / "shared" / "data"))
    )
    parser.add_argument("--tasks", default=None, help="comma-separated task names (default: every shipped task)")
    parser.add_argument("--size", type=int, default=1_000_000, help="characters per hostile response")
    args = parser.parse_args()
    if not Path(args.data_dir).is_dir():
        print(f"--data-dir {args.data_dir} is not a directory", file=sys.stderr)
        return 2
    if args.size < 1:
        print("--size must be at least 1", file=sys.stderr)
        return 2

    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.tasks.common import code_execution
    from reflectevo_bench.tasks.registry import load_eval_tasks

    names = [t for t in (args.tasks.split(",") if args.tasks else task_names()) if t]
    cases = hostile(args.size)
    code_execution.configure(workers=2)
    rows, skipped = [], []
    print(f"{'task':45s} {'slowest case':22s} {'wall s':>8s} {'cpu s':>8s}  verdict reason")
    for name in names:
        try:
            try:
                task = load_eval_tasks(name, args.data_dir, 1)[0]
            except BenchError:  # e.g. a hub-only dataset: the test suite's one-row fixture data
                task = load_eval_tasks(name, str(MINI_DATA), 1)[0]
            task.prepare()
            task.verify_batch([task.docs[0]], ["\\boxed{1}"])  # warm: worker processes, imports
        except BenchError as exc:
            skipped.append(f"{name} ({str(exc)[:80]})")
            continue
        worst = (-1.0, 0.0, "", "")
        for case, response in cases.items():
            start, cpu = time.perf_counter(), time.process_time()
            verdict = task.verify_batch([task.docs[0]], [response])[0]
            took, cpu = time.perf_counter() - start, time.process_time() - cpu
            if took > worst[0]:
                worst = (took, cpu, case, str(verdict.details.get("reason")))
        rows.append((name, *worst))
        print(f"{name:45s} {worst[2]:22s} {worst[0]:8.3f} {worst[1]:8.3f}  {worst[3]}", flush=True)
    if rows:
        name, took, cpu, case, reason = max(rows, key=lambda r: r[1])
        print(
            f"\nslowest row overall: {took:.3f} s wall, {cpu:.3f} s cpu ({name}, {case}, {reason}); "
            f"{len(rows)} tasks x {len(cases)} cases of {args.size:,} characters"
        )
    for line in skipped:
        print(f"skipped: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

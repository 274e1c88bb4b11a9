"""Print gold / perturbed accuracy per task on the shared data (what the *_gold_* tests assert):

    HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 .venv/bin/python tests/tasks/gold_report.py [DATA_DIR]

Gold: the gold answer written as a model would write it; perturbed: a systematically wrong answer (off-by-one
number, another letter, a changed argument value, a flipped yes/no, ...). Every row should read 100% / 0%, up to
the upstream items listed in the tests (BFCL UNSATISFIABLE).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")

from task_helpers import load_tasks  # noqa: E402
from test_bbh import _perturbed as bbh_perturbed  # noqa: E402
from test_function_calling import _perturb as bfcl_perturb  # noqa: E402
from test_function_calling import gold_calls  # noqa: E402
from test_math import _perturb as math_perturb  # noqa: E402

from reflectevo_bench.tasks.bigbench.docs import LETTERS  # noqa: E402
from reflectevo_bench.tasks.gsm8k.verifier import gold_answer as gsm8k_gold  # noqa: E402
from reflectevo_bench.tasks.hendrycks_math.verifier import gold_answer as math_gold  # noqa: E402


def pairs(task, doc):
    name = task.name
    if name == "gsm8k":
        g = gsm8k_gold(doc)
        return f"Answer: {g}", f"Answer: {int(g) + 1}"
    if name in ("math500", "math_reflectevo"):
        g = math_gold(doc)
        return f"\\boxed{{{g}}}", f"\\boxed{{{math_perturb(g)}}}"
    if name == "logiqa_reflectevo":
        g = doc["answer"].upper()
        return f"Answer: {g}", f"Answer: {'BCDA'['ABCD'.index(g)]}"
    if name == "bigbench_reflectevo":
        g = task.target(doc)
        return f"Answer: {g}", f"Answer: { ({'A': 'B', 'B': 'A', 'C': 'A'}.get(g, g + ' extra')) }"
    if name.startswith("bigbench_"):
        if doc["kind"] == "mc":
            wrong = [i for i in range(len(doc["choices"])) if i not in doc["gold"]][0]
            return f"Answer: {task.target(doc)}", f"Answer: ({LETTERS[wrong]})"
        return f"Answer: {task.target(doc)}", f"Answer: {doc['targets'][0]} x"
    if name.startswith("bbh_"):
        return f"So the answer is {doc['target']}.", f"So the answer is {bbh_perturbed(doc['target'], doc['input'])}."
    if name == "bfcl_irrelevance":
        first = json.loads(doc["function"])[0]["name"]
        return "None of the functions fits.", json.dumps([{"name": first, "arguments": {}}])
    if name.startswith("bfcl_"):
        calls = gold_calls(doc)
        return json.dumps(calls), json.dumps(bfcl_perturb(doc, calls))
    raise KeyError(name)


def main() -> None:
    data = sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[3] / "shared" / "data")
    names = "gsm8k,math500,math_reflectevo,logiqa_reflectevo,bigbench_reflectevo,bigbench,bbh,bfcl"
    print(f"{'task':45s} {'n':>5s} {'gold':>7s} {'perturbed':>9s}")
    for task in load_tasks(names, data):
        gold = wrong = 0
        for doc in task.docs:
            right, bad = pairs(task, doc)
            gold += task.verify(doc, right).correct
            wrong += task.verify(doc, bad).correct
        n = len(task.docs)
        print(f"{task.name:45s} {n:5d} {100 * gold / n:6.1f}% {100 * wrong / n:8.1f}%  ({n - gold} gold fail)")


if __name__ == "__main__":
    main()

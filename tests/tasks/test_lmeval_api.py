"""lm-eval's private API is used in one module, against the lower bound pyproject.toml declares."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

from packaging.version import Version

from reflectevo_bench.tasks import lmeval_api
from reflectevo_bench.tasks.registry import TASKS_ROOT, load_lm_eval_tasks, task_manager

REPO = Path(__file__).resolve().parents[2]
PRIVATE = re.compile(r"lm_eval\.tasks\._|\._factory\b|\._filters\b|\._metric_fn_list\b")


def test_the_declared_lower_bound_is_the_adapters_and_the_installed_lm_eval_meets_it():
    pyproject = (REPO / "pyproject.toml").read_text()
    bound = re.search(r'"lm-eval>=([0-9.]+),<0\.5"', pyproject)
    assert bound and bound.group(1) == lmeval_api.MIN_LM_EVAL
    assert Version(lmeval_api.MIN_LM_EVAL) <= Version(version("lm-eval")) < Version("0.5")


def test_the_test_venv_installs_the_lowest_allowed_lm_eval():
    """scripts/test.sh (CI) installs with constraints-test.txt, which pins lm-eval to the declared lower bound: the
    whole suite (task loading, stock-equality and parity tests) runs against the oldest lm-eval a user may have."""
    pins = dict(line.split("==") for line in (REPO / "constraints-test.txt").read_text().splitlines() if "==" in line)
    assert pins["lm-eval"] == lmeval_api.MIN_LM_EVAL
    assert "-c constraints-test.txt" in (REPO / "scripts" / "test.sh").read_text()


def test_no_module_but_the_adapter_touches_lm_evals_private_api():
    offenders = [
        str(p.relative_to(REPO))
        for p in (REPO / "reflectevo_bench").rglob("*.py")
        if p.name != "lmeval_api.py" and PRIVATE.search(p.read_text())
    ]
    assert not offenders, offenders


def test_the_adapter_reads_a_shipped_task():
    raw = lmeval_api.load_yaml_unresolved(TASKS_ROOT / "countdown" / "countdown.yaml")
    assert raw["task"] == "countdown" and "process_results" in raw  # the !function tag left as text
    tm = task_manager()
    entry = lmeval_api.index_entry(tm, "countdown", is_path=False)
    assert entry is not None and lmeval_api.is_single_task(entry)
    assert not lmeval_api.is_single_task(lmeval_api.index_entry(tm, "arith", is_path=False))  # a group
    cfg = lmeval_api.full_config(tm, entry, {"test_split": "test"})
    assert cfg["task"] == "countdown"
    task = next(iter(load_lm_eval_tasks(["countdown"]).values()))
    assert lmeval_api.metric_names(task) == ["exact_match"]
    assert [e.name for e in lmeval_api.filter_ensembles(task)] == ["none"]

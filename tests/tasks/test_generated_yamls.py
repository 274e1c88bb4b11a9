"""Drift test for every generated family (reflectevo_bench/tasks/generate_yamls.py): the committed YAMLs are exactly
what the generator writes, the task names stay the same, and every generated task loads both through our registry
and in stock lm-eval."""

from __future__ import annotations

import pytest
from task_helpers import BBH, BFCL, BIGBENCH, load_tasks

from reflectevo_bench.tasks.generate_yamls import FAMILIES, NOTE, write
from reflectevo_bench.tasks.registry import TASKS_ROOT

NAMES = {
    "bbh": [f"bbh_{t}" for t in BBH],
    "bigbench": [f"bigbench_{t}" for t in BIGBENCH],
    "bfcl": [f"bfcl_{c}" for c in BFCL],
    "mbpp": ["mbpp", "mbpp_full", "mbpp_reflectevo", "mbpp_sanitized"],
}


def test_every_generated_family_is_checked():
    assert set(FAMILIES) == set(NAMES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_committed_yamls_are_what_the_generator_writes(family, tmp_path):
    spec = FAMILIES[family]
    written = write([family], tmp_path)
    assert {p.parent for p in written} == {tmp_path / spec.folder}
    fresh = {p.name: p.read_text(encoding="utf-8") for p in written}
    folder = TASKS_ROOT / spec.folder
    committed = {
        p.name: p.read_text(encoding="utf-8") for p in folder.glob("*.yaml") if NOTE in p.read_text(encoding="utf-8")
    }
    assert sorted(committed) == sorted(fresh), "a generated file is missing, stale or hand-edited"
    for name, text in fresh.items():
        assert committed[name] == text, f"{spec.folder}/{name} differs from the generator: rerun it"
    # one shared template, pulled in by every task YAML; the group and the task names never change
    assert f"_{family}_template.yaml" in fresh
    assert spec.task_names() == NAMES[family]
    for task in NAMES[family]:
        assert f"include: _{family}_template.yaml\ntask: {task}\n" in fresh[f"{task}.yaml"]
        assert "verifier:" not in fresh[f"{task}.yaml"]  # named once, by process_results
    if spec.group:
        assert f"group: {family}\n" in fresh[f"{family}.yaml"]
    else:
        assert not any("\ngroup:" in text for text in fresh.values())


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_generated_task_loads_in_our_registry_and_in_stock_lm_eval(family, shared_data):
    from lm_eval.tasks import TaskManager

    names = NAMES[family]
    ours = load_tasks(",".join(names), shared_data, limit=1)
    assert [t.name for t in ours] == names
    for task in ours:
        assert task.docs and task.verifier_name.startswith(f"reflectevo_bench.tasks.{FAMILIES[family].folder}.")
    stock = TaskManager(
        include_path=[str(TASKS_ROOT / FAMILIES[family].folder)],
        include_defaults=False,
        metadata={"data_dir": str(shared_data)},
    )
    loaded = stock.load(family if FAMILIES[family].group else names)["tasks"]
    assert sorted(loaded) == sorted(names)

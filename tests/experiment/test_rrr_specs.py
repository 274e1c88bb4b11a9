"""The shipped Reflect, Retry, Reward specs: train splits for the data, the paper's 256 failures per step, retry
settings, failure mining; their offline plan (preflight) passes on local files with zero train/test overlap."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from rich.console import Console

from reflectevo_bench.experiment import honesty
from reflectevo_bench.experiment.execute import Experiment
from reflectevo_bench.experiment.preflight import run_preflight
from reflectevo_bench.experiment.spec import load_spec
from reflectevo_bench.experiment.specs import __file__ as SPECS_INIT

SPECS = {name: Path(SPECS_INIT).parent / f"{name}.yaml" for name in ("rrr-qwen2.5-1.5b", "rrr-qwen2.5-7b")}


@pytest.fixture(scope="module")
def local_data(tmp_path_factory) -> Path:
    """xLAM-60k-style rows and TinyZero-style Countdown rows (more than the 15,000 test problems)."""
    root = tmp_path_factory.mktemp("rrr-data")
    rng = random.Random(0)
    (root / "countdown").mkdir()
    (root / "countdown" / "countdown_tasks_3to4.jsonl").write_text(
        "".join(
            json.dumps({"target": rng.randint(10, 99), "nums": [rng.randint(1, 99) for _ in range(rng.choice((3, 4)))]})
            + "\n"
            for _ in range(16000)
        )
    )
    (root / "xlam").mkdir()
    tools = json.dumps(
        [{"name": "add", "description": "Add", "parameters": {"a": {"type": "int"}, "b": {"type": "int"}}}]
    )
    (root / "xlam" / "xlam_function_calling_60k.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "query": f"Add {i} and {i % 7}",
                    "tools": tools,
                    "answers": json.dumps([{"name": "add", "arguments": {"a": i, "b": i % 7}}]),
                }
            )
            + "\n"
            for i in range(500)
        )
    )
    return root


@pytest.mark.parametrize("name", sorted(SPECS))
def test_rrr_spec_recipe_matches_the_paper(name):
    spec = load_spec(SPECS[name])
    d = spec.data
    assert d.split == "train" and spec.eval.split == "test" and d.samples > 1 and d.kinds == ["failures"]
    assert set(d.tasks) == set(spec.eval.tasks) == {"countdown_tinyzero", "xlam_fc"}
    for recipe in spec.recipes:
        cfg, procs = recipe.config, recipe.launch["num_processes"]
        prompts = (
            cfg["per_device_train_batch_size"] * procs * cfg["gradient_accumulation_steps"] / cfg["num_generations"]
        )
        assert prompts == 256 and cfg["max_steps"] == 1750  # the paper's 256 failures per batch, ~1,750 steps
        assert "retry_temperature" in cfg and "retry_max_length" in cfg
    text = SPECS[name].read_text()
    assert "not published" in text.lower() and "= 256" in text


@pytest.mark.parametrize("name", sorted(SPECS))
def test_rrr_spec_plans_offline_with_zero_overlap(name, local_data, tmp_path):
    spec = load_spec(SPECS[name])
    spec.data_dir = str(local_data)
    exp = Experiment(spec, tmp_path / "exp", Console(file=open("/dev/null", "w")))
    result = run_preflight(spec, exp.stages)
    result.raise_first(host=False)  # the spec itself: tasks, splits, recipes, batch arithmetic, the leak check
    assert all(c.host for c in result.failures)  # here: only what a GPU host has (vllm, the Qwen weights)
    recipes = [c.detail for c in result.checks if c.what.startswith("recipe ")]
    assert recipes and all("prompts per step" in d and "= 256," in d for d in recipes), recipes
    train = {t.task: t.hashes for t in honesty.task_docs(spec.data.tasks, "train", spec.data.limit, spec.data_dir)}
    test = {t.task: t.hashes for t in honesty.task_docs(spec.eval.tasks, "test", None, spec.data_dir)}
    assert all(train[t] and test[t] and not train[t] & test[t] for t in spec.eval.tasks)
    assert len(test["xlam_fc"]) == 100 and len(test["countdown_tinyzero"]) >= 15000

"""ReflectEvo's data-run settings in an experiment spec: reflection_gen_kwargs / reflection_instruction reach the
data run (plan inputs, RunOptions, the isolated stage's command line); data_dir defaults to REFLECTEVO_DATA_DIR."""

from __future__ import annotations

import pytest
import yaml

from exp_helpers import make_spec
from reflectevo_bench.errors import BenchError


def _load(tmp_path, spec):
    from reflectevo_bench.experiment.spec import load_spec

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load_spec(path)


def test_reflection_settings_reach_the_data_run(tiny_model, big_tiny, toy_task, tmp_path):
    from reflectevo_bench.experiment.execute import run_argv
    from reflectevo_bench.experiment.graph import plan
    from reflectevo_bench.harness.run import RunOptions

    spec = make_spec(tiny_model, big_tiny, toy_task)
    spec["data"].update(gen_kwargs="max_gen_toks=5", reflection_gen_kwargs="do_sample=true,temperature=0.8",
                        reflection_instruction="1-1-1")
    loaded = _load(tmp_path, spec)
    data_run = next(s for s in plan(loaded) if s.key == "data-run")
    assert data_run.inputs["reflection_gen_kwargs"] == "do_sample=true,temperature=0.8"
    assert data_run.inputs["reflection_instruction"] == "1-1-1"
    argv = run_argv(RunOptions(model="hf", tasks="t", reflection_gen_kwargs="do_sample=true",
                               reflection_instruction="1-1-1"))
    assert argv[argv.index("--reflection-gen-kwargs") + 1] == "do_sample=true"
    assert argv[argv.index("--reflection-instruction") + 1] == "1-1-1"
    # a spec without the keys plans the same stage hash as before they existed
    plain = make_spec(tiny_model, big_tiny, toy_task)
    assert "reflection_gen_kwargs" not in next(s for s in plan(_load(tmp_path, plain)) if s.key == "data-run").inputs


def test_greedy_attempts_with_two_reflections_need_sampled_reflections(tiny_model, big_tiny, toy_task, tmp_path):
    spec = make_spec(tiny_model, big_tiny, toy_task)
    spec["data"]["gen_kwargs"] = "max_gen_toks=5"
    with pytest.raises(BenchError, match="needs sampled reflections"):
        _load(tmp_path, spec)


def test_data_dir_defaults_to_the_environment(tiny_model, big_tiny, toy_task, tmp_path, monkeypatch):
    monkeypatch.setenv("REFLECTEVO_DATA_DIR", str(tmp_path))
    assert _load(tmp_path, make_spec(tiny_model, big_tiny, toy_task)).data_dir == str(tmp_path.resolve())
    monkeypatch.delenv("REFLECTEVO_DATA_DIR")
    assert _load(tmp_path, make_spec(tiny_model, big_tiny, toy_task)).data_dir is None

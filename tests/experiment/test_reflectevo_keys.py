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


def test_roles_reflector_rows_share_attempt_1_with_the_base(tiny_model, big_tiny, toy_task, tmp_path):
    """eval.roles [self, reflector]: the candidate's reflector row is the base answering and the candidate
    reflecting: its attempt-1 responses are byte-identical to the base row's; the leaderboard names the role."""
    import json

    from click.testing import CliRunner

    from reflectevo_bench.cli import main
    from reflectevo_bench.harness.records import read_records

    spec = make_spec(tiny_model, big_tiny, toy_task, recipes={}, references=[],
                     candidates=[{"name": "big", "model": "hf", "model_args": f"pretrained={big_tiny}"}])
    spec.pop("data")
    spec["eval"].update(controls=["retry"], roles=["self", "reflector"], limit=4)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = tmp_path / "exp"
    result = CliRunner().invoke(main, ["experiment", "run", str(path), "--out", str(out), "-q"])
    assert result.exit_code in (0, 1), result.output
    rows = json.loads(CliRunner().invoke(main, ["experiment", "status", str(out), "--json"]).output)
    stages = [x["stage"] for x in rows]
    assert "eval:big@reflector:reflect" in stages and "eval:big@reflector:retry" not in stages
    assert {x["state"] for x in rows} == {"done"}

    def attempt1(folder: str) -> list[str]:
        run_dir = next(out.glob(f"runs/{folder}-*"))
        recs = sorted(read_records(run_dir)["toy"], key=lambda r: r["doc_id"])
        return [r["turns"][0]["response"] for r in recs]

    base, as_reflector, itself = attempt1("eval-tiny-reflect"), attempt1("eval-big@reflector-reflect"), \
        attempt1("eval-big-reflect")
    assert base == as_reflector and len(base) == 4
    assert itself != base  # positive control: the candidate answering itself differs
    run_dir = next(out.glob("runs/eval-big@reflector-reflect-*"))
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["identity"]["reflector_model_args"] and str(big_tiny) in manifest["identity"]["reflector_model_args"]
    for rec in read_records(run_dir)["toy"]:
        assert all(t["model"] == ("reflector" if t["kind"] == "reflection" else "generator") for t in rec["turns"])
    board = (out / "leaderboard" / "leaderboard.md").read_text()
    assert "big@reflector" in board


def test_roles_are_checked(tiny_model, big_tiny, toy_task, tmp_path):
    spec = make_spec(tiny_model, big_tiny, toy_task)
    spec["eval"]["roles"] = ["judge"]
    with pytest.raises(BenchError, match="roles must be"):
        _load(tmp_path, spec)
    spec["eval"].update(roles=["reflector"], protocol="retry", controls=[])
    with pytest.raises(BenchError, match="reflector needs a protocol that reflects"):
        _load(tmp_path, spec)

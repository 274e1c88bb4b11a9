"""ReflectEvo's data-run settings in an experiment spec: reflection_gen_kwargs / reflection_instruction reach the
data run (plan inputs, RunOptions, the isolated stage's command line); data_dir defaults to REFLECTEVO_DATA_DIR."""

from __future__ import annotations

from pathlib import Path

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
    spec["data"].update(
        gen_kwargs="max_gen_toks=5",
        reflection_gen_kwargs="do_sample=true,temperature=0.8",
        reflection_instruction="1-1-1",
    )
    loaded = _load(tmp_path, spec)
    data_run = next(s for s in plan(loaded) if s.key == "data-run")
    assert data_run.inputs["reflection_gen_kwargs"] == "do_sample=true,temperature=0.8"
    assert data_run.inputs["reflection_instruction"] == "1-1-1"
    argv = run_argv(
        RunOptions(model="hf", tasks="t", reflection_gen_kwargs="do_sample=true", reflection_instruction="1-1-1")
    )
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

    spec = make_spec(
        tiny_model,
        big_tiny,
        toy_task,
        recipes={},
        references=[],
        candidates=[{"name": "big", "model": "hf", "model_args": f"pretrained={big_tiny}"}],
    )
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

    base, as_reflector, itself = (
        attempt1("eval-tiny-reflect"),
        attempt1("eval-big@reflector-reflect"),
        attempt1("eval-big-reflect"),
    )
    assert base == as_reflector and len(base) == 4
    assert itself != base  # positive control: the candidate answering itself differs
    run_dir = next(out.glob("runs/eval-big@reflector-reflect-*"))
    manifest = json.loads((run_dir / "run.json").read_text())
    assert str(big_tiny) in (manifest["identity"]["reflector_model_args"] or "")
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


def test_shipped_reflectevo_spec_loads_train_and_test_offline_with_zero_overlap(shared_data, tmp_path, monkeypatch):
    """The shipped spec's data run and evals load from one local data dir (REFLECTEVO_DATA_DIR), offline; its
    stages are the paper's: greedy attempts, sampled reflections, the one-turn and two-stage builds, the paper
    recipes and both eval roles; no train item is a test item (test items planted in the train files are dropped)."""
    import json
    import shutil

    from reflectevo_bench.experiment.graph import plan
    from reflectevo_bench.experiment.spec import load_spec
    from reflectevo_bench.experiment.specs import __file__ as specs_init
    from reflectevo_bench.tasks.common.splits import content_key
    from reflectevo_bench.tasks.reflectevo_keys import KEY_TEXT
    from reflectevo_bench.tasks.registry import load_eval_tasks

    data = tmp_path / "data"
    (data / "reflectevo").mkdir(parents=True)
    fresh = {
        "logiqa": {"id": 1, "question": "New passage.\nWhich?\nA.w\nB.x\nC.y\nD.z", "answer": "a"},
        "math": {"problem": "What is $2+2$?", "level": "Level 1", "type": "Algebra", "solution": "$\\boxed{4}$"},
        "mbpp": {
            "text": "Write a function to add one.",
            "code": "def f(x): return x+1",
            "task_id": 700,
            "test_setup_code": "",
            "test_list": ["assert f(1) == 2"],
            "challenge_test_list": [],
        },
        "bigbench": {"question": "Is water wet?\nOptions:\nA. Yes\nB. No", "answer": "a"},
    }
    for name, row in fresh.items():
        test = shared_data / "reflectevo" / f"{name}_test.jsonl"
        shutil.copy(test, data / "reflectevo" / test.name)
        planted = json.loads(test.read_text().splitlines()[3])
        if name == "mbpp":
            planted["task_id"] = 650
        (data / "reflectevo" / f"{name}_train.jsonl").write_text(json.dumps(planted) + "\n" + json.dumps(row) + "\n")
    monkeypatch.setenv("REFLECTEVO_DATA_DIR", str(data))
    spec = load_spec(Path(specs_init).parent / "reflectevo-llama3-8b.yaml")
    assert spec.data_dir == str(data.resolve())
    for task in spec.data.tasks:
        [train] = load_eval_tasks(task, spec.data_dir, None, None, {}, spec.data.split)
        [test] = load_eval_tasks(task, spec.data_dir, None, None, {}, spec.eval.split)
        text_of = KEY_TEXT[task][1]
        assert len(train.docs) == 1 and len(test.docs) == 500
        assert not {content_key(text_of(d)) for d in train.docs} & {content_key(text_of(d)) for d in test.docs}
    stages = {s.key: s for s in plan(spec)}
    run = stages["data-run"].inputs
    assert run["gen_kwargs"] == "max_gen_toks=512" and run["reflection_gen_kwargs"] == "do_sample=true,temperature=0.8"
    assert {"data:dplus-oneturn", "data:reflection", "data:correction", "data:dpm"} <= set(stages)
    assert {"train:paper-oneturn-qlora", "train:paper-twostage", "train:paper-dpo"} <= set(stages)
    assert "eval:ckpt-paper-dpo@reflector:reflect" in stages and "eval:ckpt-paper-dpo:reflect" in stages
    assert stages["data-run@r2"].inputs["checkpoint_of"] == "train:paper-twostage"  # 2 rounds: "Evo"
    assert "eval:ckpt-paper-dpo@r2@reflector:reflect" in stages
    cfg = next(r for r in spec.recipes if r.name == "paper-oneturn-qlora").config
    assert cfg["peft"] == {"r": 8, "alpha": 32, "dropout": 0.1, "target_modules": "q_proj,k_proj,v_proj"}
    assert cfg["learning_rate"] == 1e-3 and cfg["num_train_epochs"] == 5
    assert cfg["per_device_train_batch_size"] * cfg["gradient_accumulation_steps"] == 64

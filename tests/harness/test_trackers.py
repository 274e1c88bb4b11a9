"""Eval results to TensorBoard (read back with tensorboard's own EventAccumulator) and W&B (`--wandb-args`: the
refusal where wandb is not installed; an offline run where it is)."""

from __future__ import annotations

import json

import pytest
import scripted_lm  # noqa: F401  (registers the scripted models)
from click.testing import CliRunner

from reflectevo_bench.cli import main
from reflectevo_bench.harness.trackers import scalars


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def run_toy(toy_yaml, out, *extra):
    """`run` of the scripted model on the toy task into ``out``."""
    return cli("run", "--model", "scripted-test", "--tasks", toy_yaml, "--output", out, *extra)


@pytest.fixture
def run_dir(toy_yaml, tmp_path):
    out = tmp_path / "run"
    r = run_toy(toy_yaml, out, "--protocol", "reflect", "--format", "json")
    assert r.exit_code == 0, r.output
    return out


def _read_events(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_results_to_tensorboard(run_dir, tmp_path):
    board = tmp_path / "tb"
    r = cli("results", run_dir, "--tensorboard", board, "--format", "json")
    assert r.exit_code == 0, r.output
    results = json.loads((run_dir / "results.json").read_text())
    ((task, m),) = results["results"].items()
    events = _read_events(board)
    assert set(events) == {f"{task}/acc@t1", f"{task}/acc@t2", f"{task}/delta"}
    assert events[f"{task}/acc@t1"] == [pytest.approx(m["acc@t1"])]
    assert events[f"{task}/acc@t2"] == [pytest.approx(m["acc@t2"])]
    assert events[f"{task}/delta"] == [pytest.approx(m["acc@t2"] - m["acc@t1"])]
    assert m["acc@t2"] != m["acc@t1"]  # the toy run flips docs: the values are not all one number
    assert "tensorboard: 3 scalars" in r.stderr


def test_run_writes_tensorboard_too(toy_yaml, tmp_path):
    board = tmp_path / "tb"
    r = run_toy(toy_yaml, tmp_path / "run", "--format", "json", "--tensorboard", board)
    assert r.exit_code == 0, r.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert {k: v[0] for k, v in _read_events(board).items()} == pytest.approx(scalars(results))


def test_tensorboard_dir_that_is_a_file_is_refused(toy_yaml, tmp_path):
    (tmp_path / "tb").write_text("x")
    r = run_toy(toy_yaml, tmp_path / "run", "--tensorboard", tmp_path / "tb")
    assert r.exit_code == 2 and "is a file" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_wandb_missing_is_refused_before_anything_is_written(toy_yaml, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    r = run_toy(toy_yaml, tmp_path / "run", "--wandb-args", "project=x,mode=offline")
    assert r.exit_code == 2, r.output
    assert r.stderr.strip().splitlines() == [
        "error: --wandb-args needs the wandb package, which is not installed: pip install wandb"
    ]
    assert not (tmp_path / "run").exists()
    r = run_toy(toy_yaml, tmp_path / "run", "--wandb-args", "project")
    assert r.exit_code == 2 and "--wandb-args" in r.stderr and not (tmp_path / "run").exists()


def test_results_to_wandb_offline(run_dir, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    (tmp_path / "wandb").mkdir()
    r = cli("results", run_dir, "--wandb-args", "project=reflectevo-test", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "wandb: 3 scalars" in r.stderr
    assert list((tmp_path / "wandb").rglob("*.wandb"))

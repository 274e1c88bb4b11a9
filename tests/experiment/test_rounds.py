"""`rounds: 2`: round 2's data run uses round 1's chosen checkpoint as the model that generates and reflects; the
leaderboard shows every round; a round killed with -9 resumes like any stage."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from exp_helpers import FAST, make_spec, start_experiment, wait_running

from reflectevo_bench.cli import main
from reflectevo_bench.errors import BenchError


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _spec(tiny_model, big_tiny, toy_task, **over):
    spec = make_spec(
        tiny_model,
        big_tiny,
        toy_task,
        recipes={"sft": {"trainer": "sft", "data": "dplus", "config": dict(FAST)}},
        references=[],
        **over,
    )
    spec["data"]["kinds"] = ["dplus"]
    spec["eval"].update(controls=[], limit=4)
    spec["rounds"] = 2
    return spec


def test_plan_of_two_rounds(tiny_model, big_tiny, toy_task, tmp_path):
    from reflectevo_bench.experiment.graph import plan
    from reflectevo_bench.experiment.spec import load_spec

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(_spec(tiny_model, big_tiny, toy_task)))
    stages = {s.key: s for s in plan(load_spec(path))}
    assert list(stages)[:6] == ["data-run", "data:dplus", "train:sft", "data-run@r2", "data:dplus@r2", "train:sft@r2"]
    r2 = stages["data-run@r2"]
    assert r2.inputs["checkpoint_of"] == "train:sft" and r2.deps == ["train:sft"]
    assert stages["train:sft@r2"].deps == ["data:dplus@r2"]
    assert {"eval:ckpt-sft:reflect", "eval:ckpt-sft@r2:reflect"} <= set(stages)
    one = _spec(tiny_model, big_tiny, toy_task)
    one.pop("rounds")
    path.write_text(yaml.safe_dump(one))
    assert stages["data-run"].hash == {s.key: s for s in plan(load_spec(path))}["data-run"].hash


@pytest.mark.parametrize(
    "change, message", [({"rounds": 0}, "positive integer"), ({"evolve": "nope"}, "names no recipe")]
)
def test_bad_rounds(tiny_model, big_tiny, toy_task, tmp_path, change, message):
    from reflectevo_bench.experiment.spec import load_spec

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({**_spec(tiny_model, big_tiny, toy_task), **change}))
    with pytest.raises(BenchError, match=message):
        load_spec(path)


def _has_session(manifest: Path) -> bool:
    try:
        return bool(json.loads(manifest.read_text()).get("sessions"))
    except ValueError:  # not written yet
        return False


def test_two_rounds_end_to_end_with_kill_9_in_round_2(tiny_model, big_tiny, toy_task, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(_spec(tiny_model, big_tiny, toy_task)))
    out = tmp_path / "exp"
    proc = start_experiment(path, out)

    def round_2_generating() -> bool:
        manifests = list(out.glob("runs/data@r2-*/run.json"))
        return bool(manifests) and _has_session(manifests[0])  # round 2's data run has started generating

    wait_running(proc, round_2_generating, 240, poll=0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = {r["stage"]: r["state"] for r in json.loads(cli("experiment", "status", out, "--json").output)}
    assert rows["train:sft"] == "done" and rows["data-run@r2"] in ("interrupted", "running")
    assert rows["train:sft@r2"] == "pending"
    r = cli("experiment", "run", path, "--out", out, "-q")
    assert r.exit_code in (0, 1), r.output
    rows = {r["stage"]: r["state"] for r in json.loads(cli("experiment", "status", out, "--json").output)}
    assert set(rows.values()) == {"done"}
    manifest = json.loads(next(out.glob("runs/data@r2-*/run.json")).read_text())
    ckpt1 = next(out.glob("ckpt/sft-*/reflectevo_checkpoint.json")).parent
    assert f"pretrained={ckpt1.resolve()}" in manifest["identity"]["model_args"]  # round 1's checkpoint generated
    assert len(manifest["sessions"]) == 2  # killed once, resumed once
    board = json.loads((out / "leaderboard" / "leaderboard.json").read_text())
    text = json.dumps(board)
    assert "ckpt-sft@r2" in text and '"ckpt-sft"' in text

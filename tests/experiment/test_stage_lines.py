"""`experiment run` says "stage n of N" before each stage, done or not (the stage runners here only record that
they were called: what is under test is the loop's own lines)."""

from __future__ import annotations

import io
import json
import re

from exp_helpers import make_spec
from rich.console import Console

from reflectevo_bench.experiment import execute
from reflectevo_bench.experiment.spec import parse_spec


def test_stage_n_of_n_before_each_stage(tiny_model, toy_task, tmp_path, monkeypatch):
    spec = parse_spec(make_spec(tiny_model, tiny_model, toy_task), tmp_path / "spec.yaml")
    text = io.StringIO()
    exp = execute.Experiment(spec, tmp_path / "exp", Console(file=text, width=300))
    called: list[str] = []

    def runner(exp, stage):
        called.append(stage.key)
        (exp.out / "gate.json").write_text(json.dumps({"exit_code": 0}))

    monkeypatch.setattr(exp, "preflight", lambda: None)
    monkeypatch.setattr(exp, "_check_rows", lambda final=False: None)
    monkeypatch.setattr(execute, "RUNNERS", {kind: runner for kind in execute.RUNNERS})
    done = exp.stages[0]
    monkeypatch.setattr(execute, "stage_complete", lambda out, stage: stage is done)
    exp.run()
    total = len(exp.stages)
    assert total > 3 and called == [s.key for s in exp.stages[1:]]
    lines = [line for line in text.getvalue().splitlines() if re.search(r"stage \d+ of \d+", line)]
    assert lines[0] == f"✓ stage 1 of {total}: {done.key} (done: {done.rel})"
    assert [re.search(r"stage (\d+) of (\d+): (\S+)", line).groups() for line in lines] == [
        (str(n), str(total), s.key) for n, s in enumerate(exp.stages, 1)
    ]

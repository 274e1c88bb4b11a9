"""A protocol defined in one file (``run --protocol path/to/file.py:NAME``) is a protocol an experiment spec can
name too: as ``eval.protocol``, as a control or as ``data.protocol``, with a relative path taken from the spec's
folder. `experiment plan` accepts it and names its stages by the protocol's name; `experiment run` runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner
from exp_helpers import make_spec, refused, write_spec_file

from reflectevo_bench.cli import main

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "plugins" / "toy_protocol.py"
HINT = f"{TOY}:hint-retry"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _eval_only(tiny_model: Path, toy_task: Path, **eval_over) -> dict:
    spec = make_spec(tiny_model, tiny_model, toy_task, recipes={}, references=[], data=None)
    spec["eval"].update(limit=2, **eval_over)
    return spec


def test_plan_accepts_a_plugin_protocol_as_control_and_as_main(tiny_model, toy_task, tmp_path):
    from reflectevo_bench.experiment.graph import plan
    from reflectevo_bench.experiment.spec import load_spec

    path = write_spec_file(tmp_path, _eval_only(tiny_model, toy_task, controls=["retry", HINT]))
    r = cli("experiment", "plan", path)
    assert r.exit_code == 0, r.output + r.stderr
    table = r.output.split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in table[1:]] == [
        "eval:tiny:reflect",
        "eval:tiny:retry",
        "eval:tiny:hint-retry",
        "leaderboard",
        "gate",
    ]
    stage = {s.key: s for s in plan(load_spec(path))}["eval:tiny:hint-retry"]
    assert stage.extra["protocol"] == HINT and not stage.extra["main"]  # what `run --protocol` gets
    assert stage.rel.startswith("runs/eval-tiny-hint-retry-")

    main_spec = _eval_only(tiny_model, toy_task, protocol=HINT, controls=["retry"])
    r = cli("experiment", "plan", write_spec_file(tmp_path, main_spec))
    assert r.exit_code == 0, r.output + r.stderr
    assert "eval:tiny:hint-retry" in r.output.split("\n\n")[0]


def test_a_relative_plugin_path_is_taken_from_the_spec_folder(tiny_model, toy_task, tmp_path, monkeypatch):
    from reflectevo_bench.experiment.spec import load_spec

    (tmp_path / "plugins").mkdir()
    shutil.copy(TOY, tmp_path / "plugins" / "hint.py")
    spec = _eval_only(tiny_model, toy_task, controls=["plugins/hint.py:hint-retry"])
    spec["data"] = {**make_spec(tiny_model, tiny_model, toy_task)["data"], "protocol": "plugins/hint.py:HINT_RETRY"}
    path = write_spec_file(tmp_path, spec)
    monkeypatch.chdir(tmp_path.parent)  # not the spec's folder
    parsed = load_spec(path)
    assert parsed.eval.controls == [f"{tmp_path / 'plugins' / 'hint.py'}:hint-retry"]
    assert parsed.data.protocol == f"{tmp_path / 'plugins' / 'hint.py'}:HINT_RETRY"


def test_bad_plugin_protocols_are_one_line_errors(tiny_model, toy_task, tmp_path):
    missing = _eval_only(tiny_model, toy_task, controls=["no/such/file.py:x"])
    refused(cli("experiment", "plan", write_spec_file(tmp_path, missing)), "eval controls", "no file no/such/file.py")
    unnamed = _eval_only(tiny_model, toy_task, controls=[f"{TOY}:nope"])
    refused(
        cli("experiment", "plan", write_spec_file(tmp_path, unnamed)), "defines no protocol named 'nope'", "hint-retry"
    )
    twice = _eval_only(tiny_model, toy_task, controls=[HINT, f"{TOY}:HINT_RETRY"])  # one protocol, two spellings
    refused(cli("experiment", "plan", write_spec_file(tmp_path, twice)), "controls must differ")
    unknown = _eval_only(tiny_model, toy_task, protocol="reflekt")
    refused(
        cli("experiment", "plan", write_spec_file(tmp_path, unknown)),
        "unknown protocol 'reflekt'",
        "path/to/file.py:NAME",
    )


def test_run_evaluates_under_the_plugin_protocol(tiny_model, toy_task, tmp_path):
    path = write_spec_file(tmp_path, _eval_only(tiny_model, toy_task, controls=[HINT]))
    out = tmp_path / "exp"
    r = cli("experiment", "run", path, "--out", out, "-q")
    assert r.exit_code in (0, 1), r.output + r.stderr  # 1: the gate's verdict on random models
    (run_dir,) = (out / "runs").glob("eval-tiny-hint-retry-*")
    identity = json.loads((run_dir / "run.json").read_text())
    assert "hint-retry" in json.dumps(identity) and str(TOY) in json.dumps(identity)
    records = [json.loads(line) for f in run_dir.glob("samples_*.jsonl") for line in f.read_text().splitlines()]
    assert len(records) == 2
    retried = [r for r in records if len(r["turns"]) > 1]
    for rec in retried:  # the plugin's own turn, not retry's feedback
        assert any("Hint: add the two numbers" in str(t) for t in rec["turns"]), rec

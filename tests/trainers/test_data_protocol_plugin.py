"""`data build` on a run made with a protocol defined in a plugin file (`run --protocol FILE.py:NAME`): the run
records the file (``protocol_file``), and the builder loads the protocol from it as `run --resume` does. The toy
``hint-retry`` protocol writes no reflection: ``failures`` builds (the reflection prompt is ``reflect``'s), the
reflection kinds are one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflectevo_bench.cli import main

PLUGIN = Path(__file__).resolve().parents[1] / "fixtures" / "plugins" / "toy_protocol.py"


@pytest.fixture(scope="module")
def hint_run(tiny_model, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hint-run")
    toy = Path(__file__).resolve().parents[1] / "fixtures" / "toy"
    shutil.copytree(toy, root / "toy")
    plugin = root / "toy_protocol.py"
    shutil.copy(PLUGIN, plugin)
    yaml_path = root / "toy" / "toy_scripted.yaml"
    yaml_path.write_text(
        yaml_path.read_text().replace("test: toy_scripted.jsonl", f"test: {root / 'toy' / 'toy_scripted.jsonl'}")
    )
    out = root / "run"
    res = CliRunner().invoke(
        main,
        [
            "run",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            str(yaml_path),
            "--protocol",
            f"{plugin}:hint-retry",
            "--attempts",
            "2",
            "--gen-kwargs",
            "max_gen_toks=4",
            "--device",
            "cpu",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads((out / "run.json").read_text())["identity"]["protocol_file"] == f"{plugin}:hint-retry"
    return out


def _build(kind: str, run: Path, out: Path):
    return CliRunner().invoke(
        main, ["data", "build", "--kind", kind, str(run), "--out", str(out), "--eval-fraction", "0"]
    )


def test_failures_build_from_a_plugin_protocol_run(hint_run, tmp_path):
    res = _build("failures", hint_run, tmp_path / "failures")
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "failures" / "card.json").read_text())
    assert card["protocols"] == ["hint-retry"] and card["rows"]["train"] >= 1
    rows = [json.loads(line) for line in (tmp_path / "failures" / "train.jsonl").read_text().splitlines()]
    for row in rows:  # attempt 1, the failed answer, then a reflection request (reflect's: the plugin has none)
        assert row["prompt"][:-2] == row["attempt_prompt"] and row["prompt"][-2]["role"] == "assistant"
        assert row["prompt"][-1]["role"] == "user" and "Hint:" not in row["prompt"][-1]["content"]


def test_reflection_kinds_from_a_plugin_without_reflections_are_one_line(hint_run, tmp_path):
    res = _build("dplus", hint_run, tmp_path / "dplus")
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "hint-retry" in res.output and "writes no reflections" in res.output
    assert not (tmp_path / "dplus").exists()


def test_a_plugin_file_gone_is_one_line(hint_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(hint_run, run)
    manifest = json.loads((run / "run.json").read_text())
    manifest["identity"]["protocol_file"] = f"{tmp_path / 'gone.py'}:hint-retry"
    (run / "run.json").write_text(json.dumps(manifest))
    res = _build("failures", run, tmp_path / "failures")
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "cannot be loaded" in res.output and "gone.py" in res.output

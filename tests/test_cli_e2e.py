"""The real tiny HF model end to end through the CLI: run, results, score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflectevo_bench.cli import main


@pytest.fixture(scope="module")
def tiny_run(tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("e2e") / "run"
    res = CliRunner().invoke(
        main,
        [
            "run",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            "countdown",
            "--limit",
            "5",
            "--gen-kwargs",
            "max_gen_toks=12",
            "--batch-size",
            "4",
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output + str(res.exception)
    return out


def test_run_writes_records_results_and_manifest(tiny_run):
    lines = (tiny_run / "samples_countdown.jsonl").read_text().splitlines()
    assert len(lines) == 5
    recs = [json.loads(line) for line in lines]
    assert sorted(r["doc_id"] for r in recs) == list(range(5))
    first = recs[0]["turns"][0]
    assert first["prompt"].startswith("<|im_start|>user\nUsing the numbers")
    assert first["messages"][0]["role"] == "user"
    assert first["completion_tokens"] == 12 and first["prompt_tokens"] > 20
    assert first["gen_kwargs"]["max_gen_toks"] == 12 and first["gen_kwargs"]["do_sample"] is False
    results = json.loads((tiny_run / "results.json").read_text())
    task = results["results"]["countdown"]
    assert task["n"] == 5 and set(task) >= {"acc@t1", "acc@t2", "acc@t1_ci95", "delta", "wrong_to_right"}
    assert results["feedback_mode"] == "oracle" and results["protocol"] == "reflect"
    assert results["package_versions"]["lm_eval"] and results["phases"]["attempt_1"]["requests"] == 5
    assert results["n-samples"]["countdown"] == {"original": 500, "effective": 5}
    assert results["phases"]["attempt_1"]["completion_tokens"] == 60


def test_results_command_recomputes_identically(tiny_run):
    before = (tiny_run / "results.json").read_text()
    (tiny_run / "results.json").unlink()
    res = CliRunner().invoke(main, ["results", str(tiny_run)])
    assert res.exit_code == 0, res.output
    assert (tiny_run / "results.json").read_text() == before


def test_rescore_matches_recorded_verdicts(tiny_run):
    res = CliRunner().invoke(main, ["results", str(tiny_run), "--rescore"])
    assert res.exit_code == 0, res.output
    rescored = json.loads((tiny_run / "results.json").read_text())
    assert rescored["rescored"] is True
    CliRunner().invoke(main, ["results", str(tiny_run)])
    plain = json.loads((tiny_run / "results.json").read_text())
    assert rescored["results"] == plain["results"]


def test_score_by_doc_id_and_raw_doc(tmp_path):
    from reflectevo_bench.tasks.countdown.generator import generate

    rows = generate(4, 2505)  # the task's seed: doc_ids refer to the same problems
    preds = tmp_path / "preds.jsonl"
    with open(preds, "w") as fh:
        fh.write(json.dumps({"doc_id": 0, "response": f"Answer: {rows[0]['solution']}"}) + "\n")
        fh.write(json.dumps({"doc_id": 1, "response": "Answer: 1 + 1", "extra": "ignored"}) + "\n")
        fh.write(json.dumps({"doc": {"nums": [2, 3, 4], "target": 20}, "response": "(2 + 3) * 4"}) + "\n")
    out = tmp_path / "scored"
    res = CliRunner().invoke(main, ["score", "--task", "countdown", "--predictions", str(preds), "--output", str(out)])
    assert res.exit_code == 0, res.output
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    assert [s["correct"] for s in scores] == [True, False, True]
    assert "exactly once" in scores[1]["feedback"] and scores[2]["extracted"] == "(2 + 3) * 4"
    assert json.loads((out / "score.json").read_text()) == {
        "task": "countdown",
        "n": 3,
        "accuracy": 2 / 3,
        "verifier_errors": 0,
    }

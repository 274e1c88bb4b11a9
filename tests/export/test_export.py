"""``reflectevo-bench export``: lm-eval sample files checked against stock lm-eval's own logged samples, and
Inspect AI logs read back with inspect_ai's log reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stock_lm_eval import QUESTIONS, context, ours_and_stock, write_qa_task

from reflectevo_bench.harness.records import read_records

HASH = Path(__file__).resolve().parents[1] / "leaderboards" / "fixtures" / "hashtask"


def _main(args):
    from reflectevo_bench.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def hash_run(tmp_path_factory, tiny_model) -> Path:
    out = tmp_path_factory.mktemp("export") / "run"
    result = _main(
        [
            "run",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            f"{HASH / 'hash_a.yaml'},{HASH / 'hash_b.yaml'}",
            "--limit",
            "8",
            "--gen-kwargs",
            "do_sample=true,temperature=1.0,max_gen_toks=8",
            "--output",
            out,
        ]
    )
    assert result.exit_code == 0, result.output
    return out


def test_lm_eval_samples_equal_stock_lm_evals_log(tiny_model, tmp_path):
    from lm_eval.result_schema import SampleResult
    from lm_eval.utils import get_latest_filename, get_sample_results_filenames

    questions = QUESTIONS[:4]
    yaml_path = write_qa_task(tmp_path, "plain_qa", questions, ["first_word", "whole"], max_gen_toks=10)
    out_dir, _, stock = ours_and_stock(tiny_model, yaml_path, tmp_path / "ours", "reflect", 2)
    result = _main(["export", out_dir, "--format", "lm-eval", "--out", tmp_path / "exp"])
    assert result.exit_code == 0, result.output
    files = [str(p) for p in (tmp_path / "exp").rglob("*.json*")]
    (samples_file,) = get_sample_results_filenames(files)
    assert get_latest_filename(get_sample_results_filenames(files)) == samples_file
    assert Path(samples_file).name.startswith("samples_plain_qa_")
    assert any(Path(f).name.startswith("results_") for f in files)

    import datasets

    rows = list(datasets.load_dataset("json", data_files=samples_file, split="train"))  # lm-eval's way to load them
    ours = {(r["doc_id"], r["filter"]): r for r in rows}
    theirs = {(s["doc_id"], s["filter"]): s for s in stock["samples"]["plain_qa"]}
    assert ours.keys() == theirs.keys() and len(ours) == 2 * len(questions)
    required = set(SampleResult.__required_keys__)
    records = {r["doc_id"]: r for r in read_records(out_dir)["plain_qa"]}
    for key, mine in ours.items():
        stock_row = theirs[key]
        assert required <= set(mine), required - set(mine)
        for field in (
            "doc",
            "target",
            "resps",
            "filtered_resps",
            "metrics",
            "doc_hash",
            "prompt_hash",
            "target_hash",
            "exact_match",
        ):
            assert mine[field] == stock_row[field], (key, field, mine[field], stock_row[field])
        assert mine["arguments"]["gen_args_0"]["arg_0"] == context(stock_row["arguments"])
        later = mine["reflectevo"]
        assert later["correct_at"] == records[key[0]]["correct_at"]
        assert len(later["turns"]) == len(records[key[0]]["turns"]) - 1  # everything after attempt 1


def test_inspect_log_reads_back(hash_run, tmp_path):
    from inspect_ai.log import read_eval_log

    result = _main(["export", hash_run, "--format", "inspect", "--out", tmp_path / "logs"])
    assert result.exit_code == 0, result.output
    logs = sorted((tmp_path / "logs").glob("*.eval"))
    assert len(logs) == 2
    records = read_records(hash_run)
    for path in logs:
        log = read_eval_log(str(path))
        task = log.eval.task
        recs = {r["doc_id"]: r for r in records[task]}
        assert log.status == "success" and len(log.samples) == len(recs)
        assert log.eval.metadata["feedback_mode"] == "oracle"
        for k in (1, 2):
            (score,) = [s for s in log.results.scores if s.name == f"acc@t{k}"]
            expected = sum(r["correct_at"][k - 1] for r in recs.values()) / len(recs)
            assert score.metrics["accuracy"].value == pytest.approx(expected)
        for sample in log.samples:
            rec = recs[sample.id]
            assert [sample.scores[f"acc@t{k}"].value for k in (1, 2)] == ["C" if c else "I" for c in rec["correct_at"]]
            model_turns = [m for m in sample.messages if m.role == "assistant"]
            assert [m.text for m in model_turns] == [t["response"] for t in rec["turns"]]
            assert [m.metadata["kind"] for m in model_turns] == [t["kind"] for t in rec["turns"]]
            if len(rec["turns"]) > 1:  # the feedback the model saw sits between attempt 1 and the reflection
                between = sample.messages[sample.messages.index(model_turns[0]) + 1]
                assert between.role == "user" and rec["turns"][0]["verdict"]["feedback"] in between.text


def test_export_bad_input(tmp_path):
    result = _main(["export", tmp_path, "--format", "inspect", "--out", tmp_path / "o"])
    assert result.exit_code == 2 and "not a reflectevo-bench run dir" in result.output
    assert not (tmp_path / "o").exists()
    result = _main(["export", tmp_path, "--format", "csv", "--out", tmp_path / "o"])
    assert result.exit_code == 2


def test_score_accepts_lm_eval_sample_rows(hash_run, tmp_path):
    """The exported lm-eval file scored again with the task's verifier gives attempt 1's verdicts back."""
    result = _main(["export", hash_run, "--format", "lm-eval", "--out", tmp_path / "exp"])
    assert result.exit_code == 0, result.output
    (samples,) = (tmp_path / "exp").rglob("samples_lb_hash_a_*.jsonl")
    lines = samples.read_text(encoding="utf-8").splitlines()
    # a second filter row per doc, as lm-eval logs one row per filter: it must not be scored twice
    samples.write_text(
        "\n".join(x for line in lines for x in (line, line.replace('"filter": "none"', '"filter": "b"'))) + "\n",
        encoding="utf-8",
    )
    result = _main(["score", "--task", HASH / "hash_a.yaml", "--predictions", samples, "--output", tmp_path / "scored"])
    assert result.exit_code == 0, result.output
    scored = [json.loads(x) for x in (tmp_path / "scored" / "scores.jsonl").read_text().splitlines()]
    records = read_records(hash_run)["lb_hash_a"]
    assert [s["correct"] for s in scored] == [r["correct_at"][0] for r in records]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["doc", "doc_id", "resps", "filtered_resps", "response", "x"]),
            st.recursive(
                st.none() | st.integers() | st.text(max_size=5),
                lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=3),
                max_leaves=6,
            ),
            max_size=5,
        ),
        min_size=1,
        max_size=4,
    )
)
def test_read_predictions_fuzz(tmp_path, rows):
    """Any JSON rows: read_predictions returns valid rows or raises one BenchError line, never anything else."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.harness.score import read_predictions

    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    try:
        out = read_predictions(path)
    except BenchError as exc:
        assert "\n" not in str(exc)
        return
    for row in out:
        assert isinstance(row["response"], str)
        assert isinstance(row.get("doc"), dict) or isinstance(row.get("doc_id"), int)

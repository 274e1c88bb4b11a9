"""Strict record reading: only a torn last line is repaired; a corrupt line anywhere else is refused, in one line
naming the file and line, by every reader (`results`, `data build`, `leaderboard`, `merge`, `run --resume`), and
nothing is rewritten from a partial read. One run dir passed twice, or a shard's own dir, is not taken as a run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflectevo_bench.cli import main
from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.records import read_records, repair_tail, samples_path
from reflectevo_bench.harness.response_cache import ResponseCache

LIMIT = 6
ARGS = ["--tasks", "countdown", "--limit", str(LIMIT), "--gen-kwargs", "max_gen_toks=8"]


def _invoke(*args: str):
    return CliRunner().invoke(main, list(map(str, args)))


def _ok(res) -> None:
    assert res.exit_code == 0, res.output + repr(res.exception)


def _one_line_error(res, *needles: str) -> str:
    assert res.exit_code == 2, res.output + repr(res.exception)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def runs(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """A finished single-process run and a finished, merged 2-shard run of the same command."""
    base = tmp_path_factory.mktemp("strict")
    model = ["--model-args", f"pretrained={tiny_model}"]
    _ok(_invoke("run", *model, *ARGS, "--output", base / "whole"))
    for i in range(2):
        _ok(_invoke("run", *model, *ARGS, "--output", base / "sharded", "--shard", f"{i}/2"))
    return {"whole": base / "whole", "sharded": base / "sharded", "model": tiny_model}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _corrupt_middle(path: Path, number: int = 3) -> None:
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = lines[number - 1][:40]  # a line cut short in the middle of the file
    path.write_bytes(b"\n".join(lines))


def test_torn_last_line_is_repaired_but_a_middle_one_is_refused(tmp_path):
    path = samples_path(tmp_path, "t")
    good = [json.dumps({"task": "t", "doc_id": i}) for i in range(4)]
    path.write_text("\n".join(good) + '\n{"task": "t", "doc')  # torn tail (no newline)
    assert [r["doc_id"] for r in read_records(tmp_path)["t"]] == [0, 1, 2, 3]
    path.write_text("\n".join(good) + '\n{"task": "t", "doc\n')  # torn last line that ends with a newline
    assert [r["doc_id"] for r in read_records(tmp_path)["t"]] == [0, 1, 2, 3]
    repair_tail(path)
    assert path.read_text() == "\n".join(good) + "\n"
    for bad in ('{"task": "t", "doc', "", "[1, 2]", '{"task": "t"}', '{"doc_id": 9}', '{"task": "t", "doc_id": true}'):
        path.write_text("\n".join(good[:2] + [bad] + good[2:]) + "\n")
        with pytest.raises(BenchError, match=rf"^{path}: line 3 "):
            read_records(tmp_path)
        with pytest.raises(BenchError, match=rf"^{path}: line 3 "):
            repair_tail(path)  # a writer appending after it would hide the damage too
    path.write_text("\n".join(good + [good[1]]) + "\n")
    with pytest.raises(BenchError, match=rf"^{path}: line 5 records doc 1 .* twice"):
        read_records(tmp_path)


def test_response_cache_refuses_a_corrupt_middle_line(tmp_path):
    path = tmp_path / "cache.jsonl"
    rows = [json.dumps({"key": f"k{i}", "response": f"r{i}"}) for i in range(3)]
    path.write_text(rows[0] + "\n" + '{"key": "x", "resp\n' + rows[1] + "\n" + rows[2] + "\n")
    with pytest.raises(BenchError, match=rf"^{path}: line 2 "):
        ResponseCache(path)
    path.write_text("\n".join(rows) + '\n{"key": "x", "resp')
    cache = ResponseCache(path)
    cache.close()
    assert cache.get("k2") == "r2" and path.read_text() == "\n".join(rows) + "\n"


def test_every_reader_refuses_a_corrupt_middle_line(runs, tmp_path):
    run = _copy(runs["whole"], tmp_path / "run")
    samples = run / "samples_countdown.jsonl"
    _corrupt_middle(samples, 3)
    results_before = (run / "results.json").read_bytes()
    where = f"{samples}: line 3 "
    _one_line_error(_invoke("results", run), where)
    assert (run / "results.json").read_bytes() == results_before  # never rewritten from a partial read
    _one_line_error(_invoke("data", "build", "--kind", "failures", run, "--out", tmp_path / "data"), where)
    assert not (tmp_path / "data").exists()
    _one_line_error(_invoke("leaderboard", "build", run, "--out", tmp_path / "lb"), where)
    _one_line_error(_invoke("leaderboard", "snapshot", run, "--out", tmp_path / "snap.json"), where)
    resumed = _invoke("run", "--model-args", f"pretrained={runs['model']}", *ARGS, "--output", run, "--resume")
    _one_line_error(resumed, where)
    assert (run / "results.json").read_bytes() == results_before


def test_merge_refuses_a_corrupt_line_in_a_shard(runs, tmp_path):
    run = _copy(runs["sharded"], tmp_path / "sharded")
    samples = run / "shards" / "0" / "samples_countdown.jsonl"
    _corrupt_middle(samples, 1)
    merged_before = (run / "samples_countdown.jsonl").read_bytes()
    _one_line_error(_invoke("merge", run), f"{samples}: line 1 ")
    assert (run / "samples_countdown.jsonl").read_bytes() == merged_before


def test_data_build_takes_each_run_once_and_no_shard_dir(runs, tmp_path):
    run = runs["whole"]
    _ok(_invoke("data", "build", "--kind", "failures", run, "--out", tmp_path / "once", "--eval-fraction", "0"))
    card = json.loads((tmp_path / "once" / "card.json").read_text())
    assert card["rows"]["train"] > 0
    for second in (run, run.parent / ".." / run.parent.name / run.name):
        _one_line_error(
            _invoke("data", "build", "--kind", "failures", run, second, "--out", tmp_path / "twice"),
            "pass each run dir once",
        )
        assert not (tmp_path / "twice").exists()
    copy = _copy(run, tmp_path / "copy")
    _one_line_error(
        _invoke("data", "build", "--kind", "failures", run, copy, "--out", tmp_path / "twice"), "the same run"
    )
    shard = runs["sharded"] / "shards" / "1"
    for cmd in (
        ("data", "build", "--kind", "failures", shard, "--out", tmp_path / "shard"),
        ("results", shard),
        ("leaderboard", "snapshot", shard, "--out", tmp_path / "s.json"),
    ):
        _one_line_error(_invoke(*cmd), f"{shard} is shard 1/2 of a run, not a run")
    _ok(_invoke("data", "build", "--kind", "failures", runs["sharded"], "--out", tmp_path / "merged"))

"""Sharded runs: shard math and launcher detection, shards run one after another, side by side under torchrun, or
killed and resumed, all into one --output dir; the merged samples and results.json equal a single-process run."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflectevo_bench.cli import main
from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness import run_dir as rd
from reflectevo_bench.harness.merge import merge_if_last, merge_lock, merge_run
from reflectevo_bench.harness.records import read_records
from reflectevo_bench.harness.shard import Shard, detect_shard, local_devices, parse_shard, run_alone

BIN = Path(sys.executable).parent
# Greedy decoding with batch size 1: a doc's tokens do not depend on which other docs share its batch, so a shard
# generates exactly what the single process generates for the same doc.
ARGS = ["--tasks", "countdown,arith_1op", "--gen-kwargs", "max_gen_toks=8", "--batch-size", "1"]
# results.json keys that are per process by nature (when it ran, how long each process took); git_hash too, here
# only: other work commits to this checkout while the tests run
PER_PROCESS = {"date", "sessions", "total_wall_time_s", "git_hash"}


def _run(tiny_model: Path, out: Path, *extra: str) -> CliRunner.Result:
    return CliRunner().invoke(
        main, ["run", "--model-args", f"pretrained={tiny_model}", *ARGS, "--output", str(out), *extra]
    )


def _ok(res) -> None:
    assert res.exit_code == 0, res.output + repr(res.exception)


def _one_line_error(res, *needles: str) -> str:
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def sample_lines(run_dir: Path) -> dict[str, set[str]]:
    """Per samples file, its lines without ``timing`` (latency and cache hits are per process by nature)."""
    out = {}
    for path in sorted(run_dir.glob("samples_*.jsonl")):
        lines = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            for turn in rec["turns"]:
                turn.pop("timing")
            lines.add(json.dumps(rec, sort_keys=True))
        out[path.name] = lines
    return out


def comparable_results(run_dir: Path) -> dict:
    """results.json without the per-process keys and the phases' timing figures (task configs name functions by
    module and qualname, so they compare as they are)."""
    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    for key in PER_PROCESS:
        results.pop(key)
    for phase in results["phases"].values():  # timings, and cache hits (a resumed session's by nature)
        del phase["backend_s"], phase["completion_tokens_per_s"], phase["cached"]
    return results


def assert_same_as_single(merged: Path, single: Path) -> None:
    assert sample_lines(merged) == sample_lines(single)
    assert comparable_results(merged) == comparable_results(single)
    results = json.loads((merged / "results.json").read_text())
    assert results["complete"] is True


# --- shard math and detection -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2/2", "0/0", "a/b", "-1/2", "1/2/3", "1", "3/2", ""])
def test_bad_shard_is_one_line_naming_the_form(text, tmp_path):
    with pytest.raises(BenchError, match=r"i/N with 0 <= i < N \(i counts from 0"):
        parse_shard(text)
    res = CliRunner().invoke(main, ["run", "--shard", text, "--output", str(tmp_path / "out")])
    _one_line_error(res, "--shard must be i/N", "i counts from 0")
    assert not (tmp_path / "out").exists()


def test_a_shard_needs_an_output_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _one_line_error(CliRunner().invoke(main, ["run", "--shard", "1/2"]), "shard 1/2 (from --shard) needs --output")
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NTASKS", "2")
    _one_line_error(CliRunner().invoke(main, ["run"]), "shard 0/2 (from Slurm (SLURM_PROCID=0, SLURM_NTASKS=2)) needs")
    assert not list(tmp_path.iterdir())


def test_doc_ids_cover_every_doc_once_like_lm_evals_islice():
    for n_docs, count in itertools.product(range(0, 12), range(2, 6)):
        parts = [list(parse_shard(f"{i}/{count}").doc_ids(n_docs)) for i in range(count)]
        assert sorted(itertools.chain(*parts)) == list(range(n_docs))
        assert parts == [list(itertools.islice(range(n_docs), i, None, count)) for i in range(count)]
        assert max(map(len, parts)) - min(map(len, parts)) <= 1  # uneven by at most one; may be zero
    assert list(parse_shard("3/4").doc_ids(2)) == []


def test_shard_from_launcher_environment():
    torchrun = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}
    slurm = {"SLURM_PROCID": "3", "SLURM_NTASKS": "4"}
    assert detect_shard(None, {}) is None
    got = detect_shard(None, torchrun)
    assert (got.index, got.count) == (1, 2) and "RANK=1, WORLD_SIZE=2" in got.source
    got = detect_shard(None, slurm)
    assert (got.index, got.count) == (3, 4) and got.source.startswith("Slurm")
    got = detect_shard(None, {**slurm, **torchrun})  # torchrun started inside an srun step: its ranks count
    assert (got.index, got.count) == (1, 2)
    assert detect_shard(None, {"RANK": "0", "WORLD_SIZE": "1", **slurm}).count == 4  # one torchrun process
    assert detect_shard(None, {"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}) is None
    explicit = detect_shard("0/3", torchrun)  # --shard wins over the environment
    assert (explicit.index, explicit.count, explicit.source) == (0, 3, "--shard")
    assert detect_shard("0/1", torchrun) is None  # --shard 0/1: one process, whatever the launcher says
    for bad in ({"RANK": "2", "WORLD_SIZE": "2"}, {"RANK": "x", "WORLD_SIZE": "2"}, {"SLURM_NTASKS": "2"}):
        with pytest.raises(BenchError, match="is not a shard i/N .* pass --shard i/N"):
            detect_shard(None, bad)


def test_a_shard_runs_alone_on_its_own_gpus():
    """torchrun's variables go (no backend joins a process group); each local rank gets its share of the GPUs."""
    env = {
        "RANK": "3",
        "WORLD_SIZE": "8",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "4",
        "MASTER_ADDR": "n1",
        "MASTER_PORT": "29500",
        "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7",
        "PATH": "/bin",
    }
    assert run_alone(env) == "2,3"
    assert env == {"CUDA_VISIBLE_DEVICES": "2,3", "PATH": "/bin"}
    env = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "CUDA_VISIBLE_DEVICES": "5"}
    assert run_alone(env) is None and env == {"CUDA_VISIBLE_DEVICES": "5"}  # the launcher pinned it already
    env = {"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "CUDA_VISIBLE_DEVICES": "0,1"}
    assert run_alone(env) is None and env == {"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "CUDA_VISIBLE_DEVICES": "0,1"}
    assert local_devices(["0", "1", "2"], 2, 3) == ["2"] and local_devices(["0", "1", "2"], 0, 2) == ["0"]
    assert local_devices([], 0, 2) == []


def test_manifest_created_once_when_shards_start_together(tmp_path):
    identity = {"model": "hf", "seed": 1}
    first = rd.start_manifest(tmp_path, identity, {"date": "first"}, Shard(0, 2, "--shard"))
    second = rd.start_manifest(tmp_path, identity, {"date": "second"}, Shard(1, 2, "--shard"))
    top = rd.read_manifest(tmp_path)
    assert top["environment"]["date"] == "first" and top["sharding"] == {"shards": 2, "merged": False}
    assert first["shard"]["index"] == 0 and second["shard"]["index"] == 1
    assert not rd.create_json_exclusive(tmp_path / "run.json", {"other": True})
    assert rd.read_manifest(tmp_path)["environment"]["date"] == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "shards"]  # no temp file left behind
    with pytest.raises(BenchError, match="holds a different run"):  # a different run racing for the same dir
        rd.start_manifest(tmp_path, {"model": "hf", "seed": 2}, {}, Shard(1, 2, "--shard"))
    with pytest.raises(BenchError, match="split into 2 shards, not 3"):
        rd.start_manifest(tmp_path, identity, {}, Shard(2, 3, "--shard"))


# --- real runs of the tiny model ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def single(tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single") / "run"
    _ok(_run(tiny_model, out, "--limit", "5"))
    return out


@pytest.mark.timeout(600)
def test_torchrun_two_ranks_equal_single_process(tiny_model, single, tmp_path):
    out = tmp_path / "sharded"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "--no-python",
        str(BIN / "reflectevo-bench"),
        "run",
        "--model-args",
        f"pretrained={tiny_model}",
        *ARGS,
        "--limit",
        "5",
        "--output",
        str(out),
    ]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=500,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("merged 2 shards") >= 1
    assert_same_as_single(out, single)
    sources = rd.read_manifest(out)["sharding"]["sources"]
    assert [s["source"] for s in sources] == [f"torchrun/accelerate (RANK={i}, WORLD_SIZE=2)" for i in (0, 1)]
    per_shard = {
        i: {t: [r["doc_id"] for r in recs] for t, recs in read_records(out / "shards" / str(i), shard=True).items()}
        for i in (0, 1)
    }
    assert per_shard == {
        0: {"arith_1op": [0, 2, 4], "countdown": [0, 2, 4]},  # uneven: 3 and 2 docs per task
        1: {"arith_1op": [1, 3], "countdown": [1, 3]},
    }
    assert len(rd.read_manifest(out)["sessions"]) == 2
    assert not list(out.rglob("*.tmp")) and not (out / "shards" / ".merge.lock").exists()


@pytest.fixture(scope="module")
def single_two(tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("single2") / "run"
    _ok(_run(tiny_model, out, "--limit", "2"))
    return out


@pytest.fixture(scope="module")
def by_hand(tiny_model, single_two, tmp_path_factory) -> Path:
    """Three shards run one after another (shard 2 has no doc at all), with every refusal checked on the way."""
    out = tmp_path_factory.mktemp("byhand") / "run"
    _ok(_run(tiny_model, out, "--limit", "2", "--shard", "0/3"))
    assert not (out / "results.json").exists() and not list(out.glob("samples_*"))
    _one_line_error(
        CliRunner().invoke(main, ["results", str(out)]),
        "split into 3 shards, not merged yet",
        "shards 1, 2 not finished",
        f"reflectevo-bench merge {out}",
    )
    _one_line_error(CliRunner().invoke(main, ["merge", str(out)]), "shards 1, 2 of 3 missing or unfinished")
    _one_line_error(
        _run(tiny_model, out, "--limit", "2", "--shard", "1/3", "--seed", "7"),
        "holds a different run (differs in: seed)",
    )
    _one_line_error(_run(tiny_model, out, "--limit", "2", "--shard", "1/2"), "split into 3 shards, not 2")
    _one_line_error(_run(tiny_model, out, "--limit", "2"), "split into 3 shards: run one with --shard i/3")
    _one_line_error(_run(tiny_model, out, "--limit", "2", "--shard", "0/3"), "already holds shard 0/3", "--resume")
    _one_line_error(_run(tiny_model, single_two, "--limit", "2", "--shard", "0/3"), "as a single process")
    res = _run(tiny_model, out, "--limit", "2", "--shard", "2/3")
    _ok(res)
    assert "shard 2/3 from --shard: 0 docs" in res.output and "waiting for shard 1 of 3" in res.output
    _one_line_error(CliRunner().invoke(main, ["merge", str(out)]), "shard 1 of 3 missing or unfinished")
    res = _run(tiny_model, out, "--limit", "2", "--shard", "1/3")
    _ok(res)
    assert "shard 1/3 finished: merged 3 shards" in res.output
    return out


def test_shards_one_after_another_equal_single_process(by_hand, single_two):
    assert_same_as_single(by_hand, single_two)
    before = {p.name: p.read_bytes() for p in by_hand.iterdir() if p.is_file()}
    res = CliRunner().invoke(main, ["merge", str(by_hand)])  # by hand, again: the same files
    _ok(res)
    assert {p.name: p.read_bytes() for p in by_hand.iterdir() if p.is_file()} == before
    res = CliRunner().invoke(main, ["results", str(by_hand)])  # readers take a merged dir as any run dir
    _ok(res)
    assert (by_hand / "results.json").read_bytes() == before["results.json"]


def test_readers_take_a_merged_dir_and_refuse_an_unmerged_one(by_hand, single_two, tmp_path):
    from reflectevo_bench.leaderboards.load import load_run

    merged, plain = load_run(by_hand), load_run(single_two)
    assert merged.tasks == plain.tasks and merged.meta["complete"] is True
    unmerged = tmp_path / "unmerged"
    shutil.copytree(by_hand, unmerged)
    for path in unmerged.glob("samples_*.jsonl"):
        path.unlink()
    (unmerged / "results.json").unlink()
    manifest = rd.read_manifest(unmerged)
    manifest["sharding"]["merged"] = False
    rd.write_json_atomic(unmerged / "run.json", manifest)
    with pytest.raises(BenchError, match=r"split into 3 shards, not merged yet: run `reflectevo-bench merge"):
        load_run(unmerged)
    rows = {}
    for name, src in (("merged", by_hand), ("single", single_two)):  # the trainers' data build
        _ok(CliRunner().invoke(main, ["data", "build", "--kind", "failures", str(src), "--out", str(tmp_path / name)]))
        rows[name] = sorted(
            json.dumps({k: v for k, v in json.loads(line).items() if k != "source_run"}, sort_keys=True)
            for line in (tmp_path / name / "train.jsonl").read_text().splitlines()
        )
    assert rows["merged"] == rows["single"] and len(rows["merged"]) == 4
    _one_line_error(
        CliRunner().invoke(
            main, ["data", "build", "--kind", "failures", str(unmerged), "--out", str(tmp_path / "none")]
        ),
        "not merged yet",
    )
    assert not (tmp_path / "none").exists()
    _ok(CliRunner().invoke(main, ["merge", str(unmerged)]))
    assert sample_lines(unmerged) == sample_lines(by_hand)


def test_merge_refuses_a_shard_of_another_run(tiny_model, by_hand, tmp_path):
    other = tmp_path / "other"
    _ok(_run(tiny_model, other, "--limit", "2", "--shard", "1/3", "--seed", "99"))
    mixed = tmp_path / "mixed"
    shutil.copytree(by_hand, mixed)
    shutil.rmtree(mixed / "shards" / "1")
    shutil.copytree(other / "shards" / "1", mixed / "shards" / "1")
    before = (mixed / "results.json").read_bytes()
    _one_line_error(
        CliRunner().invoke(main, ["merge", str(mixed)]), f"{mixed / 'shards' / '1'} holds a shard of a different run"
    )
    assert (mixed / "results.json").read_bytes() == before  # nothing half written
    _one_line_error(CliRunner().invoke(main, ["merge", str(other.parent / "nowhere")]), "not a reflectevo-bench run")
    _one_line_error(
        CliRunner().invoke(main, ["merge", str(tmp_path / "other" / "shards" / "1")]), "is not a sharded run"
    )


_MERGE_AT = """
import sys, time
from pathlib import Path
from reflectevo_bench.harness.merge import merge_if_last
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
results, what = merge_if_last(Path(sys.argv[1]))
print(what)
"""


def test_shards_finishing_at_the_same_moment_merge_safely(by_hand, tmp_path):
    """Four processes that finish at one instant: each merges or sees the lock; the files are whole and right."""
    run = tmp_path / "run"
    shutil.copytree(by_hand, run)
    for path in run.glob("samples_*.jsonl"):
        path.unlink()
    (run / "results.json").unlink()
    at = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MERGE_AT, str(run), str(at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    said = [out.strip() for out, _ in outs]
    assert all(s == "merged 3 shards" or s.startswith("another shard is merging") for s in said), said
    assert "merged 3 shards" in said
    assert sample_lines(run) == sample_lines(by_hand)
    assert comparable_results(run) == comparable_results(by_hand)
    assert not (run / "shards" / ".merge.lock").exists() and not list(run.rglob("*.tmp"))


def test_merge_lock_is_exclusive_and_a_dead_holders_lock_is_taken_over(by_hand, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(by_hand, run)
    with merge_lock(run) as holder:
        assert holder is None
        with merge_lock(run) as other:
            assert other is not None and f"pid {os.getpid()}" in other
        with pytest.raises(BenchError, match="a merge is under way .* delete .*merge.lock if that process is gone"):
            merge_run(run)
        assert merge_if_last(run)[0] is None and merge_if_last(run)[1].startswith("another shard is merging")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    (run / "shards" / ".merge.lock").write_text(json.dumps({"host": socket.gethostname(), "pid": dead.pid}))
    assert merge_run(run)["complete"] is True  # a merge killed part way leaves its lock: the next one goes on
    assert not (run / "shards" / ".merge.lock").exists()


@pytest.mark.timeout(600)
def test_one_shard_killed_then_resumed(tiny_model, tmp_path):
    """kill -9 one shard mid-run, resume it alone, run the other: the merge equals a single-process run."""
    args = [
        "--tasks",
        "countdown",
        "--limit",
        "10",
        "--gen-kwargs",
        "max_gen_toks=16",
        "--batch-size",
        "1",
        "--chunk-size",
        "1",
    ]
    cli = [sys.executable, "-m", "reflectevo_bench.cli", "run", "--model-args", f"pretrained={tiny_model}", *args]
    single = tmp_path / "single"
    _ok(CliRunner().invoke(main, ["run", "--model-args", f"pretrained={tiny_model}", *args, "--output", str(single)]))
    out = tmp_path / "sharded"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RANK": "1", "WORLD_SIZE": "2"}  # shard 1/2 from the environment
    proc = subprocess.Popen([*cli, "--output", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = out / "shards" / "1" / "samples_countdown.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and not (samples.exists() and len(samples.read_text().splitlines()) >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(samples.read_text().splitlines())
    assert 2 <= done_before < 5, "the kill should land mid-shard"
    resumed = subprocess.run([*cli, "--output", str(out), "--shard", "1/2", "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {done_before} docs already finished, {5 - done_before} to go" in resumed.stdout
    assert "waiting for shard 0 of 2" in resumed.stdout
    own = rd.read_manifest(out / "shards" / "1")
    assert len(own["sessions"]) == 2 and own["complete"] is True and own["shard"]["source"] == "--shard"
    _ok(
        CliRunner().invoke(
            main, ["run", "--model-args", f"pretrained={tiny_model}", *args, "--output", str(out), "--shard", "0/2"]
        )
    )
    assert_same_as_single(out, single)
    assert len(samples.read_text().splitlines()) == 5  # nothing duplicated
    assert json.loads((out / "results.json").read_text())["sessions"] == 3

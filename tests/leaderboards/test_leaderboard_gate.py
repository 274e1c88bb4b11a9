"""`leaderboard snapshot` and `leaderboard gate`: exit 0 (no regression), 1 (regression), 2 (not comparable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lb_helpers import (
    copy_run,
    invoke_lb,
    make_wrong,
    rewrite_records,
    runs,  # noqa: F401  (session fixtures)
)


@pytest.fixture(scope="module")
def baseline(runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lb_snap") / "baseline.json"
    result = invoke_lb(["snapshot", runs["base"], "--out", out])
    assert result.exit_code == 0, result.output
    return out


def _plant(src: Path, dst: Path, task: str, how_many: int) -> int:
    """Copy a run and make ``how_many`` docs of ``task`` that were right at the last round wrong; returns the count."""
    planted = []

    def edit(rec):
        if rec["task"] == task and rec["correct_at"][-1] and len(planted) < how_many:
            planted.append(rec["doc_id"])
            return make_wrong(rec)
        return rec

    rewrite_records(copy_run(src, dst), edit)
    return len(planted)


def _gate(baseline, candidate, *extra):
    return invoke_lb(["gate", "--baseline", baseline, "--candidate", candidate, *extra])


def test_snapshot_is_small_and_faithful(baseline, runs):
    from reflectevo_bench.leaderboards.load import load_run, load_snapshot

    data = json.loads(baseline.read_text(encoding="utf-8"))
    assert data["format"] == "reflectevo-bench/baseline-snapshot"
    assert (data["protocol"], data["attempts"], data["feedback_mode"]) == ("reflect", 2, "oracle")
    assert baseline.stat().st_size < 20_000
    snap, run = load_snapshot(baseline), load_run(runs["base"])
    assert snap.tasks == run.tasks
    results = json.loads((runs["base"] / "results.json").read_text())["results"]
    for task in snap.tasks:
        assert snap.metrics(task)["acc@t2"] == pytest.approx(results[task]["acc@t2"])
        assert len(data["tasks"][task]["docs"]) == 20


def test_noop_passes(baseline, runs, tmp_path):
    same = copy_run(runs["base"], tmp_path / "same")
    for base in (baseline, runs["base"]):
        result = _gate(base, same)
        assert result.exit_code == 0, result.output
        assert "PASS: no significant regression of acc@t2 beyond 1 pts" in result.output
        assert "rule: regression = drop > 1 pts AND one-sided exact McNemar p < 0.05" in result.output
        assert "protocol=reflect · feedback=oracle" in result.output


def test_planted_regression_fails(baseline, runs, tmp_path):
    n = _plant(runs["base"], tmp_path / "worse", "lb_hash_a", 8)
    assert n >= 6, "the base run needs enough right docs to plant a regression"
    report = tmp_path / "gate.json"
    result = _gate(baseline, tmp_path / "worse", "--json-out", report)
    assert result.exit_code == 1, result.output
    assert "FAIL lb_hash_a: acc@t2 fell" in result.output
    assert f"lost {n} docs the baseline got right and gained 0" in result.output
    gate = json.loads(report.read_text(encoding="utf-8"))
    by_scope = {f["scope"]: f for f in gate["findings"]}
    assert set(by_scope) == {"lb_hash_a", "lb_hash_b", "overall"}
    a = by_scope["lb_hash_a"]
    assert a["regression"] and a["losses"] == n and a["gains"] == 0
    assert a["drop_pts"] == pytest.approx(100 * n / 20)
    assert a["p_one_sided"] == pytest.approx(0.5**n)
    assert not by_scope["lb_hash_b"]["regression"] and by_scope["lb_hash_b"]["drop_pts"] == 0
    assert _gate(baseline, tmp_path / "worse", "--scope", "overall").exit_code == 1  # 8 of 40 docs lost
    # the same regression is within a generous allowance: pass
    assert _gate(baseline, tmp_path / "worse", "--max-drop", str(100 * n / 20)).exit_code == 0


def test_small_drop_is_not_significant(baseline, runs, tmp_path):
    assert _plant(runs["base"], tmp_path / "slightly", "lb_hash_b", 1) == 1
    result = _gate(baseline, tmp_path / "slightly")
    assert result.exit_code == 0, result.output  # 5 pts > 1 pt allowed, but 1 lost doc is p = 0.5
    assert "lost 1, gained 0  p=0.500  ok" in result.output


def test_not_comparable_exit_2(baseline, runs, tmp_path):
    cases = [
        (["--candidate", runs["self_refine"]], "different protocols"),
        (["--candidate", runs["base"], "--metric", "acc@t3"], "these runs made 2 round(s)"),
        (["--candidate", runs["base"], "--max-drop", "-1"], "--max-drop must be 0 or more"),
        (["--candidate", tmp_path / "missing"], "does not exist"),
    ]
    fewer = copy_run(runs["base"], tmp_path / "fewer")
    rewrite_records(fewer, lambda r: r if r["doc_id"] < 10 else None)
    cases.append((["--candidate", fewer], "different docs (20 vs 10 docs, 10 shared)"))
    for extra, expect in cases:
        result = invoke_lb(["gate", "--baseline", baseline, *extra])
        assert result.exit_code == 2, (extra, result.output)
        assert result.output.startswith("error: ") and expect in result.output, result.output
    not_snapshot = tmp_path / "x.json"
    not_snapshot.write_text("{}")
    result = _gate(not_snapshot, runs["base"])
    assert result.exit_code == 2 and "is not a baseline snapshot" in result.output

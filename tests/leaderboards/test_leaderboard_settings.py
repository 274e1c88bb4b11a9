"""Generation settings across compared runs (build and gate refuse a mismatch in one line; --allow-mismatch shows
both), the settings in every report, and ``build --control retry=DIR`` with its gain plot."""

from __future__ import annotations

import json
import re

import pytest
from lb_helpers import (
    LIMIT,
    TASKS,
    copy_run,
    invoke_lb,
    invoke_main,
    make_run,
    rewrite_records,
    runs,  # noqa: F401  (session fixture)
)


@pytest.fixture(scope="module")
def short_run(runs, tmp_path_factory):  # noqa: F811
    """The base model greedy with a 4-token cap: a different generation setting on the same docs and prompts."""
    manifest = json.loads((runs["base"] / "run.json").read_text())
    return make_run(
        tmp_path_factory.mktemp("lb_short"),
        "short",
        gen_kwargs="do_sample=false,max_gen_toks=4",
        model_args=manifest["identity"]["model_args"],
    )


def test_build_refuses_a_gen_settings_mismatch_in_one_line(runs, short_run, tmp_path):  # noqa: F811
    result = invoke_lb(["build", short_run, "--role", f"base={runs['base']}", "--out", tmp_path / "b"])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "max_tokens differs" in line and "8" in line and "4" in line and "--allow-mismatch" in line
    assert not (tmp_path / "b").exists()

    result = invoke_lb(
        ["build", short_run, "--role", f"base={runs['base']}", "--out", tmp_path / "b", "--allow-mismatch"]
    )
    assert result.exit_code == 0, result.output
    md = (tmp_path / "b" / "leaderboard.md").read_text()
    assert "Generation settings differ" in md
    assert "max_tokens 8, sampling T=1.0" in md and "max_tokens 4, greedy" in md
    html = (tmp_path / "b" / "leaderboard.html").read_text()
    assert "max_tokens 4, greedy" in html and "max_tokens 8, sampling T=1.0" in html


def test_gate_refuses_a_gen_settings_mismatch_and_prints_settings(runs, short_run, tmp_path):  # noqa: F811
    snap = tmp_path / "baseline.json"
    assert invoke_lb(["snapshot", runs["base"], "--out", snap]).exit_code == 0
    result = invoke_lb(["gate", "--baseline", snap, "--candidate", short_run])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "max_tokens differs" in line and "--allow-mismatch" in line
    result = invoke_lb(["gate", "--baseline", snap, "--candidate", short_run, "--allow-mismatch"])
    assert result.exit_code in (0, 1), result.output
    assert "settings baseline:  max_tokens 8, sampling T=1.0" in result.output
    assert (
        "settings candidate: max_tokens 4, greedy" in result.output and "WARNING: max_tokens differs" in result.output
    )
    same = invoke_lb(["gate", "--baseline", snap, "--candidate", runs["base"]])
    assert same.exit_code == 0 and "settings candidate: max_tokens 8, sampling T=1.0" in same.output


def test_build_refuses_another_chat_template(runs, tmp_path):  # noqa: F811
    other = copy_run(runs["base"], tmp_path / "other_template")

    def retemplate(rec):
        for turn in rec["turns"]:
            turn["prompt"] = turn["prompt"].replace("<|im_start|>", "<s>[").replace("<|im_end|>", "]")
        return rec

    rewrite_records(other, retemplate)
    result = invoke_lb(["build", other, "--role", f"base={runs['base']}", "--out", tmp_path / "b"])
    assert result.exit_code == 2 and "chat template differs" in result.output, result.output


def test_build_control_retry_adds_the_gain_and_its_plot(runs, tmp_path):  # noqa: F811
    manifest = json.loads((runs["candidate"] / "run.json").read_text())
    retry = make_run(tmp_path, "retry", protocol="retry", model_args=manifest["identity"]["model_args"])
    out = tmp_path / "board"
    result = invoke_lb(
        ["build", runs["candidate"], "--role", f"base={runs['base']}", "--control", f"retry={retry}", "--out", out]
    )
    assert result.exit_code == 0, result.output
    board = json.loads((out / "leaderboard.json").read_text())
    models = {m["role"]: m for m in board["groups"][0]["models"]}
    gain = models["candidate"]["controls"]["reflection_gain"]
    assert "controls" not in models["base"]  # paired by model: the retry run is the candidate's model
    from reflectevo_bench.leaderboards.load import load_run

    cand, ctrl = load_run(runs["candidate"]), load_run(retry)
    k = 2
    expected = sum(
        cand.tasks[t][d].correct_at[k - 1] - ctrl.tasks[t][d].correct_at[k - 1]
        for t in cand.tasks
        for d in cand.tasks[t]
    ) / sum(len(v) for v in cand.tasks.values())
    assert gain["overall"]["diff"] == pytest.approx(expected)
    html = (out / "leaderboard.html").read_text()
    assert "id='g1-gain'" in html and "reflect − retry @t2" in html
    md = (out / "leaderboard.md").read_text()
    assert re.search(r"candidate tiny1: acc@t2 under reflect − under retry", md)

    bad = invoke_lb(["build", runs["candidate"], "--control", f"retry={runs['base']}", "--out", tmp_path / "x"])
    assert bad.exit_code == 2 and "ran protocol reflect, not retry" in bad.output
    bad = invoke_lb(["build", runs["candidate"], "--control", f"sideways={retry}", "--out", tmp_path / "x"])
    assert bad.exit_code == 2 and "expected retry=DIR or self-refine=DIR" in bad.output

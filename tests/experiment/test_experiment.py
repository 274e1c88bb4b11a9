"""`experiment run` / `experiment status` end to end on tiny models: base = tiny, reference = tiny at 10x,
recipes SFT (D+), DPO (D±) and GRPO (failures) for 2 steps, evals under reflect + retry + self-refine."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from exp_helpers import FAST, make_spec, start_experiment, wait_running

from reflectevo_bench.cli import main


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "stages.jsonl").read_text().splitlines()]


def events_of_last_run(out: Path, n_stages: int) -> dict[str, str]:
    return {e["stage"]: e["event"] for e in log(out)[-10 * n_stages :] if e["event"] in ("skip", "start")}


@pytest.fixture(scope="module")
def experiment(tiny_model, big_tiny, toy_task, tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    spec = make_spec(tiny_model, big_tiny, toy_task)
    spec["eval"]["gen_kwargs"] = "do_sample=true,temperature=1.0"  # the coin varies per doc and per protocol
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    out = root / "exp"
    t0 = time.perf_counter()
    result = cli("experiment", "run", path, "--out", out, "-q")
    seconds = time.perf_counter() - t0
    return {"spec": spec, "path": path, "out": out, "result": result, "seconds": seconds}


def test_leaderboard_has_every_role_size_and_control(experiment):
    out, result = experiment["out"], experiment["result"]
    gate = json.loads((out / "gate.json").read_text())
    assert result.exit_code == gate["exit_code"] in (0, 1), result.output
    for ext in ("json", "md", "html"):
        assert (out / "leaderboard" / f"leaderboard.{ext}").is_file()
    board = json.loads((out / "leaderboard" / "leaderboard.json").read_text())
    (group,) = board["groups"]
    assert group["protocol"] == "reflect"
    roles = {m["label"]: m["role"] for m in group["models"]}
    assert roles == {
        "tiny": "base",
        "ckpt-sft": "candidate",
        "ckpt-dpo": "candidate",
        "ckpt-grpo": "candidate",
        "tiny-10x": "reference",
    }
    params = {m["label"]: m["params"] for m in group["models"]}
    assert all(isinstance(p, int) and p > 0 for p in params.values()), params
    assert 9 <= params["tiny-10x"] / params["tiny"] <= 11
    for m in group["models"]:
        gain, intr = m["controls"]["reflection_gain"], m["controls"]["intrinsic_delta"]
        assert gain["protocol"] == "reflect" and gain["control"] == "retry" and gain["metric"] == "acc@t2"
        r = gain["overall"]
        assert r["n"] == 6 and r["diff_ci95"][0] <= r["diff"] <= r["diff_ci95"][1]
        assert intr["protocol"] == "self-refine" and intr["feedback_mode"] == "none"
    kinds = sorted(c["kind"] for c in group["comparisons"])
    assert kinds == ["candidate vs base"] * 3 + ["candidate vs reference"] * 3
    md = (out / "leaderboard" / "leaderboard.md").read_text()
    assert "reflect − retry @t2 [95% CI]" in md and "self-refine Δ [95% CI]" in md
    assert "candidate ckpt-grpo acc@t2" in md and "vs reference tiny-10x" in md
    assert "1.3M" in md and "131K" in md


def test_gate_json_matches_leaderboard_gate(experiment):
    out = experiment["out"]
    gate = json.loads((out / "gate.json").read_text())
    assert [c["candidate"]["label"] for c in gate["candidates"]] == ["ckpt-sft", "ckpt-dpo", "ckpt-grpo"]
    assert gate["metric"] == "acc@t2" and gate["max_drop_pts"] == 1.0 and gate["alpha"] == 0.05
    for c in gate["candidates"]:
        r = cli(
            "leaderboard",
            "gate",
            "--baseline",
            c["baseline"]["source"],
            "--candidate",
            c["candidate"]["source"],
            "--metric",
            "acc@t2",
            "--max-drop",
            "1.0",
            "--alpha",
            "0.05",
            "--json-out",
            out / "check.json",
        )
        again = json.loads((out / "check.json").read_text())
        assert again["findings"] == c["findings"] and r.exit_code == (1 if c["regression"] else 0)
    assert gate["regression"] == any(c["regression"] for c in gate["candidates"])


def test_gate_exit_code_on_a_regression():
    from reflectevo_bench.experiment.report import gate_all
    from reflectevo_bench.experiment.spec import ReportSpec
    from reflectevo_bench.leaderboards.load import DocOutcome, Evaluation

    def ev(label, right):
        docs = {f"d{i}": DocOutcome((ok, ok), "p") for i, ok in enumerate(right)}
        return Evaluation(label, "run", label, "hf", "", None, "unknown", "reflect", 2, "oracle", {"t": docs})

    good, bad = ev("base", [True] * 20), ev("worse", [True] * 5 + [False] * 15)
    same = ev("same", [True] * 20)
    result = gate_all([(good, "base"), (same, "candidate"), (bad, "candidate")], ReportSpec())
    assert result["exit_code"] == 1 and result["regression"]
    assert [c["regression"] for c in result["candidates"]] == [False, True]
    assert gate_all([(good, "base"), (same, "candidate")], ReportSpec())["exit_code"] == 0


def test_rerun_redoes_nothing_and_a_changed_recipe_only_its_stages(experiment):
    out, spec, path = experiment["out"], experiment["spec"], experiment["path"]
    n = len(json.loads((out / "plan.json").read_text())["stages"])
    markers = {p: p.stat().st_mtime_ns for p in out.glob("*/*/results.json")}
    markers |= {p: p.stat().st_mtime_ns for p in out.glob("ckpt/*/reflectevo_checkpoint.json")}
    markers |= {p: p.stat().st_mtime_ns for p in out.glob("data/*/card.json")}
    assert len(markers) == 1 + 15 + 3 + 3
    before = len(log(out))
    again = cli("experiment", "run", path, "--out", out, "-q")
    assert again.exit_code == experiment["result"].exit_code
    new = log(out)[before:]
    assert {e["event"] for e in new} == {"skip"} and len(new) == n
    assert {p: p.stat().st_mtime_ns for p in markers} == markers

    spec["recipes"]["sft"]["config"]["learning_rate"] = 1.0e-3
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    before = len(log(out))
    changed = cli("experiment", "run", path, "--out", out, "-q")
    assert changed.exit_code in (0, 1), changed.output
    started = {e["stage"] for e in log(out)[before:] if e["event"] == "start"}
    assert started == {
        "train:sft",
        "eval:ckpt-sft:reflect",
        "eval:ckpt-sft:retry",
        "eval:ckpt-sft:self-refine",
        "leaderboard",
        "gate",
    }
    assert {p: p.stat().st_mtime_ns for p in markers} == markers  # old stages untouched (the old sft kept)
    status = cli("experiment", "status", out, "--json")
    rows = json.loads(status.output)
    assert len(rows) == n and {r["state"] for r in rows} == {"done"}
    text = cli("experiment", "status", out).output
    assert text.splitlines()[0].split()[:3] == ["stage", "kind", "state"] and "train:sft" in text
    (stale,) = [line for line in text.splitlines() if line.startswith("not in the current spec (kept, unused): ")]
    assert stale.count("ckpt/sft-") == 1 and stale.count("runs/eval-ckpt-sft-") == 3 and "tiny" not in stale


def test_leaking_spec_is_refused(tiny_model, big_tiny, toy_task, tmp_path):
    spec = make_spec(tiny_model, big_tiny, toy_task)
    spec["eval"]["split"] = "train"
    path = tmp_path / "leak.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "exp"
    r = cli("experiment", "run", path, "--out", out)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.stderr
    assert "train/test leak" in lines[0] and "6 of 6 docs of eval task toy (split train)" in lines[0], lines[0]
    assert not out.exists()


def _bad(spec: dict, **changes) -> dict:
    spec = json.loads(json.dumps(spec))
    for dotted, value in changes.items():
        node = spec
        *head, last = dotted.split("__")
        for key in head:
            node = node[key]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return spec


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"bogus": 1}, "unknown key(s) bogus"),
        ({"base": None}, "`base:` is required"),
        ({"recipes__sft__trainer": "ppo"}, "trainer must be sft, dpo or grpo"),
        ({"recipes__dpo__data": "dplus"}, "train dpo takes dpm, dpref, not dplus"),
        ({"recipes__sft__data": "qa"}, "which data.kinds"),
        ({"recipes__sft__config": {"max_stepz": 2}}, "did you mean max_steps?"),
        ({"recipes__sft__config": {"output_dir": "x"}}, "which the experiment sets"),
        ({"data__reflections": 1}, "pair two reflections"),
        ({"eval__split": None}, "`split:` is required"),
        ({"eval__controls": ["reflect"]}, "controls must differ"),
        ({"eval__protocol": "reflekt"}, "unknown protocol 'reflekt'"),
        ({"report__metric": "acc@t3"}, "acc@t1 … acc@t2"),
        ({"report__alpha": 2}, "alpha must be between 0 and 1"),
        ({"eval__tasks": ["no_such_task"]}, "no_such_task"),
        ({"references": [{"name": "big", "model_args": "pretrained=/no/such/model"}]}, "does not exist"),
    ],
)
def test_bad_specs_one_line_exit_2_nothing_written(tiny_model, big_tiny, toy_task, tmp_path, changes, message):
    spec = _bad(make_spec(tiny_model, big_tiny, toy_task), **changes)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "exp"
    r = cli("experiment", "run", path, "--out", out)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert message in lines[0], lines[0]
    assert not out.exists()


def test_status_of_a_non_experiment(tmp_path):
    r = cli("experiment", "status", tmp_path)
    assert r.exit_code == 2 and "not an experiment dir" in r.stderr


def test_kill_9_during_training_then_rerun(tiny_model, big_tiny, toy_task, tmp_path):
    """kill -9 while the SFT stage trains (after its checkpoint-2); the same command then resumes training from
    that checkpoint and finishes, without redoing the data run or the data build."""
    sft = {**FAST, "max_steps": 40, "save_strategy": "steps", "save_steps": 2, "logging_steps": 5}
    spec = make_spec(
        tiny_model,
        big_tiny,
        toy_task,
        recipes={"sft": {"trainer": "sft", "data": "dplus", "config": sft}},
        references=[],
        candidates=[{"name": "given", "model_args": f"pretrained={big_tiny}"}],
    )
    spec["data"]["kinds"] = ["dplus"]
    spec["eval"]["controls"] = []
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "exp"
    proc = start_experiment(path, out)
    wait_running(proc, lambda: bool(list(out.glob("ckpt/sft-*/checkpoint-*/trainer_state.json"))), 150)
    rows = {r["stage"]: r["state"] for r in json.loads(cli("experiment", "status", out, "--json").output)}
    assert rows["train:sft"] == "running" and rows["eval:given:reflect"] == "pending"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not list(out.glob("ckpt/*/reflectevo_checkpoint.json"))
    rows = {r["stage"]: r["state"] for r in json.loads(cli("experiment", "status", out, "--json").output)}
    assert rows["data-run"] == rows["data:dplus"] == "done" and rows["train:sft"] == "interrupted"
    done_marker = next(out.glob("runs/data-*/results.json"))
    mtime = done_marker.stat().st_mtime_ns
    before = len(log(out))
    r = cli("experiment", "run", path, "--out", out, "-q")
    assert r.exit_code in (0, 1), r.output
    events = {e["stage"]: e["event"] for e in log(out)[before:] if e["event"] in ("skip", "start")}
    assert events["data-run"] == events["data:dplus"] == "skip" and events["train:sft"] == "start"
    assert done_marker.stat().st_mtime_ns == mtime
    record = json.loads(next(out.glob("ckpt/sft-*/reflectevo_checkpoint.json")).read_text())
    assert record["metrics"]["global_step"] == 40 and (record["metrics"]["resumed_from_step"] or 0) >= 2
    assert (out / "leaderboard" / "leaderboard.json").is_file()
    gate = json.loads((out / "gate.json").read_text())
    assert [c["candidate"]["label"] for c in gate["candidates"]] == ["ckpt-sft", "given"]
    assert r.exit_code == gate["exit_code"]


def test_shipped_specs_parse_and_plan():
    from reflectevo_bench.experiment.graph import plan
    from reflectevo_bench.experiment.spec import load_spec

    r = cli("experiment", "specs")
    names = [line.split()[0] for line in r.output.splitlines()]
    assert names == ["reflectevo-llama3-8b", "rrr-qwen2.5-1.5b", "rrr-qwen2.5-7b", "smoke"]
    for name in names[:-1]:  # the papers' GPU recipes (smoke, the positive control, runs in tests/experiment)
        spec = load_spec(Path(cli("experiment", "specs", name).output.strip()))
        stages = plan(spec)
        assert spec.isolate and spec.references and all(r.launch for r in spec.recipes)
        assert [s.key for s in stages][-2:] == ["leaderboard", "gate"]
        text = spec.path.read_text()
        assert "DOCUMENTED, NOT RUN" in text and "Hardware:" in text and "Paper number" in text


def test_launch_command_line():
    from reflectevo_bench.experiment.execute import train_argv
    from reflectevo_bench.experiment.spec import Recipe
    from reflectevo_bench.trainers.config import ACCELERATE_CONFIGS

    plain = train_argv(Recipe("r", "sft", "dplus", {}), Path("c.yaml"), ["resume_from_checkpoint=true"])
    assert plain[1:] == [
        "-m",
        "reflectevo_bench",
        "train",
        "sft",
        "--config",
        "c.yaml",
        "--set",
        "resume_from_checkpoint=true",
    ]
    launched = train_argv(
        Recipe("r", "grpo", "failures", {}, {"accelerate": "zero2", "num_processes": 4}), Path("c.yaml"), []
    )
    assert launched[1:8] == [
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(ACCELERATE_CONFIGS["zero2"]),
        "--num_processes",
        "4",
        "-m",
    ]


def test_isolated_stages_run_in_their_own_processes(tiny_model, big_tiny, toy_task, tmp_path):
    spec = make_spec(
        tiny_model,
        big_tiny,
        toy_task,
        recipes={"sft": {"trainer": "sft", "data": "dplus", "config": dict(FAST)}},
        references=[],
    )
    spec.update(isolate=True)
    spec["data"]["kinds"] = ["dplus"]
    spec["eval"]["controls"] = []
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "exp"
    r = cli("experiment", "run", path, "--out", out, "-q")
    assert r.exit_code in (0, 1), r.output
    rows = json.loads(cli("experiment", "status", out, "--json").output)
    assert [x["stage"] for x in rows] == [
        "data-run",
        "data:dplus",
        "train:sft",
        "eval:tiny:reflect",
        "eval:ckpt-sft:reflect",
        "leaderboard",
        "gate",
    ]
    assert {x["state"] for x in rows} == {"done"}
    record = json.loads(next(out.glob("ckpt/sft-*/reflectevo_checkpoint.json")).read_text())
    assert record["command"][1:3] == ["train", "sft"]  # trained by its own `train sft` process

"""The example CI workflow: its structure, its flags (checked against the CLI), and its gate steps run for real."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lb_helpers import (
    ROOT,
    copy_run,
    invoke_lb,
    make_wrong,
    rewrite_records,
    runs,  # noqa: F401  (session fixtures)
)

WORKFLOW = ROOT / ".github" / "workflows" / "reflection-regression.yml"
SHIM = """#!{python}
import sys
from reflectevo_bench.cli import main
from reflectevo_bench.leaderboards.cli import leaderboard
if "leaderboard" not in main.commands:
    main.add_command(leaderboard)
sys.exit(main())
"""


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict) -> list[dict]:
    (job,) = workflow["jobs"].values()
    return job["steps"]


def _step(workflow: dict, needle: str) -> dict:
    (step,) = [s for s in _steps(workflow) if needle in s.get("run", "")]
    return step


def test_workflow_structure(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] and job["timeout-minutes"]
    steps = job["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    runs = [s.get("run", "") for s in steps]
    i_install = next(i for i, r in enumerate(runs) if "pip install" in r)
    assert "-c constraints-cpu.txt" in runs[i_install], "CPU torch must be pinned"
    i_run = next(i for i, r in enumerate(runs) if "reflectevo-bench run " in r)
    i_gate = next(i for i, r in enumerate(runs) if "reflectevo-bench leaderboard gate --baseline" in r)
    assert i_install < i_run < i_gate
    gate = steps[i_gate]
    assert not gate.get("continue-on-error") and "if" not in gate, "the gate step must be able to fail the build"
    assert "pipefail" in gate["run"], "piping through tee must keep the gate's exit code"
    out = re.search(r"--output (\S+)", runs[i_run]).group(1)
    assert f"--candidate {out}" in gate["run"], "the gate must check the run the eval step wrote"
    assert workflow["env"]["BASELINE"].endswith(".json")


def _commands(script: str) -> list[list[str]]:
    """Every `reflectevo-bench ...` command line of a step (with backslash continuations joined)."""
    joined = script.replace("\\\n", " ")
    return [
        shlex.split(line.strip().split("|")[0])[1:]
        for line in joined.splitlines()
        if line.strip().startswith("reflectevo-bench ")
    ]


def test_workflow_flags_exist(workflow):
    from reflectevo_bench.cli import main
    from reflectevo_bench.leaderboards.cli import leaderboard

    groups = {**main.commands, "leaderboard": leaderboard}
    seen = 0
    for step in _steps(workflow):
        for argv in _commands(step.get("run", "")):
            cmd = groups[argv[0]]
            if argv[0] == "leaderboard":
                cmd = leaderboard.commands[argv[1]]
            known = {o for p in cmd.params for o in getattr(p, "opts", [])}
            for flag in (a for a in argv if a.startswith("--")):
                assert flag.split("=")[0] in known, f"{' '.join(argv[:2])}: unknown option {flag}"
            seen += 1
    assert seen == 3


def _run_step(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_workflow_gate_steps_run(workflow, runs, tmp_path):
    """Run the workflow's leaderboard and gate steps on a tiny-model run: pass on a no-op, fail on a regression."""
    work = tmp_path / "repo"
    (work / "runs").mkdir(parents=True)
    (work / "baselines").mkdir()
    assert invoke_lb(["snapshot", runs["base"], "--out", work / "baselines" / "countdown.json"]).exit_code == 0
    copy_run(runs["base"], work / "runs" / "candidate")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "reflectevo-bench"
    shim.write_text(SHIM.format(python=sys.executable))
    shim.chmod(0o755)
    env = {
        **os.environ,
        **{k: str(v) for k, v in workflow["env"].items()},
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "MPLBACKEND": "Agg",
    }
    board = _step(workflow, "leaderboard build")
    gate = _step(workflow, "leaderboard gate")

    done = _run_step(board["run"], work, env)
    assert done.returncode == 0, done.stderr
    assert (work / "runs" / "leaderboard" / "leaderboard.md").is_file()
    done = _run_step(gate["run"], work, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in (work / "runs" / "gate.txt").read_text()

    planted = []

    def edit(rec):
        if rec["correct_at"][-1] and len(planted) < 10:
            planted.append(rec["doc_id"])
            return make_wrong(rec)
        return rec

    rewrite_records(work / "runs" / "candidate", edit)
    done = _run_step(gate["run"], work, env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL overall" in done.stdout

"""Helpers and session fixtures for the leaderboard tests: real run dirs made by tiny random models on the test-only hash tasks.

The hash verifier (fixtures/hashtask/verifier.py) judges a response by a hash of its text, so sampling runs of
tiny models with different seeds get different, deterministic accuracies and flips.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402
from click.testing import CliRunner  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TASKS = f"{FIXTURES / 'hashtask' / 'hash_a.yaml'},{FIXTURES / 'hashtask' / 'hash_b.yaml'}"
LIMIT = 20
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "leaderboards"
# Test modules import the fixtures below (no conftest.py here: a second `conftest` module would shadow the one
# other test files import by name). Each importing module gets its own fixture definition, so the values are
# cached here to build the runs once per session.
_SESSION: dict[str, object] = {}


def invoke_main(args: list[str]):
    from reflectevo_bench.cli import main

    return CliRunner().invoke(main, args, catch_exceptions=False)


def invoke_lb(args: list[str]):
    from reflectevo_bench.leaderboards.cli import leaderboard

    return CliRunner().invoke(leaderboard, [str(a) for a in args])


SAMPLED = "do_sample=true,temperature=1.0,max_gen_toks=8"


def make_run(
    root: Path,
    name: str,
    model: Path | None = None,
    protocol: str = "reflect",
    tasks: str = TASKS,
    gen_kwargs: str = SAMPLED,
    model_args: str | None = None,
) -> Path:
    """A run of ``model`` (or of ``model_args``) on the leaderboard tests' docs into ``root/name``."""
    out = root / name
    result = invoke_main(
        [
            "run",
            "--model-args",
            model_args or f"pretrained={model}",
            "--tasks",
            tasks,
            "--limit",
            str(LIMIT),
            "--protocol",
            protocol,
            "--gen-kwargs",
            gen_kwargs,
            "--output",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    return out


def copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("cache"))
    return dst


def rewrite_records(run_dir: Path, edit) -> None:
    """Apply ``edit(record) -> record | None`` (None drops it) to every record, then recompute results.json."""
    for path in sorted(run_dir.glob("samples_*.jsonl")):
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = edit(json.loads(line))
            if rec is not None:
                out.append(json.dumps(rec, ensure_ascii=False))
        path.write_text("".join(x + "\n" for x in out), encoding="utf-8")
    result = invoke_main(["results", str(run_dir)])
    assert result.exit_code == 0, result.output


def make_wrong(rec: dict) -> dict:
    """Every attempt of this doc judged wrong (a planted regression)."""
    rec["correct"] = [False] * len(rec["correct"])
    rec["correct_at"] = [False] * len(rec["correct_at"])
    for turn in rec["turns"]:
        if turn.get("verdict"):
            turn["verdict"]["correct"] = False
    return rec


# ---- fixtures (import them into test modules) ----


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """base (tiny seed 0), candidate (seed 1), reference (seed 2); self-refine (seed 0, other protocol, one task)."""
    if "runs" in _SESSION:
        return _SESSION["runs"]
    from reflectevo_bench.models.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("lb_runs")
    models = {s: build_tiny_model(root / f"tiny{s}", seed=s) for s in (0, 1, 2)}
    _SESSION["runs"] = {
        "base": make_run(root, "base", models[0]),
        "candidate": make_run(root, "candidate", models[1]),
        "reference": make_run(root, "reference", models[2]),
        "self_refine": make_run(root, "self_refine", models[0], protocol="self-refine", tasks=TASKS.split(",")[0]),
    }
    return _SESSION["runs"]


@pytest.fixture(scope="session")
def board_dir(runs, tmp_path_factory) -> Path:
    """A leaderboard of the candidate (positional) against --role base and --role reference."""
    if "board" in _SESSION:
        return _SESSION["board"]
    out = tmp_path_factory.mktemp("lb_board")
    result = invoke_lb(
        [
            "build",
            runs["candidate"],
            "--role",
            f"base={runs['base']}",
            "--role",
            f"reference={runs['reference']}",
            "--out",
            out,
        ]
    )
    assert result.exit_code == 0, result.output
    _SESSION["board"] = out
    return out

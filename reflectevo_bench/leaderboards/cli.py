"""``reflectevo-bench leaderboard``: build reports from run dirs, snapshot a baseline, gate a candidate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reflectevo_bench.cli_errors import friendly_errors
from reflectevo_bench.leaderboards.compare import DEFAULT_BOOTSTRAP, DEFAULT_SEED


@click.group()
def leaderboard() -> None:
    """Compare runs: leaderboards (Markdown, HTML, JSON) and a regression gate for CI."""


@leaderboard.command()
@click.argument("run_dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Folder for leaderboard.{json,md,html}."
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    metavar="ROLE=DIR",
    help="A run with its role: base, candidate, reference or other (repeatable).",
)
@click.option("--spec", type=click.Path(path_type=Path), help="YAML naming runs, roles and labels.")
@click.option(
    "--allow-mismatch", is_flag=True, help="Show runs that cannot be compared in separate groups instead of refusing."
)
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level of the paired tests.")
@click.option(
    "--bootstrap", "n_boot", type=int, default=DEFAULT_BOOTSTRAP, show_default=True, help="Bootstrap resamples."
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Bootstrap seed.")
@click.option("--title", default=None, help="Title of the HTML report.")
@click.option(
    "--control",
    "control_flags",
    multiple=True,
    metavar="PROTOCOL=DIR",
    help="A control run (retry or self-refine) of a compared model, paired with the run of the same model: "
    "adds the reflection gain over retry / the self-refine Δ.",
)
@friendly_errors
def build(
    run_dirs: tuple[Path, ...],
    out_dir: Path,
    roles: tuple[str, ...],
    spec: Path | None,
    allow_mismatch: bool,
    alpha: float,
    n_boot: int,
    seed: int,
    title: str | None,
    control_flags: tuple[str, ...],
) -> None:
    """Build leaderboard.json, .md and .html from RUN_DIRS (candidates) and --role runs (run dirs or snapshots)."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.harness.run_dir import write_json_atomic, write_text_atomic
    from reflectevo_bench.leaderboards import spec as spec_mod
    from reflectevo_bench.leaderboards.board import build_board
    from reflectevo_bench.leaderboards.load import load_any
    from reflectevo_bench.leaderboards.report_html import render_html
    from reflectevo_bench.leaderboards.report_md import render_md

    if not 0 < alpha < 1:
        raise BenchError(f"--alpha must be between 0 and 1, got {alpha:g}")
    if n_boot < 1:
        raise BenchError(f"--bootstrap must be at least 1, got {n_boot}")
    if out_dir.exists() and not out_dir.is_dir():
        raise BenchError(f"--out {out_dir} is a file, not a directory")
    spec_runs, settings = spec_mod.read_spec(spec) if spec else ([], {})
    runs = spec_mod.merge(list(run_dirs), [spec_mod.parse_role_flag(r) for r in roles], spec_runs)
    for rs in runs:
        if not rs.path.exists():
            raise BenchError(f"run dir {rs.path} does not exist")
    entries = [(load_any(rs.path, rs.label), rs.role) for rs in runs]
    from reflectevo_bench.leaderboards.controls import pair_controls

    controls = pair_controls([ev for ev, _ in entries], [_control_flag(c) for c in control_flags])
    board = build_board(
        entries, allow_mismatch or bool(settings.get("allow_mismatch")), alpha, n_boot, seed, controls=controls
    )
    md = render_md(board)
    html = render_html(board, title or str(settings.get("title") or "Reflection leaderboard"), out_dir)
    write_json_atomic(out_dir / "leaderboard.json", board)
    write_text_atomic(out_dir / "leaderboard.md", md)
    write_text_atomic(out_dir / "leaderboard.html", html)
    for g in board["groups"]:
        for c in g["comparisons"]:
            click.echo(c["summary"])
    for n in board["not_compared"]:
        click.echo(f"not compared: {n['a']} vs {n['b']}: {n['reason']}")
    click.echo(f"leaderboard.json, leaderboard.md, leaderboard.html in {out_dir}")


def _control_flag(text: str):
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.leaderboards.controls import CONTROL_NAMES
    from reflectevo_bench.leaderboards.load import load_any

    name, sep, path = text.partition("=")
    if not sep or name not in CONTROL_NAMES or not path:
        raise BenchError(f"--control {text}: expected {' or '.join(f'{c}=DIR' for c in CONTROL_NAMES)}")
    ev = load_any(Path(path))
    if ev.protocol != name:
        raise BenchError(f"--control {text}: {path} ran protocol {ev.protocol}, not {name}")
    return name, ev


@leaderboard.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="Snapshot file to write (e.g. baseline.json)."
)
@click.option("--label", default=None, help="Model label (default: the pretrained folder's name).")
@friendly_errors
def snapshot(run_dir: Path, out: Path, label: str | None) -> None:
    """Write a small baseline file (metadata + per-doc verdicts) to commit for `leaderboard gate`."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.leaderboards.load import load_run
    from reflectevo_bench.leaderboards.snapshot import write_snapshot

    if not run_dir.is_dir():
        raise BenchError(f"run dir {run_dir} does not exist")
    if out.is_dir():
        raise BenchError(f"--out {out} is a directory: give a file name such as {out / 'baseline.json'}")
    data = write_snapshot(load_run(run_dir, label), out)
    n = sum(len(t["docs"]) for t in data["tasks"].values())
    click.echo(f"snapshot of {run_dir}: {len(data['tasks'])} task(s), {n} docs → {out}")


@leaderboard.command()
@click.option("--baseline", required=True, type=click.Path(path_type=Path), help="Baseline run dir or snapshot file.")
@click.option("--candidate", required=True, type=click.Path(path_type=Path), help="Candidate run dir (or snapshot).")
@click.option("--metric", default="acc@t2", show_default=True, help="acc@t1 … acc@tK.")
@click.option("--max-drop", type=float, default=1.0, show_default=True, help="Allowed drop in points.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level (one-sided McNemar).")
@click.option(
    "--scope",
    type=click.Choice(["both", "tasks", "overall"]),
    default="both",
    show_default=True,
    help="Check every task and the pooled total, only tasks, or only the total.",
)
@click.option("--bootstrap", "n_boot", type=int, default=DEFAULT_BOOTSTRAP, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
@click.option("--json-out", type=click.Path(path_type=Path), default=None, help="Also write the gate result as JSON.")
@click.option(
    "--allow-mismatch",
    is_flag=True,
    help="Gate even when generation settings (max tokens, sampling, chat template, ...) differ; both are shown.",
)
@friendly_errors
def gate(
    baseline: Path,
    candidate: Path,
    metric: str,
    max_drop: float,
    alpha: float,
    scope: str,
    n_boot: int,
    seed: int,
    json_out: Path | None,
    allow_mismatch: bool,
) -> None:
    """Exit 0: no significant regression beyond --max-drop; 1: a regression; 2: the runs cannot be compared."""
    from reflectevo_bench.harness.run_dir import write_json_atomic
    from reflectevo_bench.leaderboards.gate import explain, run_gate
    from reflectevo_bench.leaderboards.load import load_any

    result = run_gate(
        load_any(baseline), load_any(candidate), metric, max_drop, alpha, scope, n_boot, seed, allow_mismatch
    )
    if json_out is not None:
        write_json_atomic(json_out, result)
    click.echo("\n".join(explain(result)))
    sys.exit(1 if result["regression"] else 0)


__all__ = ["leaderboard"]

"""``reflectevo-bench experiment run SPEC.yaml --out DIR``, ``experiment plan SPEC.yaml``, ``experiment status DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reflectevo_bench.cli_errors import friendly_errors


@click.group("experiment")
def experiment() -> None:
    """One resumable command from a base model to a leaderboard: data run → data build → train → eval → gate."""


@experiment.command("run")
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(path_type=Path))
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="Experiment dir (one sub-dir per stage)."
)
@click.option("-q", "--quiet", is_flag=True, help="Only the stage lines and the gate result.")
@friendly_errors
def run_cmd(spec_path: Path, out: Path, quiet: bool) -> None:
    """Run (or continue) the experiment in OUT. Exit 0: done, gate passed; 1: a candidate regressed; 2: bad spec."""
    from rich.console import Console

    from reflectevo_bench.experiment.execute import Experiment, quiet_console
    from reflectevo_bench.experiment.spec import load_spec

    try:
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()  # "Generating train split" bars would break the one-line errors
    except ImportError:
        pass
    spec = load_spec(spec_path)
    console = quiet_console() if quiet else Console()
    gate = Experiment(spec, out, console).run()
    if quiet:
        for line in gate["lines"]:
            click.echo(line)
    click.echo(
        f"leaderboard: {out / 'leaderboard' / 'leaderboard.md'} (.json, .html); gate: {out / 'gate.json'} "
        f"({'REGRESSION' if gate['regression'] else 'pass'})"
    )
    sys.exit(gate["exit_code"])


@experiment.command("plan")
@click.argument("spec_path", metavar="SPEC.yaml", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="An experiment dir: also show each stage's state there.",
)
@click.option("--strict", is_flag=True, help="Also fail (exit 2) on what this machine lacks (HOST lines).")
@friendly_errors
def plan_cmd(spec_path: Path, out: Path | None, strict: bool) -> None:
    """The stage table and every check `experiment run` makes first (tasks and splits load, models resolve, recipe
    configs parse with TRL, GRPO batches, batch_size, the train/test leak check), running nothing. Exit 0: every
    check of the spec passed (HOST lines name what this machine lacks, e.g. vllm or uncached weights; `--strict`
    fails on them too); 2: the first failed check is the error line (each failed check is marked above it)."""
    from reflectevo_bench.experiment.graph import plan
    from reflectevo_bench.experiment.preflight import format_stages, run_preflight
    from reflectevo_bench.experiment.spec import load_spec

    try:
        from datasets.utils.logging import disable_progress_bar

        disable_progress_bar()
    except ImportError:
        pass
    spec = load_spec(spec_path)
    stages = plan(spec)
    states = None
    if out is not None and out.is_dir():
        from reflectevo_bench.experiment.execute import stage_state

        states = {s.key: stage_state(out, s) for s in stages}
    for line in format_stages(stages, states):
        click.echo(line)
    result = run_preflight(spec, stages)
    click.echo("")
    for check in result.checks:
        click.echo(check.line())
    result.raise_first(host=strict)
    host = [c for c in result.failures if c.host]
    if host:
        click.echo(
            f"the spec passes its {len(result.checks) - len(host)} other checks; this machine cannot run "
            f"{len(host)} of its stages (HOST lines: fine for a plan made away from the host that will run "
            "it; `experiment run` here would refuse)"
        )
        return
    click.echo(
        f"all {len(result.checks)} checks passed: `experiment run {spec_path} --out DIR` would start with "
        f"{stages[0].key}"
    )


@experiment.command("status")
@click.argument("out", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The stage table as JSON.")
@friendly_errors
def status_cmd(out: Path, as_json: bool) -> None:
    """The stage table: each stage's state (done, partial, interrupted, failed, pending), seconds and folder."""
    import json

    from reflectevo_bench.experiment.status import format_table, stage_rows, stale_dirs

    rows = stage_rows(out)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for line in format_table(rows):
        click.echo(line)
    stale = stale_dirs(out)
    if stale:
        click.echo(f"not in the current spec (kept, unused): {', '.join(stale)}")
    gate = out / "gate.json"
    if gate.is_file():
        result = json.loads(gate.read_text(encoding="utf-8"))
        click.echo(f"gate: {'REGRESSION' if result.get('regression') else 'pass'} ({gate})")


@experiment.command("specs")
@click.argument("name", required=False)
@friendly_errors
def specs_cmd(name: str | None) -> None:
    """List the shipped example specs (the papers' recipes, for GPU hosts), or print the path of NAME."""
    from reflectevo_bench.errors import BenchError

    folder = Path(__file__).resolve().parent / "specs"
    shipped = {p.stem: p for p in sorted(folder.glob("*.yaml"))}
    if name is None:
        for key, path in shipped.items():
            click.echo(f"{key:<24} {path}")
        return
    if name not in shipped:
        raise BenchError(f"no shipped spec {name!r}: known are {', '.join(shipped)}")
    click.echo(str(shipped[name]))

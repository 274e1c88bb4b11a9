"""``reflectevo-bench export RUN_DIR --format lm-eval|inspect --out DIR``."""

from __future__ import annotations

from pathlib import Path

import click

from reflectevo_bench.cli_errors import friendly_errors
from reflectevo_bench.errors import BenchError


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["lm-eval", "inspect"]),
    help="lm-eval: --log_samples files (one per task); inspect: an Inspect AI eval log per task.",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Folder to write into.")
@friendly_errors
def export(run_dir: Path, fmt: str, out: Path) -> None:
    """Write a run's records in lm-eval's sample format or as Inspect AI eval logs (no model call)."""
    from reflectevo_bench.export.common import load_run_export

    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out} is a file, not a directory")
    run = load_run_export(run_dir)
    if fmt == "lm-eval":
        from reflectevo_bench.export.lm_eval_samples import export_lm_eval

        written = export_lm_eval(run, out)
    else:
        from reflectevo_bench.export.inspect_log import export_inspect

        written = export_inspect(run, out)
    for path in written:
        click.echo(str(path))

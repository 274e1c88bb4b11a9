"""The ``reflectevo-bench`` command line."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from reflectevo_bench.cli_errors import friendly_errors
from reflectevo_bench.errors import one_line
from reflectevo_bench.harness.run_options import LimitType as LimitType  # re-exported: --limit's type
from reflectevo_bench.harness.run_options import RunOptions, click_options

console = Console(stderr=False)


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    for name in ("lm_eval", "lm-eval", "transformers", "datasets", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
    except ImportError:
        pass


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="reflectevo-bench")
def main() -> None:
    """Measure and train LLM self-reflection: attempt → verifier → reflection → retry."""
    _quiet_libraries()


def _results_options(command: Any) -> Any:
    """What `run` and `results` share: the summary format and the trackers the results go to."""
    for option in reversed(
        (
            click.option(
                "--format",
                "summary_format",
                type=click.Choice(["auto", "table", "md", "json"]),
                default="auto",
                show_default=True,
                help="Results summary: a table on a terminal, Markdown elsewhere (auto), or JSON.",
            ),
            click.option(
                "--wandb-args",
                default=None,
                metavar="K=V,...",
                help="Log the results to W&B: wandb.init arguments, as lm-eval's --wandb_args (needs wandb).",
            ),
            click.option(
                "--tensorboard", default=None, metavar="DIR", help="Write the results as TensorBoard scalars into DIR."
            ),
        )
    ):
        command = option(command)
    return command


@main.command()
@click_options(RunOptions)  # one option per RunOptions field, from its metadata
@_results_options
@friendly_errors
def run(**kwargs: Any) -> None:
    """Run tasks under a reflection protocol and write records and results."""
    from reflectevo_bench.harness.run import run as run_eval
    from reflectevo_bench.harness.trackers import Trackers

    trackers = Trackers.check(kwargs.pop("wandb_args"), kwargs.pop("tensorboard"))
    out_dir, out = run_eval(RunOptions(**kwargs), console)
    if out is not None:
        for line in trackers.log(out, out_dir):
            click.echo(line, err=True)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--rescore", is_flag=True, help="Re-run the verifiers on the recorded responses.")
@_results_options
@friendly_errors
def results(run_dir: Path, rescore: bool, summary_format: str, wandb_args: str | None, tensorboard: str | None) -> None:
    """Recompute results.json from a run's records (no model call)."""
    from reflectevo_bench.harness.rescore import rescore_run
    from reflectevo_bench.harness.results import write_results
    from reflectevo_bench.harness.summary import print_summary
    from reflectevo_bench.harness.trackers import Trackers

    trackers = Trackers.check(wandb_args, tensorboard)
    out = rescore_run(run_dir) if rescore else write_results(run_dir)
    print_summary(console, out, summary_format)
    for line in trackers.log(out, run_dir):
        click.echo(line, err=True)


@main.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@friendly_errors
def merge(run_dir: Path) -> None:
    """Merge a sharded run's shards into its samples and results.json (the last shard does it on its own)."""
    from reflectevo_bench.harness.merge import merge_run
    from reflectevo_bench.harness.summary import print_summary

    out = merge_run(run_dir)
    print_summary(console, out)
    console.print(f"merged shards into {run_dir}")


@main.command()
@click.option("--task", "task_name", required=True, help="Task name or YAML path.")
@click.option(
    "--predictions",
    required=True,
    type=click.Path(path_type=Path),
    help='JSONL rows {"doc": <dataset row>, "response": "..."} or {"doc_id": N, "response": "..."}.',
)
@click.option("--output", required=True, type=click.Path(path_type=Path))
@click.option(
    "--data-dir",
    default=None,
    envvar="REFLECTEVO_DATA_DIR",
    show_envvar=True,
    help="Folder with local benchmark files (instead of the hub).",
)
@friendly_errors
def score(task_name: str, predictions: Path, output: Path, data_dir: str | None) -> None:
    """Score existing model outputs with a task's verifier (no model call)."""
    from reflectevo_bench.harness.score import load_score_task, read_predictions, score_predictions, write_scores

    rows = read_predictions(predictions)
    task = load_score_task(task_name, data_dir, rows)  # inline {"doc": ...} rows load no dataset
    summary = write_scores(output, task.name, score_predictions(task, rows))
    console.print(f"{summary['task']}: n={summary['n']} accuracy={100 * summary['accuracy']:.1f}% → {output}")


@main.group()
def tasks() -> None:
    """Inspect the available tasks."""


@tasks.command("list")
@click.argument("pattern", required=False)
@click.option(
    "--filter",
    "filter_",
    default=None,
    metavar="PATTERN",
    help="Only tasks whose name, family or group holds this text (or matches this glob, e.g. 'bbh_*').",
)
@click.option("--all", "show_all", is_flag=True, help="Also list lm-eval's own tasks (names only).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "table", "md", "names"]),
    default="auto",
    show_default=True,
    help="A table on a terminal, Markdown elsewhere (auto), or one name a line.",
)
def tasks_list(pattern: str | None, filter_: str | None, show_all: bool, fmt: str) -> None:
    """List the tasks that ship with reflectevo-bench: family/group, splits, size and the data each needs."""
    from reflectevo_bench.tasks.catalog import LIST_HEADER, catalog, list_rows, markdown, matches

    wanted = pattern or filter_
    infos = [i for i in catalog() if matches(i, wanted)]
    if fmt == "auto":
        fmt = "table" if console.is_terminal else "md"
    if fmt == "names":
        for info in infos:
            click.echo(info.name)
    elif fmt == "md":
        click.echo(markdown(LIST_HEADER, list_rows(infos)))
    else:
        from rich.table import Table

        table = Table(*LIST_HEADER, title="reflectevo-bench tasks")
        for row in list_rows(infos):
            table.add_row(*row)
        console.print(table)
    if show_all:
        from reflectevo_bench.tasks.registry import task_manager

        own = {i.name for i in catalog()}
        for name in task_manager(with_lm_eval=True).all_tasks:
            if name not in own and (not wanted or wanted.lower() in name.lower()):
                click.echo(name)
    if not infos and not show_all:
        click.echo(f"no shipped task matches '{wanted}' (`tasks list --all` adds lm-eval's own)", err=True)


@tasks.command("show")
@click.argument("name")
@click.option(
    "--data-dir",
    default=None,
    envvar="REFLECTEVO_DATA_DIR",
    show_envvar=True,
    help="Folder with local benchmark files, for the example prompt.",
)
@friendly_errors
def tasks_show(name: str, data_dir: str | None) -> None:
    """One task: its YAML, splits, verifier, feedback, data source and (when it loads offline) an example prompt."""
    from reflectevo_bench.tasks.task_show import show_task

    click.echo(show_task(name, data_dir))


def _attach_optional_groups() -> None:
    for module, attr in (
        ("reflectevo_bench.models.cli", "models"),
        ("reflectevo_bench.sandbox.cli", "sandbox"),
        ("reflectevo_bench.leaderboards.cli", "leaderboard"),
        ("reflectevo_bench.trainers.cli", "train"),
        ("reflectevo_bench.trainers.data.cli", "data"),
        ("reflectevo_bench.experiment.cli", "experiment"),
        ("reflectevo_bench.view.cli", "view"),
        ("reflectevo_bench.export.cli", "export"),
    ):
        try:
            mod = __import__(module, fromlist=[attr])
        except ImportError as exc:  # shown anyway: using it says what is missing, in one line
            main.add_command(_unavailable(attr, exc))
            continue
        main.add_command(getattr(mod, attr))


def _unavailable(name: str, exc: ImportError) -> click.Command:
    """A stand-in for a command group whose module cannot be imported here (a missing extra, a broken install)."""
    missing = getattr(exc, "name", None) or str(exc)
    extra = {"trl": "train", "vllm": "vllm", "docker": "docker"}.get(str(missing).split(".")[0])
    hint = f"pip install 'reflectevo-bench[{extra}]'" if extra else "reinstall reflectevo-bench (pip install -e .)"
    message = f"`{name}` is unavailable here: {one_line(exc, 200)}: {hint}"

    @click.command(name, help=f"(unavailable: {missing})", context_settings={"ignore_unknown_options": True})
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def stand_in(args: tuple[str, ...]) -> None:
        click.echo(f"error: {message}", err=True)
        raise SystemExit(2)

    return stand_in


_attach_optional_groups()

if __name__ == "__main__":
    main()

"""``reflectevo-bench data build``: training sets from run records."""

from __future__ import annotations

from pathlib import Path

import click

from reflectevo_bench.cli_errors import friendly_errors
from reflectevo_bench.trainers.data.datadir import KINDS


@click.group()
def data() -> None:
    """Build training datasets from run records (ReflectEvo D+, D±, Dpref; RRR failures; QA)."""


@data.command("build")
@click.argument("run_dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option("--kind", required=True, help=f"Which dataset to build: {', '.join(KINDS)}.")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="New data dir (train/eval.jsonl, card.json)."
)
@click.option(
    "--eval-fraction", type=float, default=0.1, show_default=True, help="Share of docs held out in eval.jsonl."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the doc-hash train/eval split.")
@click.option(
    "--failure-rule",
    type=click.Choice(["any", "all", "first"]),
    default="any",
    show_default=True,
    help="failures: which docs of a `run --samples K` count as failures. any: at least one of the K "
    "attempt-1 samples failed (the RRR paper mined by sampling 'up to 64' answers per query, i.e. "
    "until one fails); all: every sample failed; first: sample 1 failed. Equal when K = 1.",
)
@click.option(
    "--judge-model", default=None, help="dpref: lm-eval model type of the judge (hf, vllm, local-chat-completions)."
)
@click.option("--judge-model-args", default=None, help="dpref: K=V,... for the judge model.")
@click.option(
    "--judge-template",
    type=click.Path(path_type=Path),
    default=None,
    help="dpref: judge prompt with {conversation}, {reflection_a}, {reflection_b}.",
)
@click.option("--judge-gen-kwargs", default=None, help="dpref: K=V,... generation options of the judge.")
@click.option(
    "--save-to-disk",
    type=click.Path(path_type=Path),
    default=None,
    metavar="DIR",
    help="Also save the rows as a datasets.DatasetDict in DIR (datasets.load_from_disk).",
)
@click.option(
    "--push-to-hub", default=None, metavar="ID", help="Also push the rows to the Hub as dataset ID (private)."
)
@friendly_errors
def build_cmd(
    run_dirs: tuple[Path, ...],
    kind: str,
    out: Path,
    eval_fraction: float,
    seed: int,
    judge_model: str | None,
    judge_model_args: str | None,
    judge_template: Path | None,
    judge_gen_kwargs: str | None,
    failure_rule: str,
    save_to_disk: Path | None,
    push_to_hub: str | None,
) -> None:
    """Write OUT/train.jsonl, OUT/eval.jsonl, OUT/card.json and OUT/README.md (a dataset card) from RUN_DIRS."""
    from reflectevo_bench.trainers.data import hub
    from reflectevo_bench.trainers.data.build import build
    from reflectevo_bench.trainers.data.judge import DEFAULT_TEMPLATE, Judge

    hub.check_targets(save_to_disk, push_to_hub)

    judge = None
    if judge_model or judge_model_args:
        judge = Judge(judge_model or "hf", judge_model_args, judge_template or DEFAULT_TEMPLATE, judge_gen_kwargs)
    command = [
        "reflectevo-bench",
        "data",
        "build",
        "--kind",
        kind,
        *map(str, run_dirs),
        "--out",
        str(out),
        "--eval-fraction",
        str(eval_fraction),
        "--seed",
        str(seed),
    ]
    if kind == "failures":
        command += ["--failure-rule", failure_rule]
    for flag, value in (
        ("--judge-model", judge_model),
        ("--judge-model-args", judge_model_args),
        ("--judge-template", judge_template),
        ("--judge-gen-kwargs", judge_gen_kwargs),
    ):
        command += [flag, str(value)] if value is not None else []
    card = build(kind, list(run_dirs), out, eval_fraction, seed, judge, command, failure_rule)
    click.echo(
        f"{kind}: {card['rows']['train']} train rows, {card['rows']['eval']} eval rows "
        f"({card['docs']['train']} + {card['docs']['eval']} docs) → {out}"
    )
    if save_to_disk is not None:
        click.echo(hub.save_to_disk(out, save_to_disk))
    if push_to_hub is not None:
        click.echo(hub.push_to_hub(out, push_to_hub))


@data.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["reflectevo"]),
    help="The released set's format (reflectevo: ReflectEvo-460K D+, D±, Dpref rows).",
)
@click.option("--kind", required=True, help="dplus, dplus-oneturn, dpm or dpref.")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path), help="New data dir (train/eval.jsonl, card.json)."
)
@click.option("--task", default="reflectevo", show_default=True, help="Task name written on every row.")
@click.option(
    "--eval-fraction", type=float, default=0.1, show_default=True, help="Share of docs held out in eval.jsonl."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the doc-hash train/eval split.")
@friendly_errors
def import_cmd(file: Path, fmt: str, kind: str, out: Path, task: str, eval_fraction: float, seed: int) -> None:
    """Convert a released training set into this project's rows and card (prompts rebuilt pre-generation)."""
    from reflectevo_bench.trainers.data.build import write_imported
    from reflectevo_bench.trainers.data.importers.reflectevo import convert

    rows, extra = convert(file, kind, task)
    command = ["reflectevo-bench", "data", "import", "--format", fmt, str(file), "--kind", kind, "--out", str(out)]
    card = write_imported(kind, rows, extra, out, eval_fraction, seed, command)
    click.echo(f"{kind}: {card['rows']['train']} train rows, {card['rows']['eval']} eval rows → {out}")

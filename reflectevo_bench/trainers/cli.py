"""``reflectevo-bench train NAME``: one command per registered trainer (`trainers.registry`: TRL SFT, DPO, GRPO and
plugins) on `data build` dirs, checkpoints runnable by `run`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reflectevo_bench.cli_errors import friendly_errors

_CONFIG_HELP = (
    "YAML: the trainer's TRL config keys (SFTConfig, DPOConfig, GRPOConfig, ...) plus model, data, peft, "
    "merge and the trainer's own keys (listed above)."
)
_SET_HELP = "Override a config key: --set learning_rate=1e-5 --set peft.r=8 (repeatable)."


def _common(fn):
    fn = click.option("--dry-run", is_flag=True, help="Check the config and print it resolved; train nothing.")(fn)
    fn = click.option("--no-merge", is_flag=True, help="LoRA: keep the adapter instead of merging it.")(fn)
    fn = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)(fn)
    fn = click.option("--config", "config_path", required=True, type=click.Path(path_type=Path), help=_CONFIG_HELP)(fn)
    return fn


class _TrainGroup(click.Group):
    """`train`'s commands: `configs` plus one per registered trainer (plugins loaded on first use)."""

    def list_commands(self, ctx):
        return [*_registered(), *super().list_commands(ctx)]

    def get_command(self, ctx, name):
        spec = _registered().get(name)
        return _command(spec) if spec is not None else super().get_command(ctx, name)


def _registered() -> dict:
    """The registry's trainers; a plugin that fails to load is one line and exit code 2."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.trainers.registry import trainers

    try:
        return trainers()
    except BenchError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


@click.group("train", cls=_TrainGroup)
def train() -> None:
    """Train on `data build` dirs with TRL: SFT (one- or two-stage), DPO and GRPO, LoRA or full."""


def _command(spec) -> click.Command:
    """The `train NAME` command of one registry record: the common options plus the record's own."""

    def command(config_path: Path, overrides: tuple[str, ...], no_merge: bool, dry_run: bool, **extra) -> None:
        overrides = (*overrides, *(f"{k}={v}" for k, v in extra.items() if v is not None))
        _run(spec.name, config_path, overrides, no_merge, dry_run)

    fn = friendly_errors(command)
    for key in reversed(spec.options()):
        fn = click.option(f"--{key.name}", key.name, type=str, default=None, help=key.help)(fn)
    own = "".join(f"\n\n{k.name}: {k.help}" for k in spec.keys if k.help)
    help_text = spec.help + (f"\n\nIts own config keys (besides TRL's and the shared ones):{own}" if own else "")
    return click.command(spec.name, help=help_text)(_common(fn))


def _run(trainer: str, config_path: Path, overrides: tuple[str, ...], no_merge: bool, dry_run: bool) -> None:
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.trainers.config import load_job

    try:
        import trl  # noqa: F401
    except ImportError as exc:
        raise BenchError("train needs TRL: pip install 'reflectevo-bench[train]'") from exc
    job = load_job(trainer, config_path, overrides, no_merge=no_merge)
    if dry_run:
        click.echo(json.dumps(job.resolved_config(), indent=2, default=str))
        return
    from reflectevo_bench.trainers.registry import get

    out = run_fresh(get(trainer).run_fn(), job)
    if job.args.process_index == 0:
        hint = (
            f"--model-args pretrained={job.model},peft={out}"
            if job.peft and not job.merge
            else f"--model-args pretrained={out}"
        )
        click.echo(f"checkpoint: {out}  (evaluate: reflectevo-bench run {hint})")


def run_fresh(run_fn, job):
    """Run a trainer; when it fails, an output_dir it created and left empty is removed (nothing half written)."""
    out = job.output_dir
    existed = out.exists()
    try:
        return run_fn(job)
    except BaseException:
        if not existed and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


@train.command("configs")
@click.argument("name", required=False)
@friendly_errors
def configs(name: str | None) -> None:
    """List the shipped accelerate configs and training recipes, or print the path of NAME."""
    from reflectevo_bench.errors import BenchError
    from reflectevo_bench.trainers.config import ACCELERATE_CONFIGS, RECIPES

    if name is None:
        for label, table in (("accelerate", ACCELERATE_CONFIGS), ("recipe", RECIPES)):
            for key, path in table.items():
                click.echo(f"{label:<10} {key:<24} {path}")
        return
    path = ACCELERATE_CONFIGS.get(name) or RECIPES.get(name)
    if path is None:
        raise BenchError(f"no shipped config {name!r}: known are {', '.join([*ACCELERATE_CONFIGS, *RECIPES])}")
    click.echo(str(path))

"""``reflectevo-bench train sft|dpo|grpo``: TRL SFT, DPO and GRPO on `data build` dirs, checkpoints runnable by `run`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reflectevo_bench.cli_errors import friendly_errors

_CONFIG_HELP = ("YAML: TRL SFTConfig/DPOConfig/GRPOConfig keys plus model, data, peft, merge (stage for sft, "
                "objective for grpo).")
_SET_HELP = "Override a config key: --set learning_rate=1e-5 --set peft.r=8 (repeatable)."


def _common(fn):
    fn = click.option("--dry-run", is_flag=True, help="Check the config and print it resolved; train nothing.")(fn)
    fn = click.option("--no-merge", is_flag=True, help="LoRA: keep the adapter instead of merging it.")(fn)
    fn = click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)(fn)
    fn = click.option("--config", "config_path", required=True, type=click.Path(path_type=Path), help=_CONFIG_HELP)(fn)
    return fn


@click.group("train")
def train() -> None:
    """Train on `data build` dirs with TRL: SFT (one- or two-stage), DPO and GRPO, LoRA or full."""


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
    if trainer == "sft":
        from reflectevo_bench.trainers.sft import run_sft as run_fn
    elif trainer == "dpo":
        from reflectevo_bench.trainers.dpo import run_dpo as run_fn
    else:
        from reflectevo_bench.trainers.grpo import run_grpo as run_fn
    out = run_fresh(run_fn, job)
    if job.args.process_index == 0:
        hint = (f"--model-args pretrained={job.model},peft={out}" if job.peft and not job.merge
                else f"--model-args pretrained={out}")
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


@train.command("sft")
@_common
@friendly_errors
def sft(config_path: Path, overrides: tuple[str, ...], no_merge: bool, dry_run: bool) -> None:
    """Supervised fine-tuning on dplus, reflection, correction or qa rows (loss on completions only)."""
    _run("sft", config_path, overrides, no_merge, dry_run)


@train.command("dpo")
@_common
@friendly_errors
def dpo(config_path: Path, overrides: tuple[str, ...], no_merge: bool, dry_run: bool) -> None:
    """Direct preference optimisation on dpm (D±) or dpref rows."""
    _run("dpo", config_path, overrides, no_merge, dry_run)


@train.command("grpo")
@_common
@click.option("--objective", type=str, default=None,
              help="reflection (default: reward reflections whose retry passes) or answer (plain GRPO on attempt 1).")
@friendly_errors
def grpo(config_path: Path, overrides: tuple[str, ...], no_merge: bool, dry_run: bool, objective: str | None) -> None:
    """GRPO on a failures dir: Reflect, Retry, Reward (or the answer-only RLVR control)."""
    if objective is not None:
        overrides = (*overrides, f"objective={objective}")
    _run("grpo", config_path, overrides, no_merge, dry_run)


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

"""`reflectevo-bench models ...`: fetch known models, build the tiny test model."""

from __future__ import annotations

from pathlib import Path

import click

from reflectevo_bench.models.tiny import HEADS, LAYERS


@click.group("models")
def models() -> None:
    """Prepare models for offline use."""


@models.command("fetch")
@click.argument("name")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder that holds prepared models (default: $REFLECTEVO_BENCH_CACHE/models or "
    "~/.cache/reflectevo-bench/models).",
)
def fetch_cmd(name: str, cache_dir: Path | None) -> None:
    """Prepare model NAME (e.g. smollm2-135m) and print its folder."""
    from reflectevo_bench.models.registry import MODEL_ALIASES, resolve_model_alias
    from reflectevo_bench.models.smollm2 import FetchError

    if name.strip().lower() not in MODEL_ALIASES:
        raise click.UsageError(f"unknown model {name!r}; known models: {', '.join(sorted(MODEL_ALIASES))}")
    try:
        path = resolve_model_alias(name, cache_dir)
    except FetchError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(str(path))


@models.command("tiny")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the random weights.")
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1,
    show_default=True,
    help="About N times the parameters of the default tiny model (a wider model; 1 = the default).",
)
@click.option(
    "--hidden",
    type=click.IntRange(min=8),
    default=None,
    help="Hidden size outright (instead of --scale); the MLP is 2x as wide.",
)
@click.option("--layers", type=click.IntRange(min=1), default=LAYERS, show_default=True, help="Decoder layers.")
@click.option(
    "--heads",
    type=click.IntRange(min=1),
    default=HEADS,
    show_default=True,
    help="Attention heads (head size = hidden / heads).",
)
def tiny_cmd(path: Path, seed: int, scale: float, hidden: int | None, layers: int, heads: int) -> None:
    """Build the tiny random test model at PATH and print PATH (--hidden/--layers/--heads: a bigger random Llama,
    e.g. --hidden 2048 --layers 16 --heads 16 for about 0.7B parameters)."""
    from reflectevo_bench.models.tiny import build_tiny_model

    if hidden is not None and scale != 1:
        raise click.UsageError("give --scale or --hidden, not both")
    try:
        click.echo(str(build_tiny_model(path, seed=seed, scale=scale, hidden=hidden, layers=layers, heads=heads)))
    except ValueError as exc:  # a shape that does not divide
        raise click.UsageError(f"{exc}: pick --hidden a multiple of --heads") from None

"""Model aliases: short names that resolve to a prepared local folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reflectevo_bench.models.smollm2 import fetch_smollm2


def fetch_tiny(cache_dir: Path | None = None) -> Path:
    """`<cache_dir>/tiny-llama`: the tiny random test model (seed 0), built on first use (about a second)."""
    from reflectevo_bench.models.smollm2 import default_cache_dir
    from reflectevo_bench.models.tiny import build_tiny_model

    target = Path(cache_dir or default_cache_dir()) / "tiny-llama"
    if not (target / "config.json").is_file():
        build_tiny_model(target, seed=0)
    return target


# alias -> function(cache_dir) returning the prepared folder
MODEL_ALIASES: dict[str, Callable[[Path | None], Path]] = {
    "smollm2-135m": fetch_smollm2,
    "smollm2-135m-instruct": fetch_smollm2,
    "tiny": fetch_tiny,  # so `pretrained=tiny` works in `run` and experiment specs as in `train` configs
}


class UnknownModelError(ValueError):
    """The name is not a known alias; the message lists the known ones."""


def resolve_model_alias(name: str, cache_dir: Path | None = None) -> Path:
    """Return the local folder for alias `name`, fetching it on first use."""
    fetch = MODEL_ALIASES.get(name.strip().lower())
    if fetch is None:
        known = ", ".join(sorted(MODEL_ALIASES))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}")
    return fetch(cache_dir)

"""Model preparation: the tiny random test model and real small models for offline use.

Imports are lazy so that `import reflectevo_bench.models` does not pull in torch.
"""

from __future__ import annotations

__all__ = ["build_tiny_model", "fetch_smollm2", "resolve_model_alias", "MODEL_ALIASES", "FetchError"]


def __getattr__(name: str):
    if name == "build_tiny_model":
        from reflectevo_bench.models.tiny import build_tiny_model

        return build_tiny_model
    if name in {"fetch_smollm2", "FetchError"}:
        from reflectevo_bench.models import smollm2

        return getattr(smollm2, name)
    if name in {"resolve_model_alias", "MODEL_ALIASES"}:
        from reflectevo_bench.models import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

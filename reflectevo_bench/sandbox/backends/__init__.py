"""Sandbox backends by name: ``bwrap`` (default), ``unshare`` (fallback), ``docker``, ``none`` (opt-in)."""

from __future__ import annotations

from .base import Backend, SandboxError, SandboxUnavailable

NAMES = ("bwrap", "unshare", "docker", "none")


def make_backend(name: str, **options) -> Backend:
    """Construct a backend by name (cheap; nothing is started). Raises ValueError for unknown names."""
    if name == "bwrap":
        from .bwrap import BwrapBackend

        return BwrapBackend(**options)
    if name == "unshare":
        from .unshare import UnshareBackend

        return UnshareBackend(**options)
    if name == "docker":
        from .docker import DockerBackend

        return DockerBackend(**options)
    if name == "none":
        from .none import NoneBackend

        return NoneBackend(**options)
    raise ValueError(f"unknown sandbox backend {name!r}; choose one of auto, {', '.join(NAMES)}")


__all__ = ["NAMES", "Backend", "SandboxError", "SandboxUnavailable", "make_backend"]

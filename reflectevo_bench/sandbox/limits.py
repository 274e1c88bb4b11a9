"""Resource limits applied to every sandboxed program.

Each limit closes one way hostile or broken code can hurt the host or the run:

* ``timeout_s`` (wall clock): sleep-forever, deadlocks, blocking reads. Enforced by the in-sandbox
  worker (kills the program) and again by the harness (kills the whole sandbox) as a backstop.
* ``cpu_s`` (RLIMIT_CPU): CPU spins in every process the program starts.
* ``memory_bytes`` (RLIMIT_AS per process, plus a memory cgroup for the whole sandbox when root).
* ``file_size_bytes`` (RLIMIT_FSIZE) and ``tmpfs_bytes`` (size of the only writable directory): disk fill.
* ``open_files`` (RLIMIT_NOFILE): descriptor exhaustion.
* ``pids`` (pids cgroup when root; also RLIMIT_NPROC per program, which does nothing for root but is the only
  bound on a fork bomb when no cgroup can be had: a non-root harness, e.g. inside a container): fork bombs.
* ``output_bytes``: output floods. Reading stops at the cap, the program is killed, status ``output-limit``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Per-program limits. ``cpu_s`` defaults to the wall timeout."""

    timeout_s: float = 10.0
    cpu_s: float | None = None
    memory_bytes: int = 1 * GiB
    file_size_bytes: int = 16 * MiB
    open_files: int = 64
    pids: int = 64
    output_bytes: int = 1 * MiB
    tmpfs_bytes: int = 64 * MiB
    excerpt_bytes: int = 8192

    def __post_init__(self) -> None:
        for name in (
            "timeout_s",
            "memory_bytes",
            "file_size_bytes",
            "open_files",
            "pids",
            "output_bytes",
            "tmpfs_bytes",
            "excerpt_bytes",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
        if self.cpu_s is not None and not self.cpu_s > 0:
            raise ValueError(f"Limits.cpu_s must be positive, got {self.cpu_s!r}")
        if self.open_files < 16:
            raise ValueError("Limits.open_files must be at least 16 (the interpreter needs a few)")
        if self.pids < 4:
            raise ValueError("Limits.pids must be at least 4")

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_s if self.cpu_s is not None else self.timeout_s

    def to_wire(self) -> dict[str, Any]:
        """The subset the in-sandbox worker applies to each program."""
        return {
            "timeout": float(self.timeout_s),
            "cpu": max(1, int(self.cpu_seconds + 0.999)),
            "as": int(self.memory_bytes),
            "fsize": int(self.file_size_bytes),
            "nofile": int(self.open_files),
            "nproc": int(self.pids),
            "output": int(self.output_bytes),
            "excerpt": int(self.excerpt_bytes),
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

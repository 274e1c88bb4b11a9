"""pids + memory cgroups for sandboxes (cgroup v1 and v2), used when the harness runs as root.

Why: as root RLIMIT_NPROC does nothing, so only a pids cgroup stops a fork bomb; a memory cgroup bounds the
sum of all processes of one sandbox (RLIMIT_AS is per process), and its OOM counter tells the harness that a
kill was a memory kill. A cgroup also lets the harness find and kill every process of a sandbox.

Each executor slot owns one cgroup directory per hierarchy, reused by consecutive sandboxes of that slot and
removed by :meth:`CgroupSlot.remove`. Sandboxes enter it through a tiny ``/bin/sh`` wrapper that writes its
own pid into ``cgroup.procs`` and then ``exec``\\ s the sandbox, so no process of the sandbox ever exists
outside the cgroup. Slots live under ``reflectevo-sandbox/`` inside the harness's own cgroup; stale empty
slots of dead harness processes are removed when a new parent is set up.
"""

from __future__ import annotations

import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass

log = logging.getLogger(__name__)

ROOT = "/sys/fs/cgroup"
PARENT_NAME = "reflectevo-sandbox"


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _own_paths() -> dict[str, str]:
    """controller → path of this process's cgroup ('' key for the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    try:
        for line in _read("/proc/self/cgroup").splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "":
                out[""] = path
            for c in controllers.split(","):
                out[c] = path
    except OSError:
        pass
    return out


@dataclass(frozen=True)
class CgroupSupport:
    version: int  # 1 or 2; 0 when unavailable
    reason: str
    parents: tuple[str, ...] = ()  # v1: (pids parent, memory parent); v2: (parent,)


_support: CgroupSupport | None = None


def _clean_stale(parent: str) -> None:
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        pid = name.split("-", 1)[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            try:
                os.rmdir(os.path.join(parent, name))
            except OSError:
                pass


def _make_parent(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    _clean_stale(path)
    return path


def detect() -> CgroupSupport:
    """Find a usable pids+memory hierarchy once per process."""
    global _support
    if _support is not None:
        return _support
    _support = _detect()
    log.debug("sandbox cgroups: %s", _support.reason)
    return _support


def _detect() -> CgroupSupport:
    if os.geteuid() != 0:
        return CgroupSupport(0, "not root: no pids/memory cgroup (rlimits only)")
    own = _own_paths()
    v1_pids, v1_mem = os.path.join(ROOT, "pids"), os.path.join(ROOT, "memory")
    if os.path.exists(os.path.join(v1_pids, "cgroup.procs")) and os.path.exists(os.path.join(v1_mem, "cgroup.procs")):
        try:
            pp = _make_parent(os.path.join(v1_pids + own.get("pids", "/"), PARENT_NAME))
            mp = _make_parent(os.path.join(v1_mem + own.get("memory", "/"), PARENT_NAME))
            return CgroupSupport(1, "cgroup v1 (pids + memory hierarchies)", (pp, mp))
        except OSError as exc:
            return CgroupSupport(0, f"cgroup v1 present but not writable: {exc}")
    unified = ROOT if os.path.exists(os.path.join(ROOT, "cgroup.controllers")) else os.path.join(ROOT, "unified")
    try:
        available = _read(os.path.join(unified, "cgroup.controllers")).split()
    except OSError:
        return CgroupSupport(0, "no cgroup hierarchy with pids and memory found")
    if not {"pids", "memory"} <= set(available):
        return CgroupSupport(0, f"cgroup v2 at {unified} lacks pids/memory controllers ({' '.join(available)})")
    candidates = [unified + own.get("", "/").rstrip("/"), unified]
    last = ""
    for base in dict.fromkeys(candidates):
        try:
            _write(os.path.join(base, "cgroup.subtree_control"), "+pids +memory")
            parent = _make_parent(os.path.join(base, PARENT_NAME))
            _write(os.path.join(parent, "cgroup.subtree_control"), "+pids +memory")
            return CgroupSupport(2, f"cgroup v2 ({parent})", (parent,))
        except OSError as exc:
            last = str(exc)
    return CgroupSupport(0, f"cgroup v2 present but controllers cannot be delegated: {last}")


class CgroupSlot:
    """One cgroup (per hierarchy) that confines one sandbox at a time."""

    def __init__(self, pids_max: int, memory_max: int):
        sup = detect()
        if not sup.version:
            raise OSError(sup.reason)
        self.version = sup.version
        name = f"{os.getpid()}-{uuid.uuid4().hex[:10]}"
        self.dirs = [os.path.join(p, name) for p in sup.parents]
        for d in self.dirs:
            os.mkdir(d)
        try:
            if self.version == 1:
                pids_dir, mem_dir = self.dirs
                _write(os.path.join(pids_dir, "pids.max"), str(pids_max))
                _write(os.path.join(mem_dir, "memory.limit_in_bytes"), str(memory_max))
                try:
                    _write(os.path.join(mem_dir, "memory.memsw.limit_in_bytes"), str(memory_max))
                except OSError:
                    pass
            else:
                (d,) = self.dirs
                _write(os.path.join(d, "pids.max"), str(pids_max))
                _write(os.path.join(d, "memory.max"), str(memory_max))
                try:
                    _write(os.path.join(d, "memory.swap.max"), "0")
                except OSError:
                    pass
        except OSError:
            self.remove()
            raise

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(d, "cgroup.procs") for d in self.dirs]

    def wrap(self, argv: list[str]) -> list[str]:
        """Prefix ``argv`` with a shell that joins this cgroup, then execs the sandbox."""
        joins = " && ".join(f"echo $$ > '{p}'" for p in self.procs_files)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "sh", *argv]

    def oom_kills(self) -> int:
        mem_dir = self.dirs[-1]
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in _read(os.path.join(mem_dir, name)).splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def pids(self) -> list[int]:
        out: set[int] = set()
        for f in self.procs_files:
            try:
                out.update(int(x) for x in _read(f).split())
            except OSError:
                pass
        return sorted(out)

    def kill(self, wait_s: float = 5.0) -> bool:
        """SIGKILL every process in the cgroup until it is empty; True when empty."""
        if self.version == 2:
            try:
                _write(os.path.join(self.dirs[0], "cgroup.kill"), "1")
            except OSError:
                pass
        deadline = time.monotonic() + wait_s
        while True:
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)

    def remove(self) -> None:
        self.kill(wait_s=2.0)
        for d in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
            else:
                log.warning("could not remove cgroup %s", d)

"""Sharded runs: which shard this process is (``run --shard i/N`` or the launcher's environment), which docs it
takes, and where its files go.

Layout of a sharded run dir (every shard writes only under its own ``shards/<i>/``; nobody appends to a file
another process writes)::

    OUT/run.json                     identity + environment + "sharding": {"shards": N}; created once, exclusively
    OUT/shards/<i>/run.json          shard i's own manifest (its sessions, where its index came from, complete)
    OUT/shards/<i>/samples_*.jsonl   shard i's records (the ordinary record format)
    OUT/shards/<i>/cache/*.jsonl     shard i's response cache (``--resume`` works per shard)
    OUT/samples_*.jsonl, results.json   written by the merge (:mod:`reflectevo_bench.harness.merge`)

Docs are split per task after ``--limit``: shard i takes doc ids i, i+N, i+2N, … (lm-eval's
``islice(docs, rank, limit, world_size)``), so shards differ by at most one doc per task and may get none.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError

SHARDS_DIR = "shards"
SHARD_FORM = "--shard must be i/N with 0 <= i < N (i counts from 0, like RANK or SLURM_PROCID)"
# (index variable, count variable, launcher) in the order they are looked at: torchrun inside srun sets both
LAUNCHERS = (("RANK", "WORLD_SIZE", "torchrun/accelerate"), ("SLURM_PROCID", "SLURM_NTASKS", "Slurm"))


@dataclass(frozen=True)
class Shard:
    index: int
    count: int
    source: str  # "--shard", "torchrun/accelerate (RANK=1, WORLD_SIZE=2)", "Slurm (SLURM_PROCID=…)"

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def doc_ids(self, n_docs: int) -> range:
        return range(self.index, n_docs, self.count)

    def record(self) -> dict[str, Any]:
        """What a shard's manifest says about it."""
        return {
            "index": self.index,
            "count": self.count,
            "source": self.source,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        }


def parse_shard(text: str, source: str = "--shard") -> Shard:
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match:
        raise BenchError(f"{SHARD_FORM}, got '{text}'")
    index, count = int(match.group(1)), int(match.group(2))
    if not 0 <= index < count:
        raise BenchError(f"{SHARD_FORM}, got '{text}'")
    return Shard(index, count, source)


def detect_shard(explicit: str | None, environ: Mapping[str, str] | None = None) -> Shard | None:
    """This process's shard: ``--shard`` if given, else the launcher's ranks when it started more than one
    process. None: an ordinary single-process run (``--shard 0/1`` forces one under a multi-process launcher)."""
    if explicit is not None:
        shard = parse_shard(explicit)
        return shard if shard.count > 1 else None
    env = os.environ if environ is None else environ
    for index_var, count_var, launcher in LAUNCHERS:
        count_text = env.get(count_var, "").strip()
        if not count_text:
            continue
        index_text = env.get(index_var, "").strip()
        where = f"{launcher} ({index_var}={index_text or '<unset>'}, {count_var}={count_text})"
        if not count_text.isdigit() or not index_text.isdigit() or int(index_text) >= int(count_text):
            raise BenchError(
                f"{where} is not a shard i/N with 0 <= i < N: fix the launcher's variables or pass --shard i/N"
            )
        if int(count_text) > 1:
            return Shard(int(index_text), int(count_text), where)
    return None


# torch.distributed's variables that torchrun / accelerate launch set for every rank
DISTRIBUTED_VARS = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "GROUP_RANK",
    "GROUP_WORLD_SIZE",
    "ROLE_RANK",
    "ROLE_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
)


def run_alone(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Make this shard one whole process to its backend, before any backend is built: a shard shares nothing
    with its siblings. Without this, lm-eval's HF backend sees torchrun's variables, builds an ``Accelerator``
    that joins a process group, puts every rank on ``cuda:LOCAL_RANK`` and, with several GPUs, gathers batch
    sizes across ranks on each call -- a collective that hangs once shards differ in phases. So the
    torch.distributed variables are dropped, and each local rank of torchrun gets its own slice of the visible
    GPUs (``CUDA_VISIBLE_DEVICES``; 8 GPUs and 4 ranks: two each, for tensor parallelism inside a replica).
    Returns the devices it pinned, if any; a launcher that already gave each rank fewer GPUs than ranks is left
    as it is."""
    env = os.environ if environ is None else environ
    local_rank, local_world = env.get("LOCAL_RANK", ""), env.get("LOCAL_WORLD_SIZE", "")
    pinned = None
    if local_rank.isdigit() and local_world.isdigit() and int(local_world) > 1:
        mine = local_devices(_visible_gpus(env), int(local_rank), int(local_world))
        if mine:
            pinned = env["CUDA_VISIBLE_DEVICES"] = ",".join(mine)
    for name in DISTRIBUTED_VARS:
        env.pop(name, None)
    return pinned


def local_devices(visible: list[str], local_rank: int, local_world: int) -> list[str]:
    """Local rank r's equal, consecutive share of the visible devices (none when there are fewer than ranks)."""
    per = len(visible) // local_world
    return visible[local_rank * per : (local_rank + 1) * per] if per and local_rank < local_world else []


def _visible_gpus(env: Mapping[str, str]) -> list[str]:
    if "CUDA_VISIBLE_DEVICES" in env:
        return [d.strip() for d in env["CUDA_VISIBLE_DEVICES"].split(",") if d.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]  # NVML's count: CUDA stays uninitialised
    except Exception:
        return []


def shard_list(indices: list[int]) -> str:
    """ "shard 1" or "shards 1, 3"."""
    return f"shard{'s' if len(indices) > 1 else ''} {', '.join(map(str, indices))}"


def shard_dir(run_dir: Path, index: int) -> Path:
    return Path(run_dir) / SHARDS_DIR / str(index)

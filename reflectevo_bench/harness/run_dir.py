"""The output folder of a run: its manifest (``run.json``), and the rules for starting or resuming in it."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.shard import Shard, shard_dir, shard_list

MANIFEST = "run.json"
FORMAT = 1


def _write_temp(path: Path, text: str) -> str:
    """``text`` in a finished (fsynced) temp file beside ``path``; returns the temp file's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` next to ``path`` and rename it into place: readers never see half a file, and two writers
    at once each rename a whole file of their own."""
    tmp = _write_temp(path, text)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, _json_text(data))


def create_json_exclusive(path: Path, data: Any) -> bool:
    """Create ``path`` whole, only if it does not exist yet (False: another process created it first).
    A hard link of a finished temp file is atomic and exclusive on local file systems and on NFS alike."""
    tmp = _write_temp(path, _json_text(data))
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        Path(tmp).unlink(missing_ok=True)


def _is_temp(name: str) -> bool:
    """A sibling shard's manifest being written, or a writer's lock file: neither makes a dir hold a run."""
    return (
        (name.startswith(f".{MANIFEST}.") and name.endswith(".tmp"))
        or name == LOCK
        or (name.startswith(".shard-") and name.endswith(".lock"))
    )


LOCK = ".lock"  # held (lockf) by the one process writing a plain run dir; a shard's is .shard-<i>.lock


def lock_path(run_dir: Path, shard: Shard | None) -> Path:
    return Path(run_dir) / (LOCK if shard is None else f".shard-{shard.index}.lock")


_HELD: set[str] = set()  # lock files this process holds (a POSIX lock does not exclude its own process)


@contextmanager
def hold(run_dir: Path, shard: Shard | None = None) -> Iterator[None]:
    """Be the one process writing ``run_dir`` (or shard i of it) while the block runs; a second one is refused at
    once, in one line naming the holder. The lock is the OS's (a POSIX record lock, ``lockf``): it goes with the
    process that took it -- kill -9 included -- and, unlike ``flock``, is not kept alive by children it forked. Its
    lock file is removed on the way out (and folders this call made, left empty by a refused start, with it)."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise BenchError(f"--output {run_dir} is a file, not a directory")
    made = [d for d in (run_dir, *run_dir.parents) if not d.exists()]  # leaf first
    run_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(run_dir, shard)
    key = os.path.realpath(path)
    what = f"shard {shard.label} of {run_dir}" if shard is not None else str(run_dir)
    busy = BenchError(
        f"--output {what} is being written by another process (%s): wait for it to finish (or stop "
        "it), or choose another directory"
    )
    if key in _HELD:  # never open it a second time here: closing that would drop this process's lock
        raise BenchError(str(busy) % f"this process, pid {os.getpid()}")
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise BenchError(str(busy) % _holder(path)) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file as we opened it: lock the one now there
    _HELD.add(key)
    try:
        holder = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(holder).encode())
        yield
    finally:
        Path(path).unlink(missing_ok=True)  # while still locked: a waiting opener sees another inode and retries
        _HELD.discard(key)
        os.close(fd)
        for folder in made:  # only while empty: a start refused before writing anything leaves no dir behind
            try:
                folder.rmdir()
            except OSError:
                break


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"host {info['host']}, pid {info['pid']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not path.is_file():
        raise BenchError(f"{run_dir} is not a reflectevo-bench run dir (no {MANIFEST})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path} is not valid JSON ({exc.msg}): the run dir is corrupt") from None


# Identity keys added after format 1 run dirs were written, with the value an older run implicitly had.
IDENTITY_DEFAULTS: dict[str, Any] = {
    "split": None,
    "reflections": 1,
    "reflection_pool": None,
    "fewshot_as_multiturn": None,
    "samples": 1,
    "reflection_gen_kwargs": {},
    "reflection_instruction": None,
}


def with_identity_defaults(identity: dict[str, Any]) -> dict[str, Any]:
    return {**IDENTITY_DEFAULTS, **identity}


def check_output_dir(
    run_dir: Path, identity: dict[str, Any], resume: bool, shard: Shard | None = None
) -> dict[str, Any] | None:
    """Validate before anything is written. Returns the existing manifest when resuming (a shard's own manifest
    for a shard), else None. Sibling shards of one run share ``run_dir``; another run, or the same run split
    another way, is refused."""
    if run_dir.exists() and not run_dir.is_dir():
        raise BenchError(f"--output {run_dir} is a file, not a directory")
    has_content = run_dir.is_dir() and any(not _is_temp(p.name) for p in run_dir.iterdir())
    if not has_content:
        if resume:
            raise BenchError(f"--resume: {run_dir} holds no run to resume; drop --resume to start one")
        return None
    if not (run_dir / MANIFEST).is_file():
        raise BenchError(f"--output {run_dir} is not empty and holds no run: choose an empty or new directory")
    manifest = read_manifest(run_dir)
    _check_same_run(run_dir, manifest, identity, shard)
    if shard is None:
        if not resume:
            raise BenchError(
                f"--output {run_dir} already holds this run: pass --resume to continue it or choose another directory"
            )
        return manifest
    own = shard_dir(run_dir, shard.index) / MANIFEST
    if not own.is_file():
        return None  # a sibling shard started the run: this one starts its part
    if not resume:
        raise BenchError(
            f"--output {run_dir} already holds shard {shard.label} of this run: pass --resume to continue "
            "it or choose another directory"
        )
    manifest = read_manifest(own.parent)
    manifest["shard"] = shard.record()  # where this session's index came from (written with its session)
    return manifest


def _check_same_run(run_dir: Path, manifest: dict[str, Any], identity: dict[str, Any], shard: Shard | None) -> None:
    """The manifest in ``run_dir`` is this run, split the same way (or not split at all) -- else one line."""
    recorded = with_identity_defaults(manifest.get("identity", {}))
    if recorded != with_identity_defaults(identity):
        diff = sorted(k for k in set(identity) | set(recorded) if identity.get(k) != recorded.get(k))
        raise BenchError(
            f"--output {run_dir} holds a different run (differs in: {', '.join(diff)}): choose another directory"
        )
    count = (manifest.get("sharding") or {}).get("shards")
    if shard is None and count:
        raise BenchError(
            f"--output {run_dir} holds this run split into {count} shards: run one with --shard i/{count} "
            f"(or {count} ranks of torchrun/Slurm), or choose another directory"
        )
    if shard is not None and not count:
        raise BenchError(
            f"--output {run_dir} holds this run as a single process, not split into shards: drop --shard "
            "(and the launcher), or choose another directory"
        )
    if shard is not None and count != shard.count:
        raise BenchError(
            f"--output {run_dir} holds this run split into {count} shards, not {shard.count}: run it with "
            f"--shard i/{count} (or {count} ranks), or choose another directory"
        )


def start_manifest(
    run_dir: Path, identity: dict[str, Any], environment: dict[str, Any], shard: Shard | None = None
) -> dict[str, Any]:
    """Write the run's manifest; for a shard, the run's (unless a sibling wrote it first) and then the shard's own,
    which is the one this process records its sessions in and returns."""
    manifest = {"format": FORMAT, "identity": identity, "environment": environment, "sessions": []}
    if shard is None:
        write_json_atomic(run_dir / MANIFEST, manifest)
        return manifest
    top = {**manifest, "sharding": {"shards": shard.count, "merged": False}}
    if not create_json_exclusive(run_dir / MANIFEST, top):  # a sibling started at the same moment: same run?
        _check_same_run(run_dir, read_manifest(run_dir), identity, shard)
    own = {**manifest, "shard": shard.record(), "complete": False}
    write_json_atomic(shard_dir(run_dir, shard.index) / MANIFEST, own)
    return own


def open_session(run_dir: Path, manifest: dict[str, Any], started: float, pending: int) -> None:
    """Record that a session began (a killed session stays on record, with no wall time)."""
    manifest.setdefault("sessions", []).append({"started": started, "pending_docs": pending, "wall_s": None})
    write_json_atomic(run_dir / MANIFEST, manifest)


def close_session(run_dir: Path, manifest: dict[str, Any], wall_s: float) -> None:
    manifest["sessions"][-1]["wall_s"] = round(wall_s, 3)
    write_json_atomic(run_dir / MANIFEST, manifest)


def shard_manifests(run_dir: Path, count: int) -> dict[int, dict[str, Any] | None]:
    """Each shard's own manifest (None: that shard has not started)."""
    return {
        i: read_manifest(shard_dir(run_dir, i)) if (shard_dir(run_dir, i) / MANIFEST).is_file() else None
        for i in range(count)
    }


def unfinished_shards(run_dir: Path, count: int) -> list[int]:
    return [i for i, m in shard_manifests(run_dir, count).items() if m is None or not m.get("complete")]


def check_merged(run_dir: Path, shard_ok: bool = False) -> None:
    """Readers of records: a sharded run dir holds its records only once merged -- say so in one line; a shard's
    own dir is not a run (reading it alone would skip that check), unless ``shard_ok``."""
    if not (Path(run_dir) / MANIFEST).is_file():
        return
    manifest = read_manifest(run_dir)
    own = manifest.get("shard")
    if own and not shard_ok:
        top = Path(run_dir).parent.parent
        raise BenchError(
            f"{run_dir} is shard {own.get('index', '?')}/{own.get('count', '?')} of a run, not a run: "
            f"pass the run dir ({top}), merged once every shard finished"
        )
    sharding = manifest.get("sharding") or {}
    if sharding.get("shards") and not sharding.get("merged"):
        waiting = unfinished_shards(run_dir, sharding["shards"])
        todo = (
            f"{shard_list(waiting)} not finished; then run `reflectevo-bench merge {run_dir}`"
            if waiting
            else f"run `reflectevo-bench merge {run_dir}`"
        )
        raise BenchError(f"{run_dir} is a run split into {sharding['shards']} shards, not merged yet: {todo}")

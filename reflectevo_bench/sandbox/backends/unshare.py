"""util-linux ``unshare`` backend: the fallback when bubblewrap is missing (root only).

Protects with new pid, net, ipc, uts and mount namespaces (the runner is pid 1, so killing it kills every
process the program started; no network), a drop to uid/gid 65534 with no capabilities and
``no_new_privs`` (``setpriv``), an empty environment, and rlimits/seccomp/cgroups like every backend.

File system: like bwrap, a minimal root. Inside its private mount namespace it builds a new root on a
tmpfs: read-only binds of /usr (and the /bin, /lib* links or dirs), the Python prefix and a copy of the
runner files; a fresh /proc; a read-only /dev holding only null, zero, full, random, urandom and tty plus a
size-limited /dev/shm; a size-limited /tmp owned by uid 65534 (the only writable places). It then
``pivot_root``\\ s into it and detaches the host's root, so /etc, /home, /root, /work, the repository and the
benchmark data are not there at all. If that root cannot be built the sandbox does not start (one line
saying why) rather than run with the host's file system.

Weaker than bwrap only in that there is no user namespace: uid 65534 inside is the host's uid 65534 (as
with bwrap started as root), and the setup steps run as root before the drop.
"""

from __future__ import annotations

import os
import shlex
import shutil

from ..cgroups import CgroupSlot
from ..limits import Limits
from ..transport import ProcessSandbox
from .base import (
    EMPTY_FILE,
    PYTHON_FLAGS,
    SANDBOX_ENV,
    SANDBOX_UID,
    Backend,
    host_python,
    python_prefix,
    runner_dir,
    worker_args,
)

STAGE = next((d for d in ("/mnt", "/media", "/srv", "/opt") if os.path.isdir(d)), "/mnt")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
RUNNER_DIR = "/opt/reflectevo-sandbox"


class UnshareBackend(Backend):
    name = "unshare"
    warnings: tuple[str, ...] = ()

    def __init__(self, python: str | None = None):
        self.unshare = shutil.which("unshare")
        self.setpriv = shutil.which("setpriv")
        self.pivot_root = shutil.which("pivot_root") or next(
            (p for p in ("/usr/sbin/pivot_root", "/sbin/pivot_root") if os.access(p, os.X_OK)), None
        )
        self.python = python or host_python()

    def unavailable_reason(self) -> str | None:
        if os.geteuid() != 0:
            return "the unshare backend needs root (it mounts and drops to uid 65534); use bwrap instead"
        if self.unshare is None or self.setpriv is None:
            return "util-linux unshare/setpriv not found (apt-get install util-linux)"
        if self.pivot_root is None:
            return (
                "util-linux pivot_root not found: without it the unshare backend cannot hide the host's "
                "files (apt-get install util-linux, or install bubblewrap)"
            )
        if not os.access(self.python, os.X_OK):
            return f"sandbox python {self.python} is not executable"
        return None

    def script(self, limits: Limits, preload: bool) -> str:
        q = shlex.quote
        prefix = python_prefix(self.python)
        uid = SANDBOX_UID
        root = STAGE
        shm = min(limits.tmpfs_bytes, 16 * 1024 * 1024)
        lines = [
            "set -e",
            f"mount -t tmpfs -o size=8m,mode=0755,nosuid,nodev tmpfs {root}",
            f"mkdir -p {root}/usr {root}/proc {root}/dev {root}/tmp {root}{RUNNER_DIR} {root}/.old",
            f"mount --rbind /usr {root}/usr",
            f"mount -o remount,bind,ro,nosuid,nodev {root}/usr",
        ]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                lines.append(f"ln -s {q(os.readlink(top))} {root}{top}")
            elif os.path.isdir(top):
                lines += [
                    f"mkdir -p {root}{top}",
                    f"mount --rbind {top} {root}{top}",
                    f"mount -o remount,bind,ro,nosuid,nodev {root}{top}",
                ]
        if not (prefix == "/usr" or prefix.startswith("/usr/")):
            lines += [
                f"mkdir -p {q(root + prefix)}",
                f"mount --bind {q(prefix)} {q(root + prefix)}",
                f"mount -o remount,bind,ro,nosuid,nodev {q(root + prefix)}",
            ]
        lines += [
            f"cp -a {q(runner_dir())}/. {root}{RUNNER_DIR}/",
            f"mount -t proc -o nosuid,nodev,noexec proc {root}/proc",
            f"mount --bind {root}{RUNNER_DIR}/{EMPTY_FILE} {root}/proc/cmdline",
            f"mount -t tmpfs -o size=64k,mode=0755,nosuid tmpfs {root}/dev",
        ]
        for dev in DEVICES:
            if os.path.exists(f"/dev/{dev}"):
                lines += [f"touch {root}/dev/{dev}", f"mount --bind /dev/{dev} {root}/dev/{dev}"]
        lines += [
            f"mkdir {root}/dev/shm",
            f"ln -s /proc/self/fd {root}/dev/fd",
            *(f"ln -s /proc/self/fd/{i} {root}/dev/{n}" for i, n in enumerate(("stdin", "stdout", "stderr"))),
            f"mount -t tmpfs -o size={shm},mode=0755,uid={uid},gid={uid},nosuid,nodev tmpfs {root}/dev/shm",
            f"mount -o remount,ro,nosuid {root}/dev",
            f"mount -t tmpfs -o size={limits.tmpfs_bytes},mode=0755,uid={uid},gid={uid},nosuid,nodev tmpfs {root}/tmp",
            f"cd {root}",
            f"{q(self.pivot_root)} . .old",
            "cd /",
            "umount -l /.old",
            "rmdir /.old",
            "mount -o remount,ro,nosuid,nodev /",
            "cd /tmp",
        ]
        args = " ".join(
            q(a)
            for a in [
                self.python,
                *PYTHON_FLAGS,
                f"{RUNNER_DIR}/launch.py",
                *worker_args(preload, "/tmp", ("/dev/shm",)),
            ]
        )
        lines.append(
            f"exec {q(self.setpriv)} --reuid={uid} --regid={uid} --clear-groups --inh-caps=-all "
            f"--bounding-set=-all --no-new-privs -- {args}"
        )
        return "\n".join(lines)

    def argv(self, limits: Limits, preload: bool) -> list[str]:
        return [
            self.unshare,
            "--pid",
            "--fork",
            "--kill-child",
            "--net",
            "--ipc",
            "--uts",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            self.script(limits, preload),
        ]

    def spawn(self, limits: Limits, cgroup: CgroupSlot | None, preload: bool, startup_timeout: float):
        argv = self.argv(limits, preload)
        if cgroup is not None:
            argv = cgroup.wrap(argv)
        env = dict(SANDBOX_ENV, HOME="/tmp")
        return ProcessSandbox(argv, env, cgroup, startup_timeout)

"""util-linux ``unshare`` backend: the fallback when bubblewrap is missing (root only).

Protects with new pid, net, ipc, uts and mount namespaces (the runner is pid 1, so killing it kills every
process the program started; no network), a drop to uid/gid 65534 with no capabilities and
``no_new_privs`` (``setpriv``), an empty environment, and rlimits/seccomp/cgroups like every backend.
Inside its private mount namespace it mounts a size-limited tmpfs on /tmp (the work dir), empty tmpfs over
/var/tmp, /dev/shm, /run/lock, /root and /home, and re-exposes only the Python prefix read-only.

WEAKER THAN BWRAP: the rest of the host file system stays visible and is protected ONLY BY FILE
PERMISSIONS (what uid 65534 may read or write there, it can); /etc, /usr, /work and so on are readable
wherever their modes allow it, and any world-writable directory not listed above stays writable.
"""

from __future__ import annotations

import os
import shlex
import shutil

from ..cgroups import CgroupSlot
from ..limits import Limits
from ..transport import ProcessSandbox
from .base import (PYTHON_FLAGS, SANDBOX_ENV, SANDBOX_UID, Backend, host_python, python_prefix, runner_dir,
                   worker_args)

WARNING = ("unshare backend: the host file system is protected only by permissions (uid 65534 reads whatever "
           "is world-readable); install bubblewrap for a read-only, minimal root")
STAGE = next((d for d in ("/mnt", "/media", "/srv", "/opt") if os.path.isdir(d)), "/mnt")
HIDE = ("/var/tmp", "/dev/shm", "/run/lock", "/root", "/home", "/dev/mqueue")


class UnshareBackend(Backend):
    name = "unshare"
    warnings = (WARNING,)

    def __init__(self, python: str | None = None):
        self.unshare = shutil.which("unshare")
        self.setpriv = shutil.which("setpriv")
        self.python = python or host_python()

    def unavailable_reason(self) -> str | None:
        if os.geteuid() != 0:
            return "the unshare backend needs root (it mounts and drops to uid 65534); use bwrap instead"
        if self.unshare is None or self.setpriv is None:
            return "util-linux unshare/setpriv not found (apt-get install util-linux)"
        if not os.access(self.python, os.X_OK):
            return f"sandbox python {self.python} is not executable"
        return None

    def script(self, limits: Limits, preload: bool) -> str:
        q = shlex.quote
        prefix = python_prefix(self.python)
        uid = SANDBOX_UID
        lines = [
            "set -e",
            "mount -t proc -o nosuid,nodev,noexec proc /proc",
            # build the new /tmp elsewhere first: the runner files are copied from the host's /tmp
            f"mount -t tmpfs -o size={limits.tmpfs_bytes},mode=0755,nosuid,nodev tmpfs {STAGE}",
            f"mkdir -p {STAGE}/.rb {STAGE}/w",
            f"cp -a {q(runner_dir())} {STAGE}/.rb/run",
            f"mount --move {STAGE} /tmp",
        ]
        lines.append(f"chown {uid}:{uid} /tmp/w && chmod 0700 /tmp/w")
        relocate = not (prefix == "/usr" or prefix.startswith("/usr/"))
        if relocate:  # the prefix may live under a directory hidden below (e.g. /root/.pyenv)
            lines += ["mkdir -p /tmp/.rb/py", f"mount --bind {q(prefix)} /tmp/.rb/py"]
        for d in HIDE:
            if os.path.isdir(d):
                mode = "1777" if d in ("/dev/shm", "/var/tmp", "/run/lock") else "0755"
                size = min(limits.tmpfs_bytes, 16 * 1024 * 1024)
                lines.append(f"mount -t tmpfs -o size={size},mode={mode},nosuid,nodev tmpfs {d}")
        if relocate:
            lines += [f"mkdir -p {q(prefix)} 2>/dev/null || true",
                      f"mount --move /tmp/.rb/py {q(prefix)}",
                      f"mount -o remount,bind,ro,nosuid,nodev {q(prefix)}"]
        lines.append("cd /tmp/w")
        args = " ".join(q(a) for a in [self.python, *PYTHON_FLAGS, "/tmp/.rb/run/launch.py",
                                        *worker_args(preload, "/tmp/w", ("/dev/shm", "/var/tmp", "/run/lock"))])
        lines.append(f"exec {q(self.setpriv)} --reuid={uid} --regid={uid} --clear-groups --inh-caps=-all "
                     f"--bounding-set=-all --no-new-privs -- {args}")
        return "\n".join(lines)

    def argv(self, limits: Limits, preload: bool) -> list[str]:
        return [self.unshare, "--pid", "--fork", "--kill-child", "--net", "--ipc", "--uts", "--mount",
                "--propagation", "private", "--", "/bin/sh", "-c", self.script(limits, preload)]

    def spawn(self, limits: Limits, cgroup: CgroupSlot | None, preload: bool, startup_timeout: float):
        argv = self.argv(limits, preload)
        if cgroup is not None:
            argv = cgroup.wrap(argv)
        env = dict(SANDBOX_ENV, HOME="/tmp/w")
        return ProcessSandbox(argv, env, cgroup, startup_timeout)

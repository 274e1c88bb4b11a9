"""bubblewrap backend: the default on Linux.

Protects with: all namespaces new (user, pid, net, ipc, uts, mount, cgroup), so no network (not even to
127.0.0.1 on the host), no view of host processes, no capabilities (``--cap-drop ALL``), uid/gid 65534;
``--die-with-parent`` and ``--new-session`` (no terminal injection); an empty environment (``--clearenv``);
a root made only of read-only binds (/usr, the Python prefix, the three runner files) plus a size-limited
tmpfs ``/tmp`` (the only writable place) and a fresh ``/dev/shm`` (16 MiB at most), ``/dev`` itself
remounted read-only (nothing written there outlives a program), an empty file over ``/proc/cmdline``, and
``--remount-ro /`` after all binds (without it the sandbox's root would be writable). /etc, /home, /root,
/work and the repository are absent. The runner is pid 1 (``--as-pid-1``): killing it or the bwrap process
tears down the whole pid namespace, including setsid/double-fork daemons.

When the harness runs as root, bwrap itself is started as uid/gid 65534 (``setpriv``), so the sandbox's
user namespace maps its uid 65534 to the host's 65534 and never to root. Run as root, bwrap would map it to
host uid 0: without capabilities, but still the *owner* of every root-owned inode it can reach, e.g. the
host's /dev/null bound into /dev (chmod/utime on it would change the host's device node). If the Python
prefix sits below a directory uid 65534 cannot enter (pyenv under /root), one private mount namespace per
backend, made with util-linux ``unshare`` and held open by a waiting shell, re-exposes just the prefix
(tmpfs over that directory); each sandbox enters it with ``nsenter`` before dropping to 65534.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import threading

from ..cgroups import CgroupSlot
from ..limits import Limits
from ..transport import ProcessSandbox
from .base import (
    EMPTY_FILE,
    PYTHON_FLAGS,
    SANDBOX_ENV,
    SANDBOX_UID,
    Backend,
    SandboxUnavailable,
    host_python,
    python_prefix,
    runner_dir,
    worker_args,
)

RUNNER_DIR = "/opt/reflectevo-sandbox"
STAGE = next((d for d in ("/mnt", "/media", "/srv", "/opt") if os.path.isdir(d)), "/mnt")


def blocking_ancestor(path: str) -> str | None:
    """The topmost directory on the way to ``path`` that 'other' users cannot traverse, or None."""
    current = "/"
    for part in [p for p in os.path.realpath(path).split("/") if p]:
        current = os.path.join(current, part)
        try:
            st = os.stat(current)
        except OSError:
            return None
        if stat.S_ISDIR(st.st_mode) and not st.st_mode & stat.S_IXOTH:
            return current
    return None


class BwrapBackend(Backend):
    name = "bwrap"

    def __init__(self, python: str | None = None):
        self.bwrap = shutil.which("bwrap")
        self.setpriv = shutil.which("setpriv")
        self.unshare = shutil.which("unshare")
        self.python = python or host_python()
        self.as_root = os.geteuid() == 0
        self.nsenter = shutil.which("nsenter")
        self._holder: subprocess.Popen | None = None
        self._holder_lock = threading.Lock()

    def unavailable_reason(self) -> str | None:
        if self.bwrap is None:
            return "bubblewrap is not installed (apt-get install bubblewrap)"
        if not os.access(self.python, os.X_OK):
            return f"sandbox python {self.python} is not executable"
        if self.as_root and self.setpriv is None:
            return "setpriv (util-linux) is needed to start bwrap as uid 65534 when running as root"
        if (
            self.as_root
            and blocking_ancestor(python_prefix(self.python))
            and (self.unshare is None or self.nsenter is None)
        ):
            return "util-linux unshare/nsenter are needed to expose a Python prefix that uid 65534 cannot reach"
        return None

    def version(self) -> str:
        try:
            out = subprocess.run([self.bwrap, "--version"], capture_output=True, text=True, timeout=5)
            return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "bubblewrap (version unknown)"

    def argv(self, limits: Limits, preload: bool) -> list[str]:
        argv = [
            self.bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--as-pid-1",
            "--cap-drop",
            "ALL",
            "--uid",
            str(SANDBOX_UID),
            "--gid",
            str(SANDBOX_UID),
            "--clearenv",
        ]
        for key, value in SANDBOX_ENV.items():
            argv += ["--setenv", key, value]
        argv += ["--setenv", "HOME", "/tmp"]
        argv += ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                argv += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                argv += ["--ro-bind", top, top]
        prefix = python_prefix(self.python)
        if not (prefix == "/usr" or prefix.startswith("/usr/")):
            argv += ["--ro-bind", prefix, prefix]
        argv += ["--ro-bind", runner_dir(), RUNNER_DIR]
        argv += [
            "--proc",
            "/proc",
            "--ro-bind",
            os.path.join(runner_dir(), EMPTY_FILE),
            "/proc/cmdline",
            "--dev",
            "/dev",
            "--size",
            str(limits.tmpfs_bytes),
            "--tmpfs",
            "/tmp",
            "--size",
            str(min(limits.tmpfs_bytes, 16 * 1024 * 1024)),
            "--tmpfs",
            "/dev/shm",
            "--remount-ro",
            "/dev",
            "--remount-ro",
            "/",
            "--chdir",
            "/tmp",
        ]
        argv += [self.python, *PYTHON_FLAGS, f"{RUNNER_DIR}/launch.py", *worker_args(preload, "/tmp", ("/dev/shm",))]
        return argv

    def command(self, limits: Limits, preload: bool, cgroup: CgroupSlot | None) -> list[str]:
        """The full command: [join cgroup] [private mount ns exposing the prefix] [drop to 65534] bwrap ..."""
        argv = self.argv(limits, preload)
        if not self.as_root:
            return cgroup.wrap(argv) if cgroup is not None else argv
        argv = [
            self.setpriv,
            f"--reuid={SANDBOX_UID}",
            f"--regid={SANDBOX_UID}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--",
            *argv,
        ]
        q = shlex.quote
        steps = [f"echo $$ > {q(p)}" for p in (cgroup.procs_files if cgroup is not None else [])]
        if blocking_ancestor(python_prefix(self.python)) is not None:
            argv = [self.nsenter, f"--mount=/proc/{self._mount_holder()}/ns/mnt", "--", *argv]
        return ["/bin/sh", "-c", " && ".join([*steps, 'exec "$@"']), "sh", *argv] if steps else argv

    def _mount_holder(self) -> int:
        """Pid of the process holding the private mount namespace that exposes the prefix (started once)."""
        with self._holder_lock:
            if self._holder is not None and self._holder.poll() is None:
                return self._holder.pid
            q = shlex.quote
            prefix = python_prefix(self.python)
            hidden = blocking_ancestor(prefix)
            script = " && ".join(
                [
                    f"mount --bind {q(prefix)} {STAGE}",
                    f"mount -t tmpfs -o size=1m,mode=0755,nosuid,nodev tmpfs {q(hidden)}",
                    f"mkdir -p {q(prefix)}",
                    f"mount --move {STAGE} {q(prefix)}",
                    "echo ready",
                    "read _ || true",  # hold the namespace until the harness closes our stdin (or dies)
                ]
            )
            proc = subprocess.Popen(
                [self.unshare, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"PATH": "/usr/bin:/bin"},
                start_new_session=True,
            )
            line = proc.stdout.readline()
            if line.strip() != b"ready":
                err = proc.stderr.read().decode(errors="replace").strip()
                proc.kill()
                proc.wait()
                raise SandboxUnavailable(f"cannot expose the Python prefix {prefix} to uid {SANDBOX_UID}: {err}")
            self._holder = proc
            return proc.pid

    def close(self) -> None:
        with self._holder_lock:
            if self._holder is not None:
                try:
                    self._holder.stdin.close()
                    self._holder.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    self._holder.kill()
                    self._holder.wait()
                for f in (self._holder.stdout, self._holder.stderr):
                    f.close()
                self._holder = None

    def spawn(self, limits: Limits, cgroup: CgroupSlot | None, preload: bool, startup_timeout: float):
        return ProcessSandbox(self.command(limits, preload, cgroup), {"PATH": "/usr/bin:/bin"}, cgroup, startup_timeout)

"""Inside a container: detect it, and name the ``docker run`` flags bubblewrap needs when they are missing.

bubblewrap makes its own user, pid, mount, ... namespaces. Docker's defaults stop that in two places, found
by running bwrap here (Debian's docker.io 20.10, cgroup v1, no AppArmor, container user 10001):

* the default seccomp profile refuses ``clone``/``unshare`` with namespace flags to a process without
  CAP_SYS_ADMIN: bwrap says "No permissions to create new namespace". Fix: ``--security-opt
  seccomp=unconfined`` (the sandbox still installs its own seccomp filter on the untrusted program).
* Docker masks parts of /proc (``/proc/kcore``, ``/proc/sys``, ...) with overmounts, and the kernel refuses a
  fresh procfs in a new user namespace while the existing one is partly hidden: "Can't mount proc on
  /newroot/proc: Operation not permitted". Fix: ``--security-opt systempaths=unconfined``.
* On AppArmor hosts (Ubuntu), the ``docker-default`` profile denies ``mount``: "Permission denied" from a
  mount step. Fix: ``--security-opt apparmor=unconfined`` (Ubuntu 24.04 hosts also need the sysctl
  ``kernel.apparmor_restrict_unprivileged_userns=0``).

``--cap-add SYS_ADMIN`` alone is no substitute (bwrap's pivot_root is then refused) and ``--privileged`` is
more than needed. :func:`container_problem` returns one line naming what is missing, or None.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from .backends.base import SANDBOX_UID

SECCOMP = "--security-opt seccomp=unconfined"
SYSTEMPATHS = "--security-opt systempaths=unconfined"
APPARMOR = "--security-opt apparmor=unconfined"
RUN_FLAGS = f"{SECCOMP} {SYSTEMPATHS}"
CONTAINER_MARKERS = ("docker", "containerd", "kubepods", "libpod", "lxc")


def in_container() -> bool:
    """True inside a Docker/Podman/Kubernetes container (marker files, $container, or PID 1's cgroups)."""
    if os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv") or os.environ.get("container"):
        return True
    try:
        with open("/proc/1/cgroup") as f:
            cgroups = f.read()
    except OSError:
        return False
    return any(marker in cgroups for marker in CONTAINER_MARKERS)


def proc_masked() -> bool:
    """Docker's (runc's) masks over /proc are in place: mounts below /proc (/proc/keys, /proc/sys read-only, ...)
    other than binfmt_misc, which a host has too and which does not stop a fresh procfs."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split(" - ")
                head, fstype = fields[0].split(), (fields[1].split() or [""])[0] if len(fields) > 1 else ""
                if len(head) > 4 and head[4].startswith("/proc/") and fstype not in ("binfmt_misc", "autofs"):
                    return True
    except OSError:
        pass
    return False


def _bwrap(bwrap: str, *args: str) -> str | None:
    """None when ``bwrap ARGS true`` works (started as uid 65534 when we are root, as the backend does)."""
    argv = [bwrap, *args, "--", "/bin/true"]
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv:
        argv = [setpriv, f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups", "--", *argv]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    return None if out.returncode == 0 else (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])[-1]


def missing_flags(bwrap: str) -> tuple[list[str], str] | None:
    """(flags, bwrap's error) when namespaces or the sandbox's mounts fail here; None when bwrap works."""
    binds = [
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--symlink",
        "usr/bin",
        "/bin",
    ]
    error = _bwrap(bwrap, "--unshare-user", "--unshare-pid", *binds)
    if error is not None:  # the /proc step cannot be tried yet: judge it by Docker's masks being there
        flags = [SECCOMP, APPARMOR] if "Permission denied" in error else [SECCOMP]
        return flags + ([SYSTEMPATHS] if proc_masked() else []), error
    error = _bwrap(
        bwrap, "--unshare-all", *binds, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--remount-ro", "/"
    )
    if error is None:
        return None
    if "proc" in error:
        return [SYSTEMPATHS], error
    if "Permission denied" in error:
        return [APPARMOR], error
    return [SECCOMP, SYSTEMPATHS, APPARMOR], error


def container_problem() -> str | None:
    """One line when we are in a container whose settings keep bubblewrap from sandboxing; else None."""
    if not in_container():
        return None
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return (
            "inside a container without bubblewrap: install it in the image (apt-get install bubblewrap), "
            f"then run the container with {RUN_FLAGS}"
        )
    found = missing_flags(bwrap)
    if found is None:
        return None
    flags, error = found
    error = error.split(", likely")[0].rstrip(".")
    missing = ", ".join(f.split()[-1] for f in flags)
    return (
        f"inside a container, bubblewrap cannot make the sandbox's namespaces ({error}): start the container "
        f"with {RUN_FLAGS} (missing here: {missing}; on AppArmor hosts add {APPARMOR})"
    )

"""What every backend provides: a way to start one sandboxed runner process for given limits."""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import py_compile
import shutil
import stat
import sys
import tempfile
import threading
from typing import Any

from ..cgroups import CgroupSlot
from ..limits import Limits

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER_FILES = ("launch.py", "runner.py", "codec.py", "seccomp.py")
RUNNER_MODULES = ("runner.py", "codec.py", "seccomp.py")
SANDBOX_UID = 65534
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


class SandboxUnavailable(RuntimeError):
    """The requested backend cannot run on this machine; the message says why and what to do."""


class SandboxError(RuntimeError):
    """A sandbox that should work could not be started or kept running (infrastructure, not the program)."""


_runner_dir: str | None = None
_runner_lock = threading.Lock()
EMPTY_FILE = "empty"  # an empty file sandboxes bind over /proc/cmdline


def _runner_digest() -> str:
    h = hashlib.sha256(sys.version.encode())
    for name in RUNNER_FILES:
        with open(os.path.join(PACKAGE_DIR, name), "rb") as f:
            h.update(name.encode() + b"\0" + f.read())
    return h.hexdigest()[:20]


def _trusted_tree(path: str, digest: str) -> bool:
    """The shared runner dir is ours, nobody else can write to it, and it holds exactly these runner files."""
    me = os.geteuid()

    def ok(p: str, want_dir: bool) -> bool:
        try:
            st = os.lstat(p)
        except OSError:
            return False
        kind = stat.S_ISDIR(st.st_mode) if want_dir else stat.S_ISREG(st.st_mode)
        return kind and st.st_uid == me and not st.st_mode & 0o022

    if not ok(path, True) or not ok(os.path.join(path, "__pycache__"), True):
        return False
    h = hashlib.sha256(sys.version.encode())
    for name in RUNNER_FILES:
        file = os.path.join(path, name)
        if not ok(file, False):
            return False
        with open(file, "rb") as f:
            h.update(name.encode() + b"\0" + f.read())
    pyc = [os.path.join(path, "__pycache__", n) for n in os.listdir(os.path.join(path, "__pycache__"))]
    return h.hexdigest()[:20] == digest and all(ok(p, False) for p in pyc) and ok(os.path.join(path, EMPTY_FILE), False)


def runner_dir() -> str:
    """A read-only copy of the in-sandbox files with their byte code compiled, shared by harness processes.

    Sandboxes bind (or copy) this directory; loading cached byte code instead of compiling ``runner.py``
    saves several milliseconds per fresh sandbox. The directory is named after the files' hash and this
    user (``$TMPDIR/reflectevo-runner-<uid>-<hash>``) and reused after checking it is ours and unchanged, so
    a harness killed by a signal leaves no new copy behind; if it cannot be trusted, a private copy removed
    at exit is used instead.
    """
    global _runner_dir
    with _runner_lock:
        if _runner_dir is not None and os.path.isdir(_runner_dir):
            return _runner_dir
        digest = _runner_digest()
        shared = os.path.join(tempfile.gettempdir(), f"reflectevo-runner-{os.geteuid()}-{digest}")
        if _trusted_tree(shared, digest):
            _runner_dir = shared
            return shared
        path = tempfile.mkdtemp(prefix="reflectevo-runner-")
        for name in RUNNER_FILES:
            shutil.copy2(os.path.join(PACKAGE_DIR, name), os.path.join(path, name))
        open(os.path.join(path, EMPTY_FILE), "wb").close()
        for name in RUNNER_MODULES:
            src = os.path.join(path, name)
            py_compile.compile(src, cfile=importlib.util.cache_from_source(src), doraise=True)
        for root, _dirs, files in os.walk(path):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        try:
            os.rename(path, shared)  # atomic; fails when another harness got there first
            path = shared
        except OSError:
            if _trusted_tree(shared, digest):
                shutil.rmtree(path, True)
                path = shared
            else:
                atexit.register(shutil.rmtree, path, True)
        _runner_dir = path
        return path


def host_python() -> str:
    """The interpreter the sandbox runs: the real file behind this venv's python (stdlib only in there)."""
    override = os.environ.get("REFLECTEVO_SANDBOX_PYTHON")
    exe = override or getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(exe)


def python_prefix(exe: str) -> str:
    """Directory holding the interpreter's bin/ and lib/ (``/usr`` for a system python)."""
    return os.path.dirname(os.path.dirname(exe))


PYTHON_FLAGS = ["-I", "-S", "-B"]  # isolated (no env, no cwd/script dir on sys.path), no site, no .pyc writes


def worker_args(preload: bool, tmp: str, wipe: tuple[str, ...] = ()) -> list[str]:
    """Arguments after the runner script."""
    return [f"--tmp={tmp}", *(f"--wipe={w}" for w in wipe), *(["--preload"] if preload else [])]


class Backend:
    name = "?"
    isolated = True
    warnings: tuple[str, ...] = ()

    def unavailable_reason(self) -> str | None:
        """None when the backend's tools exist here; else a one-line reason (no sandbox is started)."""
        raise NotImplementedError

    def spawn(self, limits: Limits, cgroup: CgroupSlot | None, preload: bool, startup_timeout: float) -> Any:
        """Start one sandbox running the runner's worker loop; returns a ProcessSandbox-like object."""
        raise NotImplementedError

    def uses_cgroups(self) -> bool:
        return True

    def close(self) -> None:
        pass

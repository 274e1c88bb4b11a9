"""The ``none`` backend: NO SANDBOX. Explicit opt-in only; ``auto`` never picks it.

The program runs as the harness's user with the host's file system and network. What still holds: the
verdict protocol (split asserts judged outside the program), rlimits, the seccomp filter, the wall-clock
deadline, the output cap, a clean environment, a private temporary work dir, and (as root) the pids/memory
cgroup. Descendants are found through the subreaper and killed, but a process that escapes both (e.g. by
re-parenting tricks outside the cgroup when not root) can survive. Use it only for trusted code or to debug.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

from ..cgroups import CgroupSlot
from ..limits import Limits
from ..transport import ProcessSandbox
from .base import PYTHON_FLAGS, SANDBOX_ENV, Backend, host_python, runner_dir, worker_args

log = logging.getLogger(__name__)
WARNING = "backend 'none': NOT SANDBOXED - the program can read, write and reach whatever this user can"


class NoneBackend(Backend):
    name = "none"
    isolated = False
    warnings = (WARNING,)

    def __init__(self, python: str | None = None):
        self.python = python or host_python()
        log.warning(WARNING)

    def unavailable_reason(self) -> str | None:
        return None

    def spawn(self, limits: Limits, cgroup: CgroupSlot | None, preload: bool, startup_timeout: float):
        tmp = tempfile.mkdtemp(prefix="reflectevo-none-")
        argv = [self.python, *PYTHON_FLAGS, os.path.join(runner_dir(), "launch.py"), *worker_args(preload, tmp)]
        if cgroup is not None:
            argv = cgroup.wrap(argv)
        env = dict(SANDBOX_ENV, HOME=tmp)
        return ProcessSandbox(
            argv, env, cgroup, startup_timeout, cleanup=lambda: shutil.rmtree(tmp, ignore_errors=True)
        )

"""Run the attack catalogue (:mod:`attacks`) against a backend and check the host afterwards.

Used by ``reflectevo-bench sandbox check`` and by ``tests/sandbox``. For each attack a :class:`HostContext`
plants canaries (an env var, a 0600 file in the harness user's home, a 0644 file in the host's /tmp), opens
a TCP+UDP listener on 127.0.0.1 and an abstract unix socket, and starts a decoy process (whose
environment holds the canary: /proc/<pid>/environ shows a process's initial environment only). After the run it
verifies: the result is not ``passed``; no ``ESCAPED`` in the output; canaries intact; nothing connected;
the decoy alive; no file named with the run's marker in the host directories an attack could reach; no
process carrying the marker (cmdline or comm) still alive after a short grace period; the status is one
of the attack's expected statuses; and the follow-up program (same executor) still passes.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sysconfig
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .attacks import ATTACKS, Attack, rendered
from .limits import Limits, MiB
from .result import SandboxResult

SUITE_LIMITS = Limits(timeout_s=2.0, memory_bytes=256 * MiB, tmpfs_bytes=64 * MiB, pids=64)
PROCESS_GRACE_S = 3.0
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def watched_dirs() -> list[str]:
    dirs = [
        "/tmp",
        "/var/tmp",
        "/dev/shm",
        "/run/lock",
        os.path.expanduser("~"),
        "/root",
        os.getcwd(),
        REPO_ROOT,
        "/",
        "/etc",
        "/usr",
        "/usr/local",
        "/opt",
        "/var",
        sysconfig.get_paths()["stdlib"],
    ]
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def processes_with(token: str) -> list[int]:
    """Host pids whose cmdline or comm contains ``token`` (ourselves excluded)."""
    found = []
    me = os.getpid()
    raw = token.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{name}/comm", "rb") as f:
                comm = f.read()
        except OSError:
            continue
        if raw in cmdline or raw[:15] in comm:
            found.append(int(name))
    return found


class HostContext:
    """Canaries, listeners and a decoy process for one attack run; verify() then close()."""

    def __init__(self, env_name: str, env_value: str):
        self.marker = "rbx" + secrets.token_hex(5)
        self.decoy_token = "rbdecoy" + secrets.token_hex(5)
        self.content = secrets.token_hex(16)
        self.canary_home = os.path.join(os.path.expanduser("~"), f".reflectevo-canary-{self.marker}")
        self.canary_tmp = f"/tmp/reflectevo-canary-{self.marker}"
        for path, mode in ((self.canary_home, 0o600), (self.canary_tmp, 0o644)):
            with open(path, "w") as f:
                f.write(self.content)
            os.chmod(path, mode)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(8)
        self.tcp.setblocking(False)
        port = self.tcp.getsockname()[1]
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.udp.bind(("127.0.0.1", port))
        except OSError:
            self.udp.bind(("127.0.0.1", 0))
        self.udp.setblocking(False)
        self.abstract_name = f"reflectevo-{self.marker}"
        self.abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.abstract.bind("\0" + self.abstract_name)
        self.abstract.listen(8)
        self.abstract.setblocking(False)
        self.decoy = subprocess.Popen(
            [self.decoy_token, "600"],
            executable="sleep",
            stdin=subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin", env_name: env_value},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.values = {
            "MARKER": self.marker,
            "CANARY_ENV": env_name,
            "CANARY_VALUE": env_value,
            "CANARY_HOME": self.canary_home,
            "CANARY_TMP": self.canary_tmp,
            "CANARY_CONTENT": self.content,
            "HOST_PORT": str(port),
            "ABSTRACT": self.abstract_name,
            "PARENT_PID": str(os.getpid()),
            "DECOY": self.decoy_token,
            "HOST_CWD": os.getcwd(),
            "PREFIX_LIB": sysconfig.get_paths()["stdlib"],
            "REPO_FILE": os.path.abspath(__file__),
        }

    def verify(self) -> list[str]:
        problems = []
        for path in (self.canary_home, self.canary_tmp):
            try:
                with open(path) as f:
                    if f.read() != self.content:
                        problems.append(f"canary {path} was modified")
            except OSError:
                problems.append(f"canary {path} was removed")
        for sock, what in ((self.tcp, "TCP listener on 127.0.0.1"), (self.abstract, "abstract unix socket")):
            try:
                conn, _ = sock.accept()
                conn.close()
                problems.append(f"the program reached the host's {what}")
            except (BlockingIOError, OSError):
                pass
        try:
            self.udp.recvfrom(65536)
            problems.append("the program sent a UDP datagram to the host")
        except (BlockingIOError, OSError):
            pass
        if self.decoy.poll() is not None:
            problems.append("the host decoy process was killed")
        for d in watched_dirs():
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for name in names:
                if (
                    self.marker in name
                    and not name.startswith("reflectevo-canary")
                    and not name.startswith(".reflectevo-canary")
                ):
                    problems.append(f"file left on the host: {os.path.join(d, name)}")
                    _remove(os.path.join(d, name))
        deadline = time.monotonic() + PROCESS_GRACE_S
        while True:
            left = processes_with(self.marker)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if left:
            problems.append(f"process(es) left running on the host: {left}")
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return problems

    def close(self) -> None:
        for path in (self.canary_home, self.canary_tmp):
            _remove(path)
        for sock in (self.tcp, self.udp, self.abstract):
            sock.close()
        if self.decoy.poll() is None:
            self.decoy.kill()
        self.decoy.wait()


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            import shutil

            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


@dataclass
class AttackReport:
    attack: Attack
    backend: str
    mode: str
    status: str = "skipped"
    problems: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    skipped: str | None = None
    error: str | None = None

    @property
    def escaped(self) -> bool:
        return self.skipped is None and bool(self.problems)

    @property
    def weak(self) -> bool:
        """Escaped, but this backend is documented not to stop this attack."""
        return self.escaped and self.backend in self.attack.weak_on

    @property
    def failed(self) -> bool:
        return self.escaped and not self.weak

    @property
    def outcome(self) -> str:
        if self.skipped is not None:
            return "skipped"
        if not self.problems:
            return "contained"
        return "exposed (documented)" if self.weak else "ESCAPED"


# Time bounds (``Attack.max_s``) are set for bwrap/unshare. Docker judges some hostile values much more slowly
# (hash_collision_set: ~21 s of harness time under docker/pool vs ~2 s under bwrap, measured on a 2-core host,
# cause not yet found), so its bound is scaled: still a bound (the unbounded code took > 300 s), not a pass.
SLOWER_BACKENDS = {"docker": 4}


def run_attack(executor, attack: Attack, env: tuple[str, str], followup_executor=None) -> AttackReport:
    report = AttackReport(attack, executor.backend.name, executor.mode)
    if attack.destructive and not executor.backend.isolated:
        report.skipped = "destructive without a sandbox"
        return report
    ctx = HostContext(*env)
    try:
        concrete = rendered(attack, ctx.values)
        start = time.monotonic()
        result: SandboxResult = executor.run(
            concrete.program, list(concrete.tests), concrete.setup, concrete.entry_point
        )
        report.duration_s = time.monotonic() - start
        report.status = result.status
        report.error = result.error
        if result.passed:
            report.problems.append("judged PASSED (the attack's tests only pass if it worked)")
        output = result.stdout + result.stderr
        if "ESCAPED" in output:
            report.problems.append("escape marker in the output: " + output[output.index("ESCAPED") :][:120])
        if attack.expect and result.status not in attack.expect:
            report.problems.append(f"status {result.status}, expected {'/'.join(attack.expect)}")
        limit = None if attack.max_s is None else attack.max_s * SLOWER_BACKENDS.get(executor.backend.name, 1)
        if limit is not None and report.duration_s > limit:
            report.problems.append(f"the harness took {report.duration_s:.1f} s to judge it (limit {limit:g} s)")
        try:
            json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")
        except (UnicodeEncodeError, ValueError, RecursionError) as exc:
            report.problems.append(f"the result cannot be written as UTF-8 JSON ({type(exc).__name__})")
        if concrete.followup is not None:
            program, tests = concrete.followup
            after = (followup_executor or executor).run(program, list(tests))
            if not after.passed:
                report.problems.append(
                    f"follow-up program did not pass ({after.status}: {after.error or after.feedback})"
                )
        report.problems += ctx.verify()
    finally:
        ctx.close()
    return report


def run_suite(
    backend: str,
    mode: str = "fresh",
    workers: int = 2,
    limits: Limits | None = None,
    attacks: list[Attack] | None = None,
    progress=None,
) -> list[AttackReport]:
    """Run ``attacks`` (default: all) against ``backend``; reports in catalogue order."""
    from . import get_executor

    limits = limits or SUITE_LIMITS
    attacks = list(ATTACKS if attacks is None else attacks)
    env = ("REFLECTEVO_CANARY_" + secrets.token_hex(4).upper(), "canary-" + secrets.token_hex(12))
    previous = os.environ.get(env[0])
    os.environ[env[0]] = env[1]
    lock = threading.Lock()
    try:
        with (
            get_executor(backend, limits, mode=mode, workers=workers) as ex,
            get_executor(backend, limits, mode=mode, workers=1) as solo,
        ):

            def one(attack: Attack) -> AttackReport:
                if attack.followup is not None:
                    with lock:  # attack and follow-up on the same single worker, nothing in between
                        rep = run_attack(solo, attack, env)
                else:
                    rep = run_attack(ex, attack, env)
                if progress is not None:
                    progress(rep)
                return rep

            with ThreadPoolExecutor(workers) as pool:
                return list(pool.map(one, attacks))
    finally:
        if previous is None:
            os.environ.pop(env[0], None)
        else:
            os.environ[env[0]] = previous

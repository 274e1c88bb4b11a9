"""Harness-side handle on one running sandbox that speaks the runner's frame protocol.

Protects the harness against a worker that hangs, floods or dies: every read has a deadline (the backstop
behind the worker's own timeout), frames are size-capped, the worker's stderr is drained and capped, and
:meth:`ProcessSandbox.kill` takes down the whole process group plus everything in the sandbox's cgroup.
"""

from __future__ import annotations

import json
import marshal
import os
import secrets
import select
import signal
import struct
import subprocess
import time
from collections.abc import Iterator
from typing import Any

from .cgroups import CgroupSlot

MAX_ANSWER = 64 * 1024 * 1024


def take_frame(buf: bytearray, source: str) -> dict | None:
    """Pop one length-prefixed JSON answer (4-byte big-endian size) off ``buf``; None until it is complete."""
    if len(buf) < 4:
        return None
    (size,) = struct.unpack(">I", buf[:4])
    if size > MAX_ANSWER:
        raise SandboxBroken(f"oversized answer from {source}")
    if len(buf) < 4 + size:
        return None
    body = bytes(buf[4 : 4 + size])
    del buf[: 4 + size]
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):
        raise SandboxBroken(f"garbled answer from {source}") from None
    if not isinstance(answer, dict):
        raise SandboxBroken(f"garbled answer from {source}")
    return answer


class SandboxBroken(Exception):
    """The sandbox stopped speaking the protocol (died, hung past the backstop, or sent garbage).

    ``before_job`` is True when the job never reached the worker, so it is safe to retry elsewhere.
    """

    def __init__(self, message: str, timed_out: bool = False, before_job: bool = False):
        super().__init__(message)
        self.timed_out = timed_out
        self.before_job = before_job


READY_TIMEOUT = 20.0  # the worker's cleanup is bounded (5 s sweep + 5 s per wiped dir); then it is replaced


class JobChannel:
    """The harness's half of the worker protocol, shared by the process and docker transports.

    Each job carries a fresh id. The worker answers with exactly one frame echoing it, then, after its
    cleanup, ``{"ready": id}`` (clean, next child waiting) or ``{"bye": why, "id": id}`` (retiring), and only
    then reads the next job. The harness reads the next answer only after that ``ready``; anything else (bye,
    EOF, silence, a frame for another job) means the job never ran there and the sandbox is replaced, so one
    job's frames are never read as another's answer.
    """

    _awaiting: Any = None  # id of the job whose "ready" frame is due
    _job_seq = 0

    def _recv(self, deadline: float) -> dict:  # pragma: no cover - implemented by the transports
        raise NotImplementedError

    def _send_job(self, data: bytes, deadline: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def _idle_frame_pending(self) -> bool:  # pragma: no cover
        raise NotImplementedError

    def _check_idle(self) -> None:
        """Just started (the hello frame said ready): nothing else may be waiting."""
        if self._idle_frame_pending():
            try:
                frame = self._recv(time.monotonic() + 1.0)
            except SandboxBroken as exc:
                raise SandboxBroken(f"idle worker is gone: {exc}", before_job=True) from None
            raise SandboxBroken(
                f"worker retired itself ({str(frame.get('bye', 'unexpected frame'))[:200]})", before_job=True
            )

    def _expect_ready(self, jid: str) -> None:
        try:
            frame = self._recv(time.monotonic() + READY_TIMEOUT)
        except SandboxBroken as exc:
            raise SandboxBroken(f"worker did not report itself clean: {exc}", before_job=True) from None
        if set(frame) != {"ready"} or frame["ready"] != jid:
            why = frame.get("bye") if isinstance(frame.get("bye"), str) else "unexpected frame"
            raise SandboxBroken(f"worker retired itself ({why[:200]})", before_job=True)

    def exchange(self, job: dict, timeout: float) -> dict:
        """Send one job; return its answer, read only after the previous job's ``ready`` (never another
        job's frame). The job is written before that ``ready`` arrives (the worker reads it only once clean),
        so a worker that retires instead never runs it and the caller may send it elsewhere."""
        JobChannel._job_seq += 1
        jid = f"{os.getpid()}-{JobChannel._job_seq}-{secrets.token_hex(4)}"
        data = marshal.dumps(dict(job, id=jid))  # harness -> worker is the trusted direction; answers are JSON
        data = struct.pack(">I", len(data)) + data
        previous, self._awaiting = self._awaiting, None
        if previous is None:
            self._check_idle()
            self._send_job(data, time.monotonic() + timeout)
        else:
            try:
                self._send_job(data, time.monotonic() + READY_TIMEOUT)
                problem = None
            except SandboxBroken as exc:
                problem = exc
            self._expect_ready(previous)
            if problem is not None:  # clean, but the job did not get through whole: it cannot have run
                raise SandboxBroken(f"could not send the job: {problem}", before_job=True)
        answer = self._recv(time.monotonic() + timeout)
        if answer.get("id") != jid or "end" not in answer:
            why = answer.get("bye") if isinstance(answer.get("bye"), str) else "a frame that is not this job's answer"
            raise SandboxBroken(f"the worker sent {why[:200]}")
        self._awaiting = jid
        return answer


class ProcessSandbox(JobChannel):
    """A sandbox started as a local process tree (bwrap, unshare, none)."""

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        cgroup: CgroupSlot | None,
        startup_timeout: float,
        cleanup: Any = None,
    ):
        self.cgroup = cgroup
        self._cleanup = cleanup
        self._killed = False
        self.stderr_tail = b""
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            close_fds=True,
            start_new_session=True,
            bufsize=0,
        )
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        self._err = self.proc.stderr.fileno()
        os.set_blocking(self._in, False)
        self._rbuf = bytearray()
        try:
            self.hello = self._recv(time.monotonic() + startup_timeout)
        except SandboxBroken as exc:
            self.kill()
            raise SandboxBroken(f"sandbox failed to start: {exc}{self._stderr_hint()}") from None

    def _stderr_hint(self) -> str:
        text = self.stderr_tail.decode("utf-8", "replace").strip()
        return f" (stderr: {text[-600:]})" if text else ""

    def alive(self) -> bool:
        return not self._killed and self.proc.poll() is None

    def request(self, job: dict, timeout: float) -> dict:
        if self._killed:
            raise SandboxBroken("sandbox was killed", before_job=True)
        return self.exchange(job, timeout)

    def _send_job(self, data: bytes, deadline: float) -> None:
        self._send(data, deadline)

    def _idle_frame_pending(self) -> bool:
        return bool(self._rbuf) or bool(select.select([self._out], [], [], 0)[0])

    def _send(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        poller = select.poll()
        poller.register(self._in, select.POLLOUT)
        poller.register(self._err, select.POLLIN)
        while view:
            for _, ev in self._ready(poller, deadline, "timed out sending a job"):
                if ev & (select.POLLERR | select.POLLHUP):
                    raise SandboxBroken("sandbox closed its input")
                try:
                    n = os.write(self._in, view)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, OSError) as exc:
                    raise SandboxBroken(f"sandbox closed its input: {exc}") from None
                view = view[n:]

    def _ready(self, poller: select.poll, deadline: float, late: str) -> Iterator[tuple[int, int]]:
        """One poll's events in order, but the sandbox's stderr, which is drained into ``stderr_tail`` on the way;
        SandboxBroken(``late``) once ``deadline`` has passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise SandboxBroken(late, timed_out=True)
        for fd, ev in poller.poll(left * 1000):
            if fd == self._err:
                self._drain_err(poller)
            else:
                yield fd, ev

    def _drain_err(self, poller: select.poll) -> None:
        chunk = os.read(self._err, 65536)
        if not chunk:
            poller.unregister(self._err)
            return
        self.stderr_tail = (self.stderr_tail + chunk)[-8192:]

    def _recv(self, deadline: float) -> dict:
        poller = select.poll()
        poller.register(self._out, select.POLLIN)
        poller.register(self._err, select.POLLIN)
        buf = self._rbuf
        while True:
            answer = take_frame(buf, "sandbox")
            if answer is not None:
                return answer
            for _ in self._ready(poller, deadline, "no answer before the deadline"):
                chunk = os.read(self._out, 1 << 20)
                if not chunk:
                    raise SandboxBroken("sandbox exited")
                buf += chunk

    def close(self, grace: float = 1.0) -> None:
        """Ask the worker to exit (EOF on its input: it sweeps its namespace), then make sure all is gone."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill_now(self) -> None:
        """Signal everything of this sandbox (SIGKILL) without waiting; call kill() later to reap."""
        self._signal_all(wait_s=0)

    def _signal_all(self, wait_s: float) -> None:
        self._killed = True
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.cgroup is not None:
            self.cgroup.kill(wait_s=wait_s)

    def kill(self) -> None:
        self._signal_all(wait_s=5.0)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        if self._cleanup is not None:
            cleanup, self._cleanup = self._cleanup, None
            cleanup()

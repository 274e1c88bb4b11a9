"""Docker backend (extra ``[docker]``; the SDK is imported lazily).

Each sandbox is one container of the image built by ``docker/build-sandbox-image.sh`` from a local base (no
registry): ``network_mode="none"``, read-only root, tmpfs ``/tmp`` and ``/dev/shm``, ``pids_limit``,
``mem_limit`` (= memswap), one CPU, ``no-new-privileges``, ``cap_drop=ALL``, uid/gid 65534, a private IPC
namespace and an empty environment. The runner is the container's pid 1, so killing it kills everything
inside. Containers get unique names (``reflectevo-sbx-<pid>-<random>``) and are killed and removed *by name*:
killing a ``docker run`` client would leave the container running.

The frame protocol runs over the attach socket (stdin in, multiplexed stdout/stderr out).
"""

from __future__ import annotations

import hashlib
import os
import select
import shutil
import struct
import tempfile
import time
import uuid

from ..cgroups import CgroupSlot
from ..limits import Limits, MiB
from ..transport import JobChannel, SandboxBroken, take_frame
from .base import (
    PACKAGE_DIR,
    PYTHON_FLAGS,
    RUNNER_FILES,
    SANDBOX_ENV,
    SANDBOX_UID,
    Backend,
    SandboxUnavailable,
    worker_args,
)

REPO_ROOT = os.path.dirname(os.path.dirname(PACKAGE_DIR))
DOCKERFILE = os.path.join(REPO_ROOT, "docker", "sandbox.Dockerfile")
BASE_TAG = "reflectevo-sandbox-base:local"
LABEL_PY = "org.reflectevo.sandbox.python"


def runner_hash() -> str:
    """Same value as docker/build-sandbox-image.sh: sha256 of launch, runner, codec, seccomp (16 hex)."""
    h = hashlib.sha256()
    for name in RUNNER_FILES:
        with open(os.path.join(PACKAGE_DIR, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, image: str | None = None, base_url: str | None = None):
        self.image = image or f"reflectevo-sandbox:{runner_hash()}"
        self.base_url = base_url
        self._client = None
        self.python: str | None = None

    def uses_cgroups(self) -> bool:
        return False  # docker applies pids/memory limits itself

    def client(self):
        if self._client is None:
            try:
                import docker  # noqa: PLC0415 - optional dependency
            except ImportError:
                raise SandboxUnavailable(
                    "the docker SDK is not installed: pip install 'reflectevo-bench[docker]'"
                ) from None
            try:
                self._client = (
                    docker.DockerClient(base_url=self.base_url, timeout=30)
                    if self.base_url
                    else docker.from_env(timeout=30)
                )
                self._client.ping()
            except Exception as exc:  # noqa: BLE001 - any failure: engine unreachable
                self._client = None
                where = self.base_url or os.environ.get("DOCKER_HOST", "the default socket")
                raise SandboxUnavailable(
                    f"no Docker engine reachable at {where} ({type(exc).__name__}); "
                    "start dockerd or run scripts/ci-docker.sh"
                ) from None
        return self._client

    def unavailable_reason(self) -> str | None:
        try:
            self.ensure_image()
        except SandboxUnavailable as exc:
            return str(exc)
        return None

    def ensure_image(self) -> None:
        """Find the image for the current runner files, building it from the local base if needed."""
        if self.python is not None:
            return
        import docker.errors  # noqa: PLC0415

        client = self.client()
        try:
            image = client.images.get(self.image)
        except docker.errors.ImageNotFound:
            image = self._build(client)
        python = (image.labels or {}).get(LABEL_PY)
        if not python:
            raise SandboxUnavailable(
                f"image {self.image} has no {LABEL_PY} label; rebuild it with docker/build-sandbox-image.sh"
            )
        self.python = python

    def _build(self, client):
        import docker.errors  # noqa: PLC0415

        try:
            base = client.images.get(BASE_TAG)
        except docker.errors.ImageNotFound:
            raise SandboxUnavailable(
                f"sandbox image {self.image} not found and no local base {BASE_TAG}: run docker/build-sandbox-image.sh"
            ) from None
        if not os.path.exists(DOCKERFILE):
            raise SandboxUnavailable(f"sandbox image {self.image} not found: run docker/build-sandbox-image.sh")
        python = None
        for key, value in (base.attrs.get("Config") or {}).get("Labels", {}).items() if base.attrs else ():
            if key == LABEL_PY:
                python = value
        from .base import host_python

        python = python or host_python()
        with tempfile.TemporaryDirectory(prefix="reflectevo-ctx-") as ctx:
            os.mkdir(os.path.join(ctx, "runner"))
            for name in RUNNER_FILES:
                shutil.copy(os.path.join(PACKAGE_DIR, name), os.path.join(ctx, "runner", name))
            shutil.copy(DOCKERFILE, os.path.join(ctx, "Dockerfile"))
            try:
                image, _ = client.images.build(
                    path=ctx,
                    tag=self.image,
                    rm=True,
                    buildargs={"BASE": BASE_TAG, "PYTHON": python, "RUNNER_HASH": runner_hash()},
                )
            except Exception as exc:  # noqa: BLE001
                raise SandboxUnavailable(f"building {self.image} failed: {exc}") from None
        return image

    def spawn(self, limits: Limits, cgroup: CgroupSlot | None, preload: bool, startup_timeout: float):
        self.ensure_image()
        return DockerSandbox(self, limits, preload, startup_timeout)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class DockerSandbox(JobChannel):
    """One container speaking the runner protocol over its attach socket."""

    def __init__(self, backend: DockerBackend, limits: Limits, preload: bool, startup_timeout: float):
        self.client = backend.client()
        self.name = f"reflectevo-sbx-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.stderr_tail = b""
        self._buf = bytearray()  # demultiplexed stdout
        self._raw = bytearray()  # undecoded stream frames
        self._closed = False
        memory = limits.memory_bytes + 256 * MiB
        command = [
            backend.python,
            *PYTHON_FLAGS,
            "/opt/reflectevo-sandbox/launch.py",
            *worker_args(preload, "/tmp", ("/dev/shm",)),
        ]
        self.container = self.client.containers.create(
            backend.image,
            command=command,
            name=self.name,
            stdin_open=True,
            tty=False,
            network_mode="none",
            read_only=True,
            tmpfs={"/tmp": f"size={limits.tmpfs_bytes},mode=1777", "/dev/shm": "size=16m,mode=1777"},
            pids_limit=limits.pids + 8,
            mem_limit=memory,
            memswap_limit=memory,
            nano_cpus=1_000_000_000,
            security_opt=["no-new-privileges"],
            cap_drop=["ALL"],
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            environment=dict(SANDBOX_ENV, HOME="/tmp"),
            working_dir="/tmp",
            ipc_mode="private",
            labels={"org.reflectevo.sandbox": "1"},
            init=False,
        )
        try:
            self._sock_obj = self.client.api.attach_socket(
                self.container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            self.sock = getattr(self._sock_obj, "_sock", self._sock_obj)
            self.sock.setblocking(False)
            self.container.start()
            self.hello = self._recv(time.monotonic() + startup_timeout)
        except Exception as exc:  # noqa: BLE001
            self.kill()
            if isinstance(exc, SandboxBroken):
                raise SandboxBroken(f"container failed to start: {exc}") from None
            raise SandboxBroken(f"container failed to start: {type(exc).__name__}: {exc}") from None

    def alive(self) -> bool:
        return not self._closed

    def request(self, job: dict, timeout: float) -> dict:
        if self._closed:
            raise SandboxBroken("container was killed", before_job=True)
        return self.exchange(job, timeout)

    def _idle_frame_pending(self) -> bool:
        return bool(self._buf) or self._readable(0)

    def _send_job(self, data: bytes, deadline: float) -> None:
        view = memoryview(data)
        while view:
            if time.monotonic() > deadline:
                raise SandboxBroken("timed out sending a job", timed_out=True)
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                select.select([], [self.sock], [], 0.05)
            except OSError as exc:
                raise SandboxBroken(f"container closed its input: {exc}") from None

    def _readable(self, timeout: float) -> bool:
        return bool(select.select([self.sock], [], [], timeout)[0])

    def _pump(self, timeout: float) -> None:
        if not self._readable(timeout):
            return
        try:
            chunk = self.sock.recv(1 << 20)
        except BlockingIOError:
            return
        if not chunk:
            raise SandboxBroken("container exited")
        self._raw += chunk
        while len(self._raw) >= 8:
            stream, size = self._raw[0], struct.unpack(">I", self._raw[4:8])[0]
            if len(self._raw) < 8 + size:
                break
            payload = bytes(self._raw[8 : 8 + size])
            del self._raw[: 8 + size]
            if stream == 1:
                self._buf += payload
            else:
                self.stderr_tail = (self.stderr_tail + payload)[-8192:]

    def _recv(self, deadline: float) -> dict:
        while True:
            answer = take_frame(self._buf, "container")
            if answer is not None:
                return answer
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxBroken("no answer before the deadline", timed_out=True)
            self._pump(min(left, 1.0))

    def close(self, grace: float = 0.0) -> None:
        self.kill()

    def kill(self) -> None:
        """Kill and remove the container by name (never rely on the attach client dying)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.sock.close()
        except Exception:  # noqa: BLE001
            pass
        try:
            self.client.api.remove_container(self.name, force=True)
        except Exception:  # noqa: BLE001 - already gone
            pass


__all__ = ["DockerBackend", "DockerSandbox", "runner_hash"]

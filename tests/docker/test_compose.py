"""docker/compose.yaml: what the GPU quickstart promises, checked on the file and (where the `docker-compose`
CLI is installed: scripts/ci-docker.sh installs Debian's) on `docker-compose config`, which validates it against
the Compose schema and interpolates the variables."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker" / "compose.yaml"


def check(services: dict, model: str) -> None:
    vllm, bench = services["vllm"], services["bench"]
    serve = [*vllm["entrypoint"], *vllm["command"]]
    assert serve[:3] == ["vllm", "serve", model]
    assert "--enable-prefix-caching" in serve and "--port=8000" in serve
    assert "localhost:8000/health" in " ".join(vllm["healthcheck"]["test"])
    [gpu] = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert gpu["driver"] == "nvidia" and gpu["capabilities"] == ["gpu"]
    assert any(
        str(v).endswith(":/root/.cache/huggingface") or ":/root/.cache/huggingface:" in str(v) for v in vllm["volumes"]
    )
    assert vllm["ipc"] == "host"

    assert bench["depends_on"]["vllm"]["condition"] == "service_healthy"
    command = bench["command"]
    assert command[0] == "run" and "--model=local-chat-completions" in command
    args = next(c for c in command if c.startswith("--model-args="))
    assert f"base_url=http://vllm:8000/v1/chat/completions,model={model}," in args
    output = next(c for c in command if c.startswith("--output="))
    assert output.startswith("--output=/runs/")
    assert any(":/runs" in str(v) for v in bench["volumes"])
    assert {"seccomp=unconfined", "systempaths=unconfined"} <= set(bench["security_opt"])


def test_compose_file_wires_vllm_and_bench():
    spec = yaml.safe_load(COMPOSE.read_text())
    check(spec["services"], spec["x-model"])  # uninterpolated: the same ${MODEL:-...} in both services
    assert "runs" in spec["volumes"] and "hf-cache" in spec["volumes"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_validates_and_interpolates():
    env = {**os.environ, "MODEL": "org/some-model", "GPUS": "2"}
    out = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    check(services, "org/some-model")
    assert str(services["vllm"]["deploy"]["resources"]["reservations"]["devices"][0]["count"]) == "2"

"""The `cpu` image (docker/Dockerfile, built by docker/build-image.sh --target cpu), checked from the outside.

Runs only where a Docker engine answers and the image exists (scripts/ci-docker.sh builds it and runs this
module); otherwise every test skips. REFLECTEVO_IMAGE names another image. Inside the container: metadata and
contents, `sandbox check` with and without the `docker run` flags bubblewrap needs, `models tiny`, `run` on
countdown + mbpp (hf backend on the tiny model; and local-chat-completions against a scripted server in the
same container, so that the sandbox really judges MBPP programs there), and `leaderboard build` on the runs.
Containers run with --network none and are removed by name if a test times out.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("REFLECTEVO_IMAGE", "reflectevo-bench:cpu")
SANDBOX_FLAGS = ["--security-opt", "seccomp=unconfined", "--security-opt", "systempaths=unconfined"]
SERVER = "/tests/scripted_chat_server.py"


def _engine_and_image() -> str | None:
    if shutil.which("docker") is None:
        return "no docker CLI"
    try:
        if subprocess.run(["docker", "info"], capture_output=True, timeout=15).returncode != 0:
            return "no Docker engine answers (scripts/ci-docker.sh starts one)"
        if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, timeout=15).returncode != 0:
            return f"image {IMAGE} not built (docker/build-image.sh --target cpu)"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker does not answer: {exc}"
    return None


_why = _engine_and_image()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


def in_image(
    *args: str,
    flags: list[str] = SANDBOX_FLAGS,
    mounts: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    entrypoint: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """`docker run --rm` of IMAGE with ARGS; the container is removed by name if the client times out."""
    name = "reflectevo-test-" + secrets.token_hex(4)
    argv = ["docker", "run", "--rm", "--name", name, "--network", "none", *flags]
    for host, target in (mounts or {}).items():
        argv += ["-v", f"{host}:{target}"]
    for key, value in {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}.items():
        argv += ["-e", f"{key}={value}"]
    if entrypoint:
        argv += ["--entrypoint", entrypoint]
    try:
        return subprocess.run([*argv, IMAGE, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
        raise


def ok(out: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert out.returncode == 0, f"exit {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


# ------------------------------------------------------------------------------------------------ the image


def test_labels_user_and_entrypoint():
    config = json.loads(
        subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True, check=True).stdout
    )[0]["Config"]
    labels = config["Labels"]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert labels["org.opencontainers.image.version"] == version
    revision = labels["org.opencontainers.image.revision"].removesuffix("-dirty")
    if (REPO / ".git").exists():  # the commit the image was built from: this checkout's HEAD or an ancestor
        assert (
            subprocess.run(
                ["git", "-C", str(REPO), "merge-base", "--is-ancestor", revision, "HEAD"], capture_output=True
            ).returncode
            == 0
        ), revision
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["tini", "--", "reflectevo-bench"]


def test_contents_cpu_torch_bwrap_tini_and_a_consistent_venv():
    script = (
        "set -e; id -u; command -v bwrap; command -v tini; "
        "python -c 'import sys, torch; print(sys.version.split()[0], torch.__version__, torch.version.cuda)'; "
        "pip check; test -f /opt/venv/base-constraints.txt; cat /opt/venv/constraints.txt"
    )
    out = ok(in_image("-c", script, entrypoint="/bin/sh", flags=[])).stdout.splitlines()
    assert out[0] == "10001"
    assert out[1:3] == ["/usr/bin/bwrap", "/usr/bin/tini"]
    py, torch_version, cuda = out[3].split()
    assert py.startswith("3.11.") and torch_version.startswith("2.13.0") and cuda == "None"
    assert "torch==2.13.0" in out  # constraints-cpu.txt, kept in the image


def test_entrypoint_runs_the_cli_under_tini():
    out = ok(in_image("--help", flags=[]))
    assert "reflectevo-bench" in out.stdout or "Usage" in out.stdout


# ------------------------------------------------------------------------------------------------ sandbox


@pytest.mark.parametrize(
    "flags,missing",
    [
        ([], "seccomp=unconfined, systempaths=unconfined"),
        (["--security-opt", "seccomp=unconfined"], "systempaths=unconfined"),
        (["--security-opt", "systempaths=unconfined"], "seccomp=unconfined"),
    ],
    ids=["no-flags", "seccomp-only", "systempaths-only"],
)
def test_sandbox_check_names_the_missing_docker_run_flags_in_one_line(flags, missing):
    out = in_image("sandbox", "check", flags=flags, timeout=120)
    assert out.returncode == 2
    lines = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: inside a container")
    assert "--security-opt seccomp=unconfined --security-opt systempaths=unconfined" in lines[0]
    assert f"missing here: {missing};" in lines[0]


def test_sandbox_check_contains_every_attack_with_the_documented_flags():
    out = ok(in_image("sandbox", "check", timeout=600))
    assert out.stdout.startswith("auto -> bwrap")
    assert " 0 escaped" in out.stdout, out.stdout[-2000:]


# ------------------------------------------------------------------------------------------------ runs


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A host folder mounted at /runs, writable by the image's uid 10001."""
    path = tmp_path_factory.mktemp("in-image")
    os.chmod(path, 0o777)
    return path


@pytest.fixture(scope="module")
def tiny_in_image(work) -> Path:
    out = ok(in_image("models", "tiny", "/runs/tiny", mounts={str(work): "/runs"}, flags=[]))
    assert out.stdout.strip().splitlines()[-1] == "/runs/tiny"
    assert (work / "tiny" / "config.json").is_file()
    return work / "tiny"


def _data(shared_data: Path) -> dict[str, str]:
    """The benchmark data (REFLECTEVO_DATA_DIR on the host), read-only at /data for --data-dir."""
    return {str(shared_data): "/data:ro"}


@pytest.fixture(scope="module")
def hf_run(work, tiny_in_image, shared_data) -> Path:
    ok(
        in_image(
            "run",
            "--model",
            "hf",
            "--model-args",
            "pretrained=/runs/tiny",
            "--tasks",
            "countdown,mbpp",
            "--limit",
            "4",
            "--gen-kwargs",
            "max_gen_toks=16",
            "--device",
            "cpu",
            "--data-dir",
            "/data",
            "--output",
            "/runs/hf",
            mounts={str(work): "/runs", **_data(shared_data)},
            env={"REFLECTEVO_SANDBOX": "bwrap"},
            timeout=600,
        )
    )
    return work / "hf"


@pytest.fixture(scope="module")
def served_run(work, shared_data) -> Path:
    script = (
        f"python {SERVER} /data/mbpp/mbpp.jsonl 8765 > /tmp/server.log 2>&1 & "
        "for _ in $(seq 100); do grep -q ready /tmp/server.log && break; sleep 0.1; done; "
        "exec reflectevo-bench run --model local-chat-completions "
        "--model-args model=scripted,base_url=http://127.0.0.1:8765/v1/chat/completions,max_retries=1 "
        "--tasks countdown,mbpp --limit 4 --gen-kwargs max_gen_toks=256 --data-dir /data --output /runs/served"
    )
    ok(
        in_image(
            "-c",
            script,
            entrypoint="/bin/sh",
            mounts={str(work): "/runs", str(Path(__file__).parent): "/tests:ro", **_data(shared_data)},
            env={"REFLECTEVO_SANDBOX": "bwrap"},
            timeout=600,
        )
    )
    return work / "served"


def _records(run: Path, task: str) -> list[dict]:
    return [json.loads(line) for line in (run / f"samples_{task}.jsonl").read_text().splitlines()]


def test_models_tiny_and_an_hf_run_on_countdown_and_mbpp(hf_run):
    results = json.loads((hf_run / "results.json").read_text())
    assert {"countdown", "mbpp"} <= set(results["results"])
    assert json.loads((hf_run / "run.json").read_text())["identity"]["data_dir"] == "/data"
    for task in ("countdown", "mbpp"):
        records = _records(hf_run, task)
        assert [r["doc_id"] for r in records] == [0, 1, 2, 3]
    assert [r["doc"]["task_id"] for r in _records(hf_run, "mbpp")] == [11, 12, 13, 14]  # read from /data


def test_the_sandbox_judges_mbpp_programs_inside_the_container(served_run):
    records = {r["doc"]["task_id"]: r for r in _records(served_run, "mbpp")}
    assert sorted(records) == [11, 12, 13, 14]
    for task_id, rec in records.items():
        first = rec["turns"][0]
        assert first["response"].startswith("```python")
        if task_id % 2 == 0:  # the reference solution: every assert passed in bwrap, in the container
            assert rec["correct"][0] is True and first["verdict"]["details"]["status"] == "passed"
        else:  # a function returning None: the sandbox ran the asserts and says which one failed
            assert rec["correct"][0] is False and first["verdict"]["details"]["status"] == "failed"
            assert first["verdict"]["feedback"].startswith("Test failed: assert ")
    results = json.loads((served_run / "results.json").read_text())
    assert {"countdown", "mbpp"} <= set(results["results"])


def test_leaderboard_build_on_the_runs(work, hf_run, served_run):
    ok(
        in_image(
            "leaderboard",
            "build",
            "--out",
            "/runs/board",
            "--role",
            "base=/runs/hf",
            "--role",
            "candidate=/runs/served",
            "--bootstrap",
            "200",
            "--allow-mismatch",  # hf renders the tiny model's template, the server its own: the report shows both
            mounts={str(work): "/runs"},
            flags=[],
            timeout=300,
        )
    )
    board = json.loads((work / "board" / "leaderboard.json").read_text())
    [group] = board["groups"]  # same tasks, protocol and docs: one comparable group
    models = {m["role"]: m for m in group["models"]}
    assert models["base"]["model"] == "hf" and models["candidate"]["model"] == "local-chat-completions"
    assert models["candidate"]["tasks"]["mbpp"]["acc@t1"] == 0.5  # task_ids 12 and 14 passed in the sandbox
    assert models["base"]["tasks"]["mbpp"]["n"] == models["candidate"]["tasks"]["mbpp"]["n"] == 4
    for name in ("leaderboard.md", "leaderboard.html"):
        assert (work / "board" / name).stat().st_size > 0
    assert "chat template" in (work / "board" / "leaderboard.md").read_text()  # the settings of both, printed


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))

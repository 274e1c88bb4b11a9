"""Run the stages of an experiment in order, each resumable, none redone once finished.

Completion is each artifact's own marker: a run dir is finished when ``results.json`` exists and every task holds
as many records as ``run.json`` says it has docs; a data dir when ``card.json`` exists (written last, the dir is
renamed into place); a checkpoint when ``reflectevo_checkpoint.json`` exists (written last). An unfinished stage
is continued: a run dir with ``run --resume`` semantics (finished docs are kept, cached responses reused); a
training dir from its latest complete ``checkpoint-N`` (``resume_from_checkpoint``), or from scratch when it has
none. ``DIR/stages.jsonl`` logs every start, finish and skip (append-only, fsynced); ``experiment status`` reads it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from reflectevo_bench.errors import BenchError
from reflectevo_bench.experiment import honesty
from reflectevo_bench.experiment.graph import Stage, plan, stage_path
from reflectevo_bench.experiment.spec import Spec
from reflectevo_bench.harness.run_dir import write_json_atomic, write_text_atomic

LOG = "stages.jsonl"
PLAN = "plan.json"
LOCK = ".lock"
PLAN_FORMAT = "reflectevo-bench/experiment-plan"


# --- completion markers -------------------------------------------------------------------------------------------


def run_complete(path: Path) -> bool:
    if not (path / "results.json").is_file() or not (path / "run.json").is_file():
        return False
    from reflectevo_bench.harness.records import read_records

    try:
        sizes = json.loads((path / "run.json").read_text(encoding="utf-8"))["environment"]["task_sizes_limited"]
    except (ValueError, KeyError, TypeError):
        return False
    records = read_records(path)
    return all(len(records.get(t, [])) == n for t, n in sizes.items())


def stage_complete(out: Path, stage: Stage) -> bool:
    path = stage_path(out, stage)
    if stage.kind in ("run", "eval"):
        return run_complete(path)
    if stage.kind == "data":
        from reflectevo_bench.trainers.data.datadir import CARD

        return (path / CARD).is_file()
    if stage.kind == "train":
        from reflectevo_bench.trainers.config import CHECKPOINT_FILE

        return (path / CHECKPOINT_FILE).is_file()
    if stage.kind == "leaderboard":
        return (
            all((path / f"leaderboard.{x}").is_file() for x in ("json", "md", "html"))
            and _report_hash(path / "leaderboard.json") == stage.hash
        )
    return path.is_file() and _report_hash(path) == stage.hash


def stage_state(out: Path, stage: Stage) -> str:
    """done | partial (a folder exists, unfinished) | pending."""
    if stage_complete(out, stage):
        return "done"
    return "partial" if stage_path(out, stage).exists() else "pending"


def _report_hash(path: Path) -> str | None:
    try:
        return (json.loads(path.read_text(encoding="utf-8")).get("experiment") or {}).get("stage_hash")
    except (OSError, ValueError, AttributeError):
        return None


# --- the stage log ------------------------------------------------------------------------------------------------


class StageLog:
    def __init__(self, out: Path) -> None:
        self.path = out / LOG

    def write(self, stage: Stage, event: str, **extra: Any) -> None:
        entry = {
            "time": round(time.time(), 3),
            "stage": stage.key,
            "hash": stage.hash,
            "dir": stage.rel,
            "event": event,
            **extra,
        }
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def read_log(out: Path) -> list[dict[str, Any]]:
    path = Path(out) / LOG
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # a line cut by kill -9
    return entries


# --- the experiment -----------------------------------------------------------------------------------------------


class Experiment:
    def __init__(self, spec: Spec, out: Path, console: Console) -> None:
        self.spec = spec
        self.out = Path(out)
        self.console = console
        self.stages = plan(spec)
        self.by_key = {s.key: s for s in self.stages}
        self.eval_docs: dict[str, set[str]] = {}

    # the whole spec is checked before anything is written (`experiment plan` shows the same checks)
    def preflight(self) -> None:
        if self.out.exists() and not self.out.is_dir():
            raise BenchError(f"--out {self.out} is a file, not a directory")
        if self.out.is_dir() and any(p.name != LOCK for p in self.out.iterdir()) and not (self.out / PLAN).is_file():
            raise BenchError(f"--out {self.out} is not empty and holds no experiment: choose a new directory")
        from reflectevo_bench.experiment.preflight import run_preflight

        checks = run_preflight(self.spec, self.stages)  # every task, model, recipe and the leak check
        checks.raise_first()
        self.eval_docs = checks.eval_docs

    def run(self) -> dict[str, Any]:
        self.preflight()
        self.out.mkdir(parents=True, exist_ok=True)
        lock = open(self.out / LOCK, "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BenchError(f"another `experiment run` is working in {self.out}: wait for it to finish") from None
        try:
            self._write_plan()
            log = StageLog(self.out)
            for number, stage in enumerate(self.stages, 1):
                where = f"stage {number} of {len(self.stages)}"
                if stage.kind == "train" and not getattr(self, "_rows_checked", False):
                    self._check_rows()
                if stage.kind == "leaderboard":
                    self._check_rows(final=True)
                if stage_complete(self.out, stage):
                    log.write(stage, "skip")
                    self.console.print(f"[dim]✓ {where}: {stage.key} (done: {stage.rel})[/]")
                    continue
                self.console.print(f"[bold]▶ {where}: {stage.key}[/] → {stage.rel}")
                log.write(stage, "start")
                started = time.time()
                try:
                    RUNNERS[stage.kind](self, stage)
                except BaseException as exc:
                    log.write(stage, "failed", error=type(exc).__name__, seconds=round(time.time() - started, 3))
                    raise
                log.write(stage, "done", seconds=round(time.time() - started, 3))
            return json.loads((self.out / "gate.json").read_text(encoding="utf-8"))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def _write_plan(self) -> None:
        (self.out / "spec.yaml").write_text(yaml.safe_dump(self.spec.raw, sort_keys=False), encoding="utf-8")
        write_json_atomic(
            self.out / PLAN,
            {
                "format": PLAN_FORMAT,
                "spec": self.spec.as_dict(),
                "stages": [
                    {
                        "key": s.key,
                        "kind": s.kind,
                        "hash": s.hash,
                        "dir": s.rel,
                        "deps": s.deps,
                        "inputs": s.inputs,
                        **s.extra,
                    }
                    for s in self.stages
                ],
            },
        )

    def _data_dirs(self) -> list[Path]:
        dirs = [stage_path(self.out, s) for s in self.stages if s.kind == "data"]
        dirs += [p for m in self.spec.candidates for p in honesty.checkpoint_data_dirs(m.model_args)]
        return [d for d in dirs if d.is_dir()]

    def _check_rows(self, final: bool = False) -> None:
        rows = honesty.row_doc_hashes(self._data_dirs())
        split = self.spec.eval.split
        honesty.check_disjoint(rows, self.eval_docs, "training rows of this experiment", split)
        if final:
            evals = [stage_path(self.out, s) for s in self.stages if s.kind == "eval"]
            honesty.check_disjoint(rows, honesty.run_doc_hashes(evals), "training rows of this experiment", split)
        self._rows_checked = True

    # --- helpers for the runners
    def base_pretrained(self) -> str:
        from reflectevo_bench.harness.backend import parse_model_args

        return parse_model_args(self.spec.base.model_args)["pretrained"]

    def model_of(self, stage: Stage) -> tuple[str, str]:
        """(model type, model_args) of an eval stage's (answering) model; a checkpoint's from its
        reflectevo_checkpoint.json."""
        reflector_row = "reflector" in stage.inputs  # the base model answers; reflector_of gives the Reflector
        return self.resolve_model(stage.inputs, self.spec.base.name if reflector_row else stage.extra["model_name"])

    def reflector_of(self, stage: Stage) -> tuple[str, str] | None:
        """(model type, model_args) of the Reflector of an ``eval.roles: reflector`` stage, else None."""
        if "reflector" not in stage.inputs:
            return None
        return self.resolve_model(stage.inputs["reflector"], stage.extra["reflector_of"])

    def resolve_model(self, inputs: dict[str, Any], name: str) -> tuple[str, str]:
        from reflectevo_bench.harness.backend import format_model_args, parse_model_args

        if "checkpoint_of" in inputs:
            ckpt = stage_path(self.out, self.by_key[inputs["checkpoint_of"]])
            record = json.loads((ckpt / "reflectevo_checkpoint.json").read_text(encoding="utf-8"))
            saved = record.get("saved") or {}
            args = {
                k: v for k, v in parse_model_args(self.spec.base.model_args).items() if k not in ("pretrained", "peft")
            }
            if saved.get("kind") == "lora-adapter":
                first = {"pretrained": saved["base_model"], "peft": str(ckpt.resolve())}
            else:
                first = {"pretrained": str(ckpt.resolve())}
            return self.spec.base.model, format_model_args({**first, **args})
        for m in [self.spec.base, *self.spec.candidates, *self.spec.references]:
            if m.name == name:
                return m.model, m.model_args
        raise KeyError(name)


# --- runners ------------------------------------------------------------------------------------------------------


def _clear(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def run_argv(opts: Any) -> list[str]:
    """The `reflectevo-bench run` command line of RunOptions (for isolated stages): every option, from the fields
    that declare it."""
    from reflectevo_bench.harness.run_options import command_line

    return [sys.executable, "-m", "reflectevo_bench", "run", *command_line(opts)]


def _subprocess(stage_key: str, argv: list[str]) -> None:
    code = subprocess.call(argv)
    if code != 0:
        raise BenchError(
            f"stage {stage_key} failed (exit {code}; its output is above): fix it and run the same "
            "command again to continue"
        )


def _harness_run(
    exp: Experiment,
    path: Path,
    model: str,
    model_args: str,
    tasks: list[str],
    split: str,
    limit: int | None,
    protocol: str,
    gen_kwargs: str | None,
    reflections: int = 1,
    attempts: int | None = None,
    stage_key: str = "",
    **run_extra: Any,
) -> None:
    from reflectevo_bench.harness.run import RunOptions, run

    if path.exists() and not (path / "run.json").is_file():
        _clear(path)  # killed before its manifest was written: nothing to keep
    opts = RunOptions(
        model=model,
        model_args=model_args,
        tasks=",".join(tasks),
        protocol=protocol,
        attempts=attempts,
        limit=limit,
        seed=exp.spec.seed,
        batch_size=exp.spec.batch_size,
        gen_kwargs=gen_kwargs,
        data_dir=exp.spec.data_dir,
        output=str(path),
        resume=(path / "run.json").is_file(),
        split=split,
        reflections=reflections,
        **run_extra,
    )
    if exp.spec.isolate:
        _subprocess(stage_key, run_argv(opts))
    else:
        run(opts, exp.console)


def run_data_run(exp: Experiment, stage: Stage) -> None:
    d = exp.spec.data
    assert d is not None
    # round 1: the base model; round k+1 (rounds: N): round k's chosen checkpoint generates and reflects
    model, model_args = exp.resolve_model(stage.inputs, exp.spec.base.name)
    _harness_run(
        exp,
        stage_path(exp.out, stage),
        model,
        model_args,
        d.tasks,
        d.split,
        d.limit,
        d.protocol,
        d.gen_kwargs,
        d.reflections,
        stage_key=stage.key,
        reflection_gen_kwargs=d.reflection_gen_kwargs,
        reflection_instruction=d.reflection_instruction,
        samples=d.samples,
    )


def run_eval(exp: Experiment, stage: Stage) -> None:
    model, model_args = exp.model_of(stage)
    e = exp.spec.eval
    reflector = exp.reflector_of(stage)
    extra = {"reflector_model": reflector[0], "reflector_model_args": reflector[1]} if reflector else {}
    _harness_run(
        exp,
        stage_path(exp.out, stage),
        model,
        model_args,
        e.tasks,
        e.split,
        e.limit,
        stage.extra["protocol"],
        e.gen_kwargs,
        1,
        e.attempts,
        stage_key=stage.key,
        **extra,
    )


def run_data(exp: Experiment, stage: Stage) -> None:
    from reflectevo_bench.trainers.data.build import build

    out = stage_path(exp.out, stage)
    _clear(out)
    for tmp in out.parent.glob(f".{out.name}.*"):  # a build killed before its rename
        _clear(tmp)
    kind = stage.inputs["kind"]
    src = stage_path(exp.out, exp.by_key[stage.extra.get("run_key", "data-run")])
    judge = None
    if kind == "dpref":
        from reflectevo_bench.trainers.data.judge import DEFAULT_TEMPLATE, Judge

        j = stage.inputs["judge"]
        judge = Judge(j.get("model", "hf"), j.get("model_args"), DEFAULT_TEMPLATE, None)
    card = build(
        kind,
        [src],
        out,
        stage.inputs["eval_fraction"],
        stage.inputs["seed"],
        judge,
        ["reflectevo-bench", "experiment", "run", str(exp.spec.path), "--out", str(exp.out)],
    )
    exp.console.print(f"{kind}: {card['rows']['train']} train rows, {card['rows']['eval']} eval rows")


def _prepare_train_dir(out: Path) -> bool:
    """An unfinished training dir: keep it when it holds a complete checkpoint-N (or a finished SFT stage 1) and
    resume from there; else start over. Incomplete checkpoint-N folders (killed while saving) are dropped."""
    if not out.is_dir():
        return False
    for ckpt in out.glob("checkpoint-*"):
        if ckpt.is_dir() and not (ckpt / "trainer_state.json").is_file():
            shutil.rmtree(ckpt)
    from reflectevo_bench.trainers.config import STAGE_FILE

    resumable = any(out.glob("checkpoint-*")) or (out / "stage1-reflection" / STAGE_FILE).is_file()
    if not resumable:
        shutil.rmtree(out)
    return resumable


def run_train(exp: Experiment, stage: Stage) -> None:
    from reflectevo_bench.trainers.config import load_job

    recipe = next(r for r in exp.spec.recipes if r.name == stage.extra["recipe"])
    out = stage_path(exp.out, stage)
    keys = stage.extra.get("data_keys") or {k: f"data:{k}" for k in recipe.kinds()}  # this round's data
    data_dir = {k: str(stage_path(exp.out, exp.by_key[keys[k]])) for k in recipe.kinds()}
    data: Any = (
        {"reflection": data_dir[recipe.data["reflection"]], "correction": data_dir[recipe.data["correction"]]}
        if isinstance(recipe.data, dict)
        else data_dir[recipe.data]
    )
    config = {**recipe.config, "model": exp.base_pretrained(), "data": data, "output_dir": str(out)}
    cfg_path = exp.out / "configs" / f"{out.name}.yaml"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    resume = _prepare_train_dir(out)
    overrides = ["resume_from_checkpoint=true"] if resume else []
    if recipe.launch or exp.spec.isolate:
        _subprocess(stage.key, train_argv(recipe, cfg_path, overrides))
        if not (out / "reflectevo_checkpoint.json").is_file():
            raise BenchError(f"stage {stage.key}: training ended without {out}/reflectevo_checkpoint.json")
        return
    from reflectevo_bench.trainers.registry import get

    job = load_job(recipe.trainer, cfg_path, overrides)
    get(recipe.trainer).run_fn()(job)


def train_argv(recipe: Any, cfg_path: Path, overrides: list[str]) -> list[str]:
    """`[accelerate launch --config_file C --num_processes N] -m reflectevo_bench train T --config CFG [--set ...]`."""
    tail = ["-m", "reflectevo_bench", "train", recipe.trainer, "--config", str(cfg_path)]
    for item in overrides:
        tail += ["--set", item]
    if not recipe.launch:
        return [sys.executable, *tail]
    from reflectevo_bench.trainers.config import ACCELERATE_CONFIGS

    name = recipe.launch["accelerate"]
    config = ACCELERATE_CONFIGS.get(name, name)
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config),
        "--num_processes",
        str(recipe.launch["num_processes"]),
        *tail,
    ]


def _evaluations(exp: Experiment) -> tuple[list[tuple[Any, str]], dict[str, dict[str, Any]]]:
    from reflectevo_bench.leaderboards.load import load_run

    entries, controls = [], {}
    mains = {}
    for s in exp.stages:
        if s.kind == "eval" and s.extra["main"]:
            ev = load_run(stage_path(exp.out, s), s.extra["model_name"])
            mains[s.extra["model_name"]] = ev
            entries.append((ev, s.extra["role"]))
    for s in exp.stages:
        if s.kind == "eval" and not s.extra["main"]:
            main = mains[s.extra["model_name"]]
            controls.setdefault(main.source, {})[s.extra["protocol"]] = load_run(
                stage_path(exp.out, s), s.extra["model_name"]
            )
    return entries, controls


def run_leaderboard(exp: Experiment, stage: Stage) -> None:
    from reflectevo_bench.leaderboards.board import build_board
    from reflectevo_bench.leaderboards.report_html import render_html
    from reflectevo_bench.leaderboards.report_md import render_md

    entries, controls = _evaluations(exp)
    board = build_board(entries, alpha=float(exp.spec.report.alpha), controls=controls, max_references=None)
    board["experiment"] = {"stage_hash": stage.hash, "spec": str(exp.spec.path), "dir": str(exp.out)}
    out = stage_path(exp.out, stage)
    md = render_md(board)
    html = render_html(board, exp.spec.title or "Reflection experiment")
    write_text_atomic(out / "leaderboard.md", md)
    write_text_atomic(out / "leaderboard.html", html)
    write_json_atomic(out / "leaderboard.json", board)  # last: its stage hash marks the stage done
    for g in board["groups"]:
        for c in g["comparisons"]:
            exp.console.print(c["summary"])


def run_gate_stage(exp: Experiment, stage: Stage) -> None:
    from reflectevo_bench.experiment.report import gate_all

    entries, _ = _evaluations(exp)
    result = gate_all(entries, exp.spec.report)
    result["experiment"] = {"stage_hash": stage.hash, "spec": str(exp.spec.path), "dir": str(exp.out)}
    write_json_atomic(stage_path(exp.out, stage), result)
    for line in result["lines"]:
        exp.console.print(line)


RUNNERS: dict[str, Callable[[Experiment, Stage], None]] = {
    "run": run_data_run,
    "data": run_data,
    "train": run_train,
    "eval": run_eval,
    "leaderboard": run_leaderboard,
    "gate": run_gate_stage,
}


def quiet_console() -> Console:
    return Console(file=open(os.devnull, "w"), stderr=False)

"""The stage graph of an experiment and the input hash that names each stage's folder.

    data-run ─▶ data:<kind> ─▶ train:<recipe> ─▶ eval:ckpt-<recipe>:<protocol> ─┐
    eval:<base|reference|candidate>:<protocol> ──────────────────────────────────┴▶ leaderboard ─▶ gate

A stage's hash covers everything that changes its result: its own settings and the hashes of the stages it
reads. A stage lives in ``DIR/<folder>/<name>-<hash>``, so a changed recipe gets a new checkpoint folder and new
eval folders for that checkpoint, and every other stage keeps its folder (and is not redone). Batch size, the
package version and the git revision are not hashed (a code change does not redo finished stages).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflectevo_bench.experiment.spec import ModelSpec, Spec, protocol_of

HASH_CHARS = 10
REFLECTOR_SUFFIX = "@reflector"  # a candidate's row as Reflector beside the base model (eval.roles: reflector)
FORMAT = 1


def round_suffix(round_no: int) -> str:
    """Stage-key and name suffix of a self-evolution round (round 1 has none, so a one-round plan is unchanged)."""
    return "" if round_no == 1 else f"@r{round_no}"


@dataclass
class Stage:
    key: str  # "data-run", "data:dplus", "train:sft", "eval:base:reflect", "leaderboard", "gate"
    kind: str  # run | data | train | eval | leaderboard | gate
    inputs: dict[str, Any]
    deps: list[str] = field(default_factory=list)
    hash: str = ""
    rel: str = ""  # folder (or file) relative to DIR
    extra: dict[str, Any] = field(default_factory=dict)  # what execution needs and the hash does not


def input_hash(kind: str, inputs: dict[str, Any], dep_hashes: list[str]) -> str:
    blob = json.dumps(
        {"format": FORMAT, "kind": kind, "inputs": inputs, "deps": dep_hashes}, sort_keys=True, default=str
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:HASH_CHARS]


def _model_inputs(m: ModelSpec) -> dict[str, Any]:
    return {"model": m.model, "model_args": m.model_args}


def _eval_inputs(spec: Spec, protocol: str) -> dict[str, Any]:
    e = spec.eval
    return {
        "tasks": e.tasks,
        "split": e.split,
        "limit": e.limit,
        "protocol": protocol,
        "attempts": e.attempts,
        "gen_kwargs": e.gen_kwargs,
        "seed": spec.seed,
        "data_dir": spec.data_dir,
    }


def plan(spec: Spec) -> list[Stage]:
    """Every stage in execution order (dependencies first), hashed."""
    stages: list[Stage] = []
    by_key: dict[str, Stage] = {}

    def add(stage: Stage, folder: str, name: str) -> Stage:
        stage.hash = input_hash(stage.kind, stage.inputs, [by_key[d].hash for d in stage.deps])
        stage.rel = f"{folder}/{name}-{stage.hash}" if folder else name
        stages.append(stage)
        by_key[stage.key] = stage
        return stage

    ckpts: list[tuple[str, str]] = []  # (candidate name, its train stage key), every round
    if spec.data is not None and spec.recipes:
        d = spec.data
        for r_no in range(1, spec.rounds + 1):
            sfx = round_suffix(r_no)
            generator = _model_inputs(spec.base)
            deps: list[str] = []
            if r_no > 1:  # the previous round's chosen checkpoint generates (and reflects)
                prev = f"train:{spec.evolve}{round_suffix(r_no - 1)}"
                generator, deps = {"checkpoint_of": prev, "model": spec.base.model}, [prev]
            add(
                Stage(
                    f"data-run{sfx}",
                    "run",
                    {
                        **generator,
                        "tasks": d.tasks,
                        "split": d.split,
                        "limit": d.limit,
                        "reflections": d.reflections,
                        "gen_kwargs": d.gen_kwargs,
                        "protocol": d.protocol,
                        "seed": spec.seed,
                        "data_dir": spec.data_dir,
                        **({"reflection_gen_kwargs": d.reflection_gen_kwargs} if d.reflection_gen_kwargs else {}),
                        **(
                            {"reflection_instruction": d.reflection_instruction}
                            if d.reflection_instruction is not None
                            else {}
                        ),
                        **({"samples": d.samples} if d.samples > 1 else {}),
                    },
                    deps,
                    extra={"round": r_no} if r_no > 1 else {},
                ),
                "runs",
                f"data{sfx}",
            )
            needed = list(dict.fromkeys(k for r in spec.recipes for k in r.kinds()))
            for kind in [k for k in d.kinds if k in needed]:
                add(
                    Stage(
                        f"data:{kind}{sfx}",
                        "data",
                        {
                            "kind": kind,
                            "eval_fraction": d.eval_fraction,
                            "seed": 0,
                            "judge": d.judge if kind == "dpref" else None,
                        },
                        [f"data-run{sfx}"],
                        extra={"run_key": f"data-run{sfx}"} if r_no > 1 else {},
                    ),
                    "data",
                    f"{kind}{sfx}",
                )
            for r in spec.recipes:
                deps = [f"data:{k}{sfx}" for k in r.kinds()]
                extra: dict[str, Any] = {"recipe": r.name}
                if r_no > 1:
                    extra.update(round=r_no, data_keys={k: f"data:{k}{sfx}" for k in r.kinds()})
                add(
                    Stage(
                        f"train:{r.name}{sfx}",
                        "train",
                        {
                            "trainer": r.trainer,
                            "data": r.data,
                            "config": r.config,
                            "base": _model_inputs(spec.base),
                            **({"launch": r.launch} if r.launch else {}),
                        },
                        deps,
                        extra=extra,
                    ),
                    "ckpt",
                    f"{r.name}{sfx}",
                )
                ckpts.append((f"ckpt-{r.name}{sfx}", f"train:{r.name}{sfx}"))

    models: list[tuple[str, str, dict[str, Any], list[str]]] = [("base", spec.base.name, _model_inputs(spec.base), [])]
    for name, train_key in ckpts:
        models.append(("candidate", name, {"checkpoint_of": train_key, "model": spec.base.model}, [train_key]))
    models += [("candidate", m.name, _model_inputs(m), []) for m in spec.candidates]
    models += [("reference", m.name, _model_inputs(m), []) for m in spec.references]
    evals: list[str] = []

    def add_eval(role: str, label: str, protocol: str, model_inputs: dict[str, Any], deps: list[str], **extra: Any):
        named = protocol_of(protocol).name  # a plugin's `path/to/file.py:NAME` is no key or folder name
        stage = Stage(
            f"eval:{label}:{named}",
            "eval",
            {**model_inputs, **_eval_inputs(spec, protocol)},
            deps,
            extra={"role": role, "model_name": label, "protocol": protocol, "main": protocol == spec.eval.protocol}
            | extra,
        )
        evals.append(add(stage, "runs", f"eval-{label}-{named}").key)

    for role, name, model_inputs, deps in models:
        if role != "candidate" or "self" in spec.eval.roles:
            for protocol in spec.eval.protocols:
                add_eval(role, name, protocol, model_inputs, deps)
        if role == "candidate" and "reflector" in spec.eval.roles:
            # ReflectEvo's evaluation: the base model answers (Generator), the candidate reflects (Reflector);
            # protocols that write no reflection would only repeat the base's run
            inputs = {**_model_inputs(spec.base), "reflector": model_inputs}
            for protocol in (p for p in spec.eval.protocols if protocol_of(p).reflects or protocol_of(p).one_turn):
                add_eval(
                    role, f"{name}{REFLECTOR_SUFFIX}", protocol, inputs, deps, eval_role="reflector", reflector_of=name
                )
    report = {
        "metric": spec.report.metric,
        "max_drop": spec.report.max_drop,
        "alpha": spec.report.alpha,
        "scope": spec.report.scope,
    }
    add(
        Stage("leaderboard", "leaderboard", {"title": spec.title, "alpha": spec.report.alpha}, evals), "", "leaderboard"
    )
    stages[-1].rel = "leaderboard"
    main_evals = [k for k in evals if by_key[k].extra["main"] and by_key[k].extra["role"] != "reference"]
    add(Stage("gate", "gate", report, main_evals), "", "gate.json")
    stages[-1].rel = "gate.json"
    return stages


def stage_path(out: Path, stage: Stage) -> Path:
    return Path(out) / stage.rel

"""A model's reflection measured against its controls, doc by doc (the columns the experiment adds to a board).

- **Reflection gain over retry**: acc@tK under the main protocol (``reflect``) − acc@tK under ``retry`` (told
  "incorrect, try again", no reflection turn), paired over the docs both runs hold, with the seeded paired
  bootstrap 95% CI and the exact two-sided McNemar p-value of :mod:`compare`. Positive: writing a reflection
  helped beyond being told to try again.
- **Intrinsic Δ**: under ``self-refine`` (no oracle: the model is never told whether it was right),
  acc@tK − acc@t1 of the same docs, paired the same way. Negative: reviewing its own answer made it worse.

Per task and pooled over every doc of every task (bootstrap within tasks). Runs whose docs or attempt-1
prompts differ are not paired: the entry says why instead.
"""

from __future__ import annotations

from typing import Any

from reflectevo_bench.errors import BenchError
from reflectevo_bench.harness.protocols import GAIN_CONTROL, INTRINSIC_CONTROL, control_protocol
from reflectevo_bench.leaderboards.compare import DEFAULT_BOOTSTRAP, DEFAULT_SEED, compare_verdicts, paired
from reflectevo_bench.leaderboards.load import Evaluation

GAIN = GAIN_CONTROL
INTRINSIC = INTRINSIC_CONTROL
# the protocols whose runs are the controls (each protocol module says which column it serves)
RETRY = control_protocol(GAIN)  # "retry"
SELF_REFINE = control_protocol(INTRINSIC)  # "self-refine"
CONTROL_NAMES = (RETRY, SELF_REFINE)


def _same_docs(a: Evaluation, b: Evaluation) -> str | None:
    if set(a.tasks) != set(b.tasks):
        return "the runs hold different tasks"
    for task in sorted(a.tasks):
        if set(a.tasks[task]) != set(b.tasks[task]):
            return f"task {task} has different docs in the two runs"
        if any(a.tasks[task][k].prompt != b.tasks[task][k].prompt for k in a.tasks[task]):
            return f"task {task} has different attempt-1 prompts in the two runs"
    return None


def _summary(strata: dict[str, tuple[list[bool], list[bool]]], alpha: float, n_boot: int, seed: int) -> dict[str, Any]:
    out = {"tasks": {t: compare_verdicts([s], alpha, n_boot, seed) for t, s in strata.items()}}
    out["overall"] = compare_verdicts(list(strata.values()), alpha, n_boot, seed)
    return out


def reflection_gain(
    main: Evaluation, retry: Evaluation, alpha: float = 0.05, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """acc@tK(main) − acc@tK(retry), paired per doc; K = the rounds both made."""
    k = min(main.attempts, retry.attempts)
    base = {"metric": f"acc@t{k}", "protocol": main.protocol, "control": retry.protocol, "control_source": retry.source}
    reason = _same_docs(main, retry)
    if reason:
        return {**base, "not_paired": reason}
    strata = {t: paired(main, retry, t, k) for t in sorted(main.tasks)}
    return {**base, **_summary(strata, alpha, n_boot, seed)}


def intrinsic_delta(
    self_refine: Evaluation, alpha: float = 0.05, n_boot: int = DEFAULT_BOOTSTRAP, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """acc@tK − acc@t1 under a no-feedback protocol (self-refine), paired per doc."""
    k = self_refine.attempts
    strata = {}
    for task, docs in sorted(self_refine.tasks.items()):
        keys = sorted(docs)
        strata[task] = ([docs[d].correct_at[k - 1] for d in keys], [docs[d].correct_at[0] for d in keys])
    return {
        "metric": f"acc@t{k} - acc@t1",
        "protocol": self_refine.protocol,
        "feedback_mode": self_refine.feedback_mode,
        "control_source": self_refine.source,
        **_summary(strata, alpha, n_boot, seed),
    }


def control_entries(
    main: Evaluation, runs: dict[str, Evaluation], alpha: float, n_boot: int, seed: int
) -> dict[str, Any]:
    """What the board shows for one model: the gain over its ``retry`` run, the Δ of its ``self-refine`` run."""
    out: dict[str, Any] = {}
    if RETRY in runs and main.protocol != RETRY:
        out[GAIN] = reflection_gain(main, runs[RETRY], alpha, n_boot, seed)
    if SELF_REFINE in runs:
        out[INTRINSIC] = intrinsic_delta(runs[SELF_REFINE], alpha, n_boot, seed)
    return out


def pair_controls(evals: list[Evaluation], flags: list[tuple[str, Evaluation]]) -> dict[str, dict[str, Evaluation]]:
    """``--control PROTOCOL=DIR`` runs, each paired with the compared runs of the same model (model type and
    model args; with a single compared run, that run): ``{main.source: {protocol: control}}``."""
    controls: dict[str, dict[str, Evaluation]] = {}
    for name, ctrl in flags:
        mains = [
            ev
            for ev in evals
            if (ev.model, ev.model_args) == (ctrl.model, ctrl.model_args) and ev.protocol not in CONTROL_NAMES
        ]
        if not mains and len(evals) == 1:
            mains = evals
        if not mains:
            raise BenchError(
                f"--control {name}={ctrl.source}: its model ({ctrl.label}) is not the model of any "
                "compared run; give each model's control with that model's run"
            )
        for main in mains:
            if name in controls.setdefault(main.source, {}):
                raise BenchError(f"--control {name}: two {name} controls for {main.label}; give one per model")
            controls[main.source][name] = ctrl
    return controls
